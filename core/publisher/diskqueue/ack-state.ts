import { closeSync, fchmodSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * `state.dat`: where the first unacknowledged frame is. One 36-byte record rewritten in
 * place (one pwrite per acknowledged batch); a torn or damaged record is detected by its
 * checksum and then the queue restarts from its oldest segment (events may be sent twice,
 * never lost; the document _id makes the second copy a 409).
 *   0  u32  ACK_MAGIC
 *   4  u32  version (1)
 *   8  f64  segment id of the first unacked frame
 *  16  f64  byte offset of that frame in its segment
 *  24  f64  its sequence number
 *  32  u32  CRC-32 of bytes 0..32
 */
const ACK_MAGIC = 0x4b414250; // "PBAK"
const ACK_BYTES = 36;

export interface AckCursor {
  segment: number;
  offset: number;
  seq: number;
}

export type AckRead = { kind: 'none' } | { kind: 'bad'; problem: string } | { kind: 'ok'; cursor: AckCursor };

export class AckStateFile {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(ACK_BYTES);

  constructor(readonly path: string) {
    this.fd = openOrCreate(path);
    fchmodSync(this.fd, 0o600);
  }

  read(): AckRead {
    const b = Buffer.alloc(ACK_BYTES);
    const n = readSync(this.fd, b, 0, ACK_BYTES, 0);
    if (n === 0) return { kind: 'none' };
    if (n < ACK_BYTES) return { kind: 'bad', problem: `${n} bytes, expected ${ACK_BYTES}` };
    if (b.readUInt32LE(0) !== ACK_MAGIC) return { kind: 'bad', problem: 'bad magic' };
    if (crc32(b.subarray(0, 32)) !== b.readUInt32LE(32)) return { kind: 'bad', problem: 'checksum mismatch' };
    return { kind: 'ok', cursor: { segment: b.readDoubleLE(8), offset: b.readDoubleLE(16), seq: b.readDoubleLE(24) } };
  }

  write(c: AckCursor): void {
    const b = this.buf;
    b.writeUInt32LE(ACK_MAGIC, 0);
    b.writeUInt32LE(1, 4);
    b.writeDoubleLE(c.segment, 8);
    b.writeDoubleLE(c.offset, 16);
    b.writeDoubleLE(c.seq, 24);
    b.writeUInt32LE(crc32(b.subarray(0, 32)), 32);
    writeSync(this.fd, b, 0, ACK_BYTES, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function openOrCreate(path: string): number {
  try {
    return openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return openSync(path, 'w+', 0o600);
  }
}
