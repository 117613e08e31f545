import {
  chmodSync, closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync,
  readSync, statSync, unlinkSync, writeSync, writevSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AckStateFile, type AckCursor } from './ack-state.js';
import { decodeSegmentHeader, encodeSegmentHeader, frameBytes, SEGMENT_HEADER_BYTES, writeFrame } from './frame.js';
import { SegmentCursor } from './segment-cursor.js';

export interface DiskStoreOptions {
  /** The queue directory; created 0700. */
  path: string;
  /** Most bytes all segment files (plus what waits to be written) may take. */
  maxSize: number;
  /** A segment file is closed and a new one started beyond this many bytes. */
  segmentSize: number;
  /** Most items accepted but not yet written to a file. */
  writeAhead: number;
  /** After a failed write (disk full, I/O error): first wait, doubled up to the max. */
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  logger: Logger;
  /** Called (outside any store call) when items became readable or room came back. */
  onChange?: () => void;
}

/** One item read back: its payload and where it ends (what acknowledging it records). */
export interface StoredItem {
  seq: number;
  /** When it was appended, ms since the epoch. */
  time: number;
  payload: Buffer;
  segment: number;
  end: number;
}

export interface StoreStats {
  /** Bytes in segment files on disk. */
  bytes: number;
  segments: number;
  /** Items appended (in this run or a previous one) and not yet acknowledged. */
  events: number;
  /** Items on disk not yet read. */
  unread: number;
  /** Items accepted and waiting to be written. */
  pending: number;
  acked: number;
  /** Write attempts repeated after a failed one. */
  retried: number;
  /** Items found unacknowledged when the store opened. */
  recovered: number;
  corruptedEvents: number;
  corruptedBytes: number;
  /** True while writes fail and the store accepts nothing. */
  blocked: boolean;
}

interface Segment {
  id: number;
  path: string;
  /** Bytes of whole frames (plus header) known to be in the file. */
  size: number;
  /** No more frames will be written to it. */
  finished: boolean;
}

interface Damage {
  file: string;
  position: number;
  bytes: number;
  why: string;
  /** Events already counted for this damage before its gap was known. */
  counted: number;
}

const SEGMENT_RE = /^(\d+)\.seg$/;
const SYNC_EVERY_MS = 1000;
/** Pending bytes that trigger a write at once instead of at the end of the tick. */
const WRITE_NOW_BYTES = 1 << 20;

/**
 * The disk queue's store: opaque byte items appended to segment files, read back in order,
 * acknowledged up to a point, and found again after a restart or a crash.
 *
 * - append() only buffers; the buffer is written with one vectored write per event-loop
 *   turn (or at 1 MiB), so a `kill -9` loses at most what was appended in the current turn
 *   (the OS has everything written). Data is fdatasync'ed once a second and when a
 *   segment is finished, which bounds what a power cut can take.
 * - Every frame carries a checksum and a sequence number. A torn tail or damaged bytes are
 *   skipped to the next intact frame, and the sequence gap says how many items were lost:
 *   counted (corruptedEvents), and logged with the file and position.
 * - At maxSize, or while writes fail, append() refuses (the caller applies backpressure);
 *   failed writes are retried with backoff, never thrown to the caller.
 */
export class DiskStore {
  private readonly opts: DiskStoreOptions;
  private readonly ackFile: AckStateFile;
  private readonly segments: Segment[] = [];
  private nextSegmentId = 1;

  // writer
  private writeSeg: Segment | undefined;
  private writeFd: number | undefined;
  /** The write segment's file holds bytes beyond `size` from a short write. */
  private writeTail = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private nextSeq = 0;
  /** Sequence number after the last item written to a file. */
  private writtenSeq = 0;
  private flushScheduled = false;
  private blocked = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private largestFrame = 0;

  // reader
  private readSegId: number;
  private readFd: number | undefined;
  private cursor: SegmentCursor | undefined;
  private startOffset: number;
  private expectedSeq: number;
  private damage: Damage | undefined;
  private lostSeq = 0;

  // acknowledgements
  private ack: AckCursor;

  private bytesOnDisk = 0;
  private acked = 0;
  private retried = 0;
  private recovered = 0;
  private corruptedEvents = 0;
  private corruptedBytes = 0;
  private closed = false;

  constructor(opts: DiskStoreOptions) {
    if (!(opts.segmentSize > SEGMENT_HEADER_BYTES)) throw new RangeError(`segment size ${opts.segmentSize} is too small`);
    this.opts = opts;
    this.retryDelay = opts.retryIntervalMs;
    const created = mkdirSync(opts.path, { recursive: true, mode: 0o700 });
    if (created !== undefined) {
      chmodSync(opts.path, 0o700); // exact, whatever the umask
    } else if ((statSync(opts.path).mode & 0o077) !== 0) {
      // An existing directory is not ours to change (it may be shared); say what it exposes.
      opts.logger.warn({ path: opts.path, mode: (statSync(opts.path).mode & 0o777).toString(8) },
        `disk queue: ${opts.path} is open to other users; queued events (process arguments included) are readable to them unless it is 0700`);
    }
    this.ackFile = new AckStateFile(join(opts.path, 'state.dat'));

    for (const name of readdirSync(opts.path)) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const path = join(opts.path, name);
      const fd = openSync(path, 'r');
      try {
        this.segments.push({ id: Number(m[1]), path, size: fstatSync(fd).size, finished: true });
      } finally {
        closeSync(fd);
      }
    }
    this.segments.sort((a, b) => a.id - b.id);
    this.nextSegmentId = (this.segments.at(-1)?.id ?? 0) + 1;

    const state = this.ackFile.read();
    const first = this.segments[0];
    if (state.kind === 'ok') {
      this.ack = state.cursor;
    } else {
      if (state.kind === 'bad') {
        opts.logger.warn({ file: this.ackFile.path, problem: state.problem },
          `disk queue: the acknowledgement state ${this.ackFile.path} is damaged (${state.problem}); re-sending from the oldest segment`);
      }
      this.ack = { segment: first?.id ?? 0, offset: SEGMENT_HEADER_BYTES, seq: first ? this.firstSeqOf(first) : 0 };
    }
    // Segments wholly before the acknowledged point are done.
    while (this.segments[0] && this.segments[0].id < this.ack.segment) this.removeSegment(this.segments[0]);
    const start = this.segments[0];
    if (start && start.id === this.ack.segment) {
      this.readSegId = start.id;
      this.startOffset = Math.max(SEGMENT_HEADER_BYTES, this.ack.offset);
    } else {
      this.readSegId = start?.id ?? this.nextSegmentId;
      this.startOffset = SEGMENT_HEADER_BYTES;
    }
    this.expectedSeq = this.ack.seq;

    const last = this.segments.at(-1);
    this.nextSeq = Math.max(this.ack.seq, last ? this.lastSeqIn(last) + 1 : 0);
    this.writtenSeq = this.nextSeq;
    this.recovered = this.nextSeq - this.ack.seq;
    for (const s of this.segments) this.bytesOnDisk += s.size;
    if (this.recovered > 0) {
      opts.logger.info({ path: opts.path, events: this.recovered, segments: this.segments.length, bytes: this.bytesOnDisk },
        `disk queue: ${this.recovered} unacknowledged event(s) found in ${opts.path}; sending them first`);
    }
    this.syncTimer = setInterval(() => this.syncSoon(), SYNC_EVERY_MS);
    this.syncTimer.unref();
  }

  /** Whether append() takes another item now. */
  canAppend(): boolean {
    // Room for the largest frame seen so far and a new segment's header: only an item
    // larger than every one before it can take the queue past max_size (by that one item).
    const room = this.opts.maxSize - this.bytesOnDisk - this.pendingBytes - SEGMENT_HEADER_BYTES;
    return !this.closed && !this.blocked && this.pending.length < this.opts.writeAhead && room >= this.largestFrame;
  }

  /**
   * Queues one item for writing; false (nothing queued) when full or blocked. An item
   * larger than a segment can never be stored: that throws a RangeError.
   */
  append(payload: Uint8Array, time: number = Date.now()): boolean {
    if (!this.canAppend()) return false;
    const n = frameBytes(payload.length);
    if (n + SEGMENT_HEADER_BYTES > this.opts.segmentSize) {
      throw new RangeError(`an item of ${payload.length} bytes does not fit in a segment of ${this.opts.segmentSize} bytes`);
    }
    if (n > this.largestFrame) this.largestFrame = n;
    const frame = Buffer.allocUnsafe(n);
    writeFrame(frame, 0, this.nextSeq++, time, payload);
    this.pending.push(frame);
    this.pendingBytes += n;
    if (this.pendingBytes >= WRITE_NOW_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.flush() > 0) this.opts.onChange?.();
      });
    }
    return true;
  }

  /** Writes what is pending now; returns how many items reached a file. */
  flush(): number {
    if (this.closed || this.blocked || this.pending.length === 0) return 0;
    const before = this.writtenSeq;
    try {
      this.writePending();
    } catch (err) {
      this.writeFailed(err as NodeJS.ErrnoException);
    }
    return this.writtenSeq - before;
  }

  /** Up to `max` items after the last one read, in order. */
  read(max: number): StoredItem[] {
    const out: StoredItem[] = [];
    while (out.length < max) {
      const seg = this.segments.find((s) => s.id === this.readSegId);
      if (!seg) {
        if (!this.moveToNextSegment()) break;
        continue;
      }
      if (!this.cursor) {
        this.readFd = seg === this.writeSeg && this.writeFd !== undefined ? undefined : openSync(seg.path, 'r');
        const fd = this.readFd ?? this.writeFd!;
        // A damaged header counts as damage from byte 0; frames after it still parse.
        const from = this.startOffset === SEGMENT_HEADER_BYTES && !this.headerIntact(fd) ? 0 : this.startOffset;
        this.cursor = new SegmentCursor(fd, from, this.opts.segmentSize);
      }
      const step = this.cursor.next(seg.size);
      if (step.kind === 'frame') {
        if (step.seq < this.expectedSeq) continue; // acknowledged before the state file caught up
        this.resolveDamage(step.seq);
        this.expectedSeq = step.seq + 1;
        out.push({ seq: step.seq, time: step.time, payload: step.payload, segment: seg.id, end: step.end });
      } else if (step.kind === 'end') {
        if (!seg.finished || !this.moveToNextSegment()) break;
      } else {
        this.noteDamage(seg.path, step.at, step.bytes, step.why);
      }
    }
    if (out.length === 0 && this.damage && this.unread() === 0) this.resolveDamage(undefined);
    return out;
  }

  /** Sequence numbers that were skipped as damaged since the last call (for exact accounting). */
  takeLost(): number {
    const n = this.lostSeq;
    this.lostSeq = 0;
    return n;
  }

  /** Everything up to and including `item` (and `count` items in all) is done with. */
  ackThrough(item: StoredItem, count: number): void {
    this.ack = { segment: item.segment, offset: item.end, seq: item.seq + 1 };
    this.acked += count;
    try {
      this.ackFile.write(this.ack);
    } catch (err) {
      // Not fatal: a restart would send these again (the _id makes that harmless).
      this.opts.logger.error({ err, file: this.ackFile.path }, `disk queue: cannot record acknowledgements in ${this.ackFile.path}`);
    }
    while (this.segments[0] && this.segments[0] !== this.writeSeg) {
      const s = this.segments[0];
      const done = s.id < item.segment || (s.id === item.segment && s.finished && item.end >= s.size);
      if (!done) break;
      this.removeSegment(s);
    }
  }

  stats(): StoreStats {
    return {
      bytes: this.bytesOnDisk,
      segments: this.segments.length,
      events: this.nextSeq - this.ack.seq,
      unread: this.unread(),
      pending: this.pending.length,
      acked: this.acked,
      retried: this.retried,
      recovered: this.recovered,
      corruptedEvents: this.corruptedEvents,
      corruptedBytes: this.corruptedBytes,
      blocked: this.blocked,
    };
  }

  /** Items on disk not yet read (an upper bound while damaged bytes are ahead). */
  unread(): number {
    return Math.max(0, this.writtenSeq - this.expectedSeq);
  }

  /** Writes what is pending (one attempt), syncs and closes the files. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.syncTimer);
    if (this.pending.length > 0) {
      this.opts.logger.error({ path: this.opts.path, events: this.pending.length },
        `disk queue: ${this.pending.length} event(s) could not be written before closing and are lost`);
    }
    if (this.writeFd !== undefined) {
      try { fdatasyncSync(this.writeFd); } catch { /* reported by the write that failed */ }
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
    this.ackFile.close();
  }

  private writePending(): void {
    while (this.pending.length > 0) {
      const seg = this.segmentFor(this.pending[0]!.length);
      let k = 0;
      let bytes = 0;
      while (k < this.pending.length && seg.size + bytes + this.pending[k]!.length <= this.opts.segmentSize) {
        bytes += this.pending[k]!.length;
        k++;
      }
      const batch = k === this.pending.length ? this.pending : this.pending.slice(0, k);
      const n = writevSync(this.writeFd!, batch, seg.size);
      // A short write (the disk filled up mid-way): keep the whole frames, redo the rest.
      let whole = 0;
      let wholeBytes = 0;
      while (whole < k && wholeBytes + batch[whole]!.length <= n) wholeBytes += batch[whole++]!.length;
      if (n > wholeBytes) this.writeTail = true;
      seg.size += wholeBytes;
      this.bytesOnDisk += wholeBytes;
      this.pendingBytes -= wholeBytes;
      this.pending = whole === this.pending.length ? [] : this.pending.slice(whole);
      this.writtenSeq += whole;
      this.dirty = true;
      if (whole < k) {
        const err: NodeJS.ErrnoException = new Error(`short write to ${seg.path} (${n} of ${bytes} bytes)`);
        err.code = 'ENOSPC';
        throw err;
      }
    }
  }

  /** The segment the next frame of `n` bytes goes into, finishing the current one when it is full. */
  private segmentFor(n: number): Segment {
    const cur = this.writeSeg;
    if (cur && cur.size + n <= this.opts.segmentSize) return cur;
    if (cur) this.finishWriteSegment();
    const id = this.nextSegmentId;
    const path = join(this.opts.path, `${String(id).padStart(10, '0')}.seg`);
    const fd = openSync(path, 'w+', 0o600);
    try {
      const header = encodeSegmentHeader(this.nextSeq - this.pending.length);
      if (writeSync(fd, header, 0, header.length, 0) !== header.length) {
        const err: NodeJS.ErrnoException = new Error(`short write of the segment header to ${path}`);
        err.code = 'ENOSPC';
        throw err;
      }
    } catch (err) {
      closeSync(fd);
      try { unlinkSync(path); } catch { /* the next attempt recreates it */ }
      throw err;
    }
    this.nextSegmentId++;
    const seg: Segment = { id, path, size: SEGMENT_HEADER_BYTES, finished: false };
    this.segments.push(seg);
    this.bytesOnDisk += SEGMENT_HEADER_BYTES;
    this.writeSeg = seg;
    this.writeFd = fd;
    this.writeTail = false;
    return seg;
  }

  private finishWriteSegment(): void {
    const seg = this.writeSeg!;
    const fd = this.writeFd!;
    if (this.writeTail) ftruncateSync(fd, seg.size);
    fdatasyncSync(fd);
    // A reader on this segment keeps reading through its own descriptor.
    if (this.cursor && this.readSegId === seg.id && this.readFd === undefined) {
      this.readFd = openSync(seg.path, 'r');
      this.cursor = new SegmentCursor(this.readFd, this.cursor.offset, this.opts.segmentSize);
    }
    closeSync(fd);
    seg.finished = true;
    this.writeSeg = undefined;
    this.writeFd = undefined;
  }

  private writeFailed(err: NodeJS.ErrnoException): void {
    this.blocked = true;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.opts.maxRetryIntervalMs, this.retryDelay * 2);
    const full = err.code === 'ENOSPC' || err.code === 'EDQUOT';
    this.opts.logger.error(
      { err, path: this.opts.path, code: err.code, pending: this.pending.length, retry_in_ms: delay },
      `disk queue: writing to ${this.opts.path} failed (${full ? 'the disk is full' : err.code ?? err.message}); ` +
      `holding ${this.pending.length} event(s) in memory and accepting no more, retrying in ${delay} ms`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.blocked = false;
      this.retried++;
      const wrote = this.flush();
      if (!this.blocked) {
        this.retryDelay = this.opts.retryIntervalMs;
        this.opts.logger.info({ path: this.opts.path, written: wrote }, `disk queue: writing to ${this.opts.path} works again`);
      }
      this.opts.onChange?.();
    }, delay);
  }

  private syncSoon(): void {
    if (!this.dirty || this.writeFd === undefined) return;
    this.dirty = false;
    fdatasync(this.writeFd, () => undefined);
  }

  private moveToNextSegment(): boolean {
    const next = this.segments.find((s) => s.id > this.readSegId);
    if (!next) return false;
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
    this.cursor = undefined;
    this.readSegId = next.id;
    this.startOffset = SEGMENT_HEADER_BYTES;
    return true;
  }

  private noteDamage(file: string, position: number, bytes: number, why: string): void {
    this.corruptedBytes += bytes;
    if (this.damage) this.damage.bytes += bytes;
    else this.damage = { file, position, bytes, why, counted: 0 };
  }

  /** Counts and logs damaged bytes once the next intact item (or the end of the data) is reached. */
  private resolveDamage(nextSeq: number | undefined): void {
    const gap = nextSeq === undefined ? 0 : Math.max(0, nextSeq - this.expectedSeq);
    this.lostSeq += gap;
    const d = this.damage;
    if (!d) {
      if (gap > 0) this.reportLoss({ file: 'unknown', position: 0, bytes: 0, why: 'missing sequence numbers', counted: 0 }, gap);
      return;
    }
    // A torn write at the end lost one item whose number was never kept: count it once.
    const events = nextSeq === undefined ? Math.max(0, 1 - d.counted) : Math.max(0, Math.max(gap, 1) - d.counted);
    this.reportLoss(d, events);
    if (nextSeq === undefined) {
      d.counted += events;
    } else {
      this.damage = undefined;
    }
  }

  private reportLoss(d: Damage, events: number): void {
    if (events === 0) return;
    this.corruptedEvents += events;
    this.opts.logger.warn(
      { file: d.file, position: d.position, bytes: d.bytes, events, reason: d.why },
      `disk queue: skipped ${d.bytes} damaged byte(s) in ${d.file} at position ${d.position} (${d.why}); ${events} event(s) lost`,
    );
  }

  private removeSegment(s: Segment): void {
    const i = this.segments.indexOf(s);
    if (i >= 0) this.segments.splice(i, 1);
    this.bytesOnDisk -= s.size;
    try {
      unlinkSync(s.path);
    } catch (err) {
      this.opts.logger.warn({ err, file: s.path }, `disk queue: cannot remove the finished segment ${s.path}`);
    }
  }

  private headerIntact(fd: number): boolean {
    const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
    return readSync(fd, b, 0, b.length, 0) === b.length && decodeSegmentHeader(b).ok;
  }

  private firstSeqOf(s: Segment): number {
    const fd = openSync(s.path, 'r');
    try {
      const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
      readSync(fd, b, 0, b.length, 0);
      const h = decodeSegmentHeader(b);
      return h.ok ? h.firstSeq : 0;
    } finally {
      closeSync(fd);
    }
  }

  /** The highest intact sequence number in a segment (its header's first minus one when none). */
  private lastSeqIn(s: Segment): number {
    const fd = openSync(s.path, 'r');
    try {
      const c = new SegmentCursor(fd, SEGMENT_HEADER_BYTES, this.opts.segmentSize);
      let last = this.firstSeqOf(s) - 1;
      for (let step = c.next(s.size); step.kind !== 'end'; step = c.next(s.size)) {
        if (step.kind === 'frame') last = Math.max(last, step.seq);
      }
      return last;
    } finally {
      closeSync(fd);
    }
  }
}
