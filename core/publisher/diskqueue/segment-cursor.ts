import { readSync } from 'node:fs';
import { findFrameMarker, FRAME_HEADER_BYTES, parseFrame } from './frame.js';

const CHUNK_BYTES = 1 << 20;

export type CursorStep =
  | { kind: 'frame'; seq: number; time: number; payload: Buffer; end: number }
  /** Nothing more below the limit. */
  | { kind: 'end' }
  /** The bytes from `at` to the limit are the start of a frame that never finished (a torn write). */
  | { kind: 'torn'; at: number; bytes: number; why: string }
  /** `bytes` from `at` are not a valid frame; the cursor moved to the next frame marker (or the limit). */
  | { kind: 'skip'; at: number; bytes: number; why: string };

/**
 * Walks the frames of one segment file through a bounded read buffer (1 MiB, or one frame
 * when a frame is larger), finding its way past damaged bytes by the frame marker.
 */
export class SegmentCursor {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly fd: number,
    public offset: number,
    private readonly maxPayload: number,
  ) {}

  /** The next step from `offset`, reading no further than `limit` (the segment's known size). */
  next(limit: number): CursorStep {
    if (this.offset >= limit) return { kind: 'end' };
    if (!this.covers(this.offset, FRAME_HEADER_BYTES, limit)) this.load(this.offset, FRAME_HEADER_BYTES, limit);
    let p = parseFrame(this.buf, this.offset - this.bufStart, this.bufLen, this.maxPayload);
    if (p.kind === 'short' && this.bufStart + this.bufLen < limit) {
      this.load(this.offset, p.need, limit);
      p = parseFrame(this.buf, 0, this.bufLen, this.maxPayload);
    }
    if (p.kind === 'frame') {
      const f = p.frame;
      const end = this.bufStart + f.end;
      this.offset = end;
      return { kind: 'frame', seq: f.seq, time: f.time, payload: Buffer.from(f.payload), end };
    }
    const at = this.offset;
    if (p.kind === 'short') {
      // A damaged length can point past the end: if an intact-looking marker follows, skip to it.
      const marker = this.nextMarker(at + 1, limit);
      this.offset = marker;
      if (marker < limit) return { kind: 'skip', at, bytes: marker - at, why: 'frame length runs past the end of the file' };
      return { kind: 'torn', at, bytes: limit - at, why: 'the file ends inside a frame' };
    }
    this.offset = this.nextMarker(at + 1, limit);
    return { kind: 'skip', at, bytes: this.offset - at, why: p.why };
  }

  private covers(at: number, n: number, limit: number): boolean {
    return at >= this.bufStart && Math.min(at + n, limit) <= this.bufStart + this.bufLen;
  }

  private load(at: number, need: number, limit: number): void {
    const want = Math.min(Math.max(CHUNK_BYTES, need), limit - at);
    if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, this.buf, got, want - got, at + got);
      if (n === 0) break;
      got += n;
    }
    this.bufStart = at;
    this.bufLen = got;
  }

  /** The file offset of the next frame marker at or after `from`, or `limit`. */
  private nextMarker(from: number, limit: number): number {
    let at = from;
    while (at < limit) {
      if (!this.covers(at, FRAME_HEADER_BYTES, limit) || at + 4 > this.bufStart + this.bufLen) this.load(at, CHUNK_BYTES, limit);
      const i = findFrameMarker(this.buf, at - this.bufStart, this.bufLen);
      if (i >= 0) return this.bufStart + i;
      // The marker may straddle the chunk edge: look again from 3 bytes before it.
      const next = this.bufStart + this.bufLen - 3;
      if (this.bufStart + this.bufLen >= limit) return limit;
      at = Math.max(at + 1, next);
    }
    return limit;
  }
}
