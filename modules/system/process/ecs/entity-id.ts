import { createHash } from 'node:crypto';

/**
 * process.entity_id: sha256 over the host id's bytes, then the pid and the start time on
 * the boot clock in nanoseconds, each as a little-endian int64; the first 12 bytes of the
 * digest in base64 without padding (16 characters). Stable for a process across events
 * and restarts of procbeat, distinct for a reused pid.
 */
export function processEntityId(hostId: string, pid: number, startBootNs: bigint): string {
  const tail = Buffer.alloc(16);
  tail.writeBigInt64LE(BigInt(pid), 0);
  tail.writeBigInt64LE(BigInt.asIntN(64, startBootNs), 8);
  const digest = createHash('sha256').update(Buffer.from(hostId, 'utf8')).update(tail).digest();
  return digest.subarray(0, 12).toString('base64').replace(/=+$/, '');
}
