import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: Buffer, encoding: 'base64') => string;
/** crypto.hash (Node 20.12+) skips the Hash object: ~0.3 us per id instead of ~0.8 us. */
const oneShot = (crypto as { hash?: OneShotHash }).hash;

/** The host id's bytes followed by room for the pid and the start, reused for every id. */
let scratch: { hostId: string; buf: Buffer; at: number } | undefined;

/**
 * process.entity_id: sha256 over the host id's bytes, then the pid and the start time on
 * the boot clock in nanoseconds, each as a little-endian int64; the first 12 bytes of the
 * digest in base64 without padding (16 characters). Stable for a process across events
 * and restarts of procbeat, distinct for a reused pid.
 */
export function processEntityId(hostId: string, pid: number, startBootNs: bigint): string {
  if (scratch === undefined || scratch.hostId !== hostId) {
    const host = Buffer.from(hostId, 'utf8');
    const buf = Buffer.alloc(host.length + 16);
    host.copy(buf, 0);
    scratch = { hostId, buf, at: host.length };
  }
  const { buf, at } = scratch;
  buf.writeBigInt64LE(BigInt(pid), at);
  buf.writeBigInt64LE(BigInt.asIntN(64, startBootNs), at + 8);
  // 12 bytes are exactly 16 base64 characters, so they are the digest's first 16.
  const digest = oneShot !== undefined ? oneShot('sha256', buf, 'base64') : crypto.createHash('sha256').update(buf).digest('base64');
  return digest.slice(0, 16);
}
