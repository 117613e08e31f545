import { crc32 } from 'node:zlib';

/**
 * The on-disk layout of the disk queue (all little-endian). Documented for users in
 * docs/pipeline.md; this file is the one place the byte offsets live.
 *
 * Segment file `<id>.seg`: a 16-byte header, then frames back to back.
 *   0  u32  SEGMENT_MAGIC
 *   4  u32  FORMAT_VERSION
 *   8  f64  sequence number of the first frame written to it
 *
 * Frame: a 28-byte header, then the payload (opaque bytes).
 *   0  u32  FRAME_MAGIC (lets a reader find the next frame after a damaged one)
 *   4  u32  payload length in bytes
 *   8  f64  sequence number (consecutive across segments; a gap says how many were lost)
 *  16  f64  when it was queued, ms since the epoch (for the oldest-unacked age)
 *  24  u32  CRC-32 of bytes 4..24 and the payload
 */
export const SEGMENT_MAGIC = 0x47534250; // "PBSG"
export const FRAME_MAGIC = 0x51444250; // "PBDQ"
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 28;

const FRAME_MAGIC_BYTES = Buffer.alloc(4);
FRAME_MAGIC_BYTES.writeUInt32LE(FRAME_MAGIC, 0);

export function encodeSegmentHeader(firstSeq: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt32LE(FORMAT_VERSION, 4);
  b.writeDoubleLE(firstSeq, 8);
  return b;
}

export type SegmentHeader = { ok: true; firstSeq: number } | { ok: false; problem: string };

export function decodeSegmentHeader(b: Buffer): SegmentHeader {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, problem: `segment header is ${b.length} bytes, expected ${SEGMENT_HEADER_BYTES}` };
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return { ok: false, problem: 'not a procbeat disk queue segment (bad magic)' };
  const version = b.readUInt32LE(4);
  if (version !== FORMAT_VERSION) return { ok: false, problem: `segment format version ${version}, this procbeat reads ${FORMAT_VERSION}` };
  return { ok: true, firstSeq: b.readDoubleLE(8) };
}

/** Writes one frame into `into` at `at`; returns the offset after it. */
export function writeFrame(into: Buffer, at: number, seq: number, time: number, payload: Uint8Array): number {
  into.writeUInt32LE(FRAME_MAGIC, at);
  into.writeUInt32LE(payload.length, at + 4);
  into.writeDoubleLE(seq, at + 8);
  into.writeDoubleLE(time, at + 16);
  into.set(payload, at + FRAME_HEADER_BYTES);
  const crc = crc32(payload, crc32(into.subarray(at + 4, at + 24)));
  into.writeUInt32LE(crc, at + 24);
  return at + FRAME_HEADER_BYTES + payload.length;
}

export function frameBytes(payloadLength: number): number {
  return FRAME_HEADER_BYTES + payloadLength;
}

export interface Frame {
  seq: number;
  time: number;
  /** A view into the buffer parsed; copy it to keep it past the next read. */
  payload: Buffer;
  /** Offset in the buffer just after the frame. */
  end: number;
}

/**
 * What sits at `at` in `b`:
 *  - `frame`: a whole, intact frame;
 *  - `short`: the bytes end inside the frame (`need` bytes from `at` would settle it);
 *  - `bad`: not a frame (wrong magic, impossible length or checksum mismatch).
 */
export type Parsed = { kind: 'frame'; frame: Frame } | { kind: 'short'; need: number } | { kind: 'bad'; why: string };

export function parseFrame(b: Buffer, at: number, limit: number, maxPayload: number): Parsed {
  if (limit - at < FRAME_HEADER_BYTES) return { kind: 'short', need: FRAME_HEADER_BYTES };
  if (b.readUInt32LE(at) !== FRAME_MAGIC) return { kind: 'bad', why: 'no frame marker' };
  const length = b.readUInt32LE(at + 4);
  if (length > maxPayload) return { kind: 'bad', why: `frame length ${length} exceeds ${maxPayload}` };
  const end = at + FRAME_HEADER_BYTES + length;
  if (end > limit) return { kind: 'short', need: FRAME_HEADER_BYTES + length };
  const payload = b.subarray(at + FRAME_HEADER_BYTES, end);
  const crc = crc32(payload, crc32(b.subarray(at + 4, at + 24)));
  if (crc !== b.readUInt32LE(at + 24)) return { kind: 'bad', why: 'checksum mismatch' };
  return { kind: 'frame', frame: { seq: b.readDoubleLE(at + 8), time: b.readDoubleLE(at + 16), payload, end } };
}

/** The next offset after `from` where a frame marker starts, or -1. */
export function findFrameMarker(b: Buffer, from: number, limit: number): number {
  const i = b.subarray(0, limit).indexOf(FRAME_MAGIC_BYTES, from);
  return i;
}
