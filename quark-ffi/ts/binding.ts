/**
 * The ffi-rs binding of libquarkffi (quark-ffi/include/quark_ffi.h). Calls that can block
 * (open attaches BPF programs and scrapes /proc; poll waits for records; close waits for a
 * poll to leave) run on a native thread through ffi-rs `runInNewThread`, so the event loop
 * never waits on the kernel. Short calls (stats, lookup, backend) run inline: the library
 * lets them run beside a blocked poll. Keep poll timeouts short (a few hundred ms): close()
 * waits for the running poll.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, isNullPointer, load, open as openLibrary, type JsExternal } from 'ffi-rs';
import { BatchFormatError, decodeBatch, decodeBatchRecovering, decodeStats } from './decode.js';
import { FORMAT_VERSION, MIN_POLL_BUFFER, STATS_SIZE_V1, type ProcessRecord, type QuarkStats } from './record.js';

export type QuarkBackendName = 'ebpf' | 'kprobe';

export interface QuarkOpenOptions {
  /** Backends the library may try, in its order (eBPF first). Default both. */
  backends?: readonly QuarkBackendName[];
  /** Aggregation window; 0 disables aggregation. Default 1000 ms. */
  holdTimeMs?: number;
  /** eBPF ring buffer size in bytes (rounded up to a power of two by the library). */
  ringBufferBytes?: number;
  /** Process cache bound, in entries. */
  maxCacheSize?: number;
  /** Held-record bound; the hold time shrinks towards it under pressure. */
  maxPending?: number;
  /** How long an exited process stays in the cache (for parent lookups). */
  cacheGraceMs?: number;
  /** Emit the initial /proc snapshot as SNAPSHOT records. Default true. */
  snapshot?: boolean;
  /**
   * Size of the reusable poll buffer in bytes; at least 256 KiB, which is also the default:
   * a poll hands over what the consumer maps before its objects age out of V8's young generation.
   */
  pollBufferBytes?: number;
  /** Process cache bound in MiB of strings (beside maxCacheSize entries). Default 256. */
  maxCacheMib?: number;
  /** Held + ready records bound in MiB. Default 128. */
  maxPendingMib?: number;
  /** Time budget of the initial /proc snapshot; what it leaves is counted. Default 2000 ms. */
  snapshotMs?: number;
}

/** The library cannot be used on this host: not built, or built for another format. */
export class QuarkUnavailableError extends Error {
  constructor(reason: string) {
    super(`unavailable: ${reason}`);
    this.name = 'QuarkUnavailableError';
  }
}

/** `qf_open` refused; the message is the library's own text. */
export class QuarkOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuarkOpenError';
  }
}

export interface PollResult {
  records: ProcessRecord[];
  /** Raw events the library lost since the previous poll (from the batch header). */
  lostCount: number;
  /** More records were ready than fitted: poll again at once. */
  more: boolean;
  /**
   * The first thing of the batch that did not decode. Records are given up one at a time
   * where the framing allows; what was given up is in `lostCount` and in stats().lost.
   */
  decodeError?: BatchFormatError;
  /** qf_close() was called: no more records will come. */
  closed: boolean;
}

const LIB_KEY = 'libquarkffi';
const OPTIONS_SIZE = 48;
const ERR_SIZE = 1024;
const ECANCELED = 125;
const ENOBUFS = 105;
const ENOENT = 2;
const MAX_POLL_BUFFER = 16 * 1024 * 1024;

const BACKEND_BITS: Record<QuarkBackendName, number> = { ebpf: 0x1, kprobe: 0x2 };

/** The repository root: the nearest ancestor of this module holding quark-ffi/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'quark-ffi', 'include'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Where the library is: `PROCBEAT_QUARK_FFI_LIB` overrides the build output. */
export function libraryPath(): string {
  return process.env.PROCBEAT_QUARK_FFI_LIB ?? join(repoRoot(), 'quark-ffi', 'build', 'libquarkffi.so');
}

let loadedFrom: string | undefined;

/** dlopen()s the library once; throws QuarkUnavailableError with the build's reason. */
export function loadLibrary(): void {
  const path = libraryPath();
  if (loadedFrom === path) return;
  const unavailable = join(dirname(path), 'UNAVAILABLE');
  if (existsSync(unavailable)) {
    const reason = readFileSync(unavailable, 'utf8').trim().split('\n').join(' ') || 'quark-ffi did not build';
    throw new QuarkUnavailableError(reason);
  }
  if (!existsSync(path)) {
    throw new QuarkUnavailableError(`${path} not found (build it with \`npm run build\` or \`make -C quark-ffi\`)`);
  }
  try {
    openLibrary({ library: LIB_KEY, path });
  } catch (err) {
    throw new QuarkUnavailableError(`cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const version = load({ library: LIB_KEY, funcName: 'qf_format_version', retType: DataType.I32, paramsType: [], paramsValue: [] });
  if (version !== FORMAT_VERSION) {
    throw new QuarkUnavailableError(`${path} writes batch format version ${version}, this procbeat reads version ${FORMAT_VERSION}`);
  }
  loadedFrom = path;
}

function optionsStruct(o: QuarkOpenOptions): Buffer {
  const b = Buffer.alloc(OPTIONS_SIZE);
  const backends = (o.backends ?? ['ebpf', 'kprobe']).reduce((m, name) => m | BACKEND_BITS[name], 0);
  b.writeUInt32LE(OPTIONS_SIZE, 0);
  b.writeUInt32LE(backends, 4);
  b.writeUInt32LE(o.snapshot === false ? 0 : 1, 8);
  b.writeInt32LE(o.holdTimeMs === undefined ? -1 : Math.min(Math.max(0, Math.round(o.holdTimeMs)), 0x7fffffff), 12);
  const u32 = (v: number | undefined): number => (v === undefined ? 0 : Math.min(Math.max(0, Math.round(v)), 0xffffffff));
  b.writeUInt32LE(u32(o.ringBufferBytes), 16);
  b.writeUInt32LE(u32(o.maxCacheSize), 20);
  b.writeUInt32LE(u32(o.maxPending), 24);
  b.writeUInt32LE(u32(o.cacheGraceMs), 28);
  b.writeUInt32LE(u32(o.maxCacheMib), 32);
  b.writeUInt32LE(u32(o.maxPendingMib), 36);
  b.writeUInt32LE(u32(o.snapshotMs), 40);
  return b;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

function errnoText(code: number): string {
  const names: Record<number, string> = { 2: 'ENOENT', 4: 'EINTR', 12: 'ENOMEM', 22: 'EINVAL', 105: 'ENOBUFS', 125: 'ECANCELED' };
  return `${names[code] ?? 'errno'} ${code}`;
}

/** One open quark-ffi handle. Not reusable after close(). */
export class QuarkHandle {
  private handle: JsExternal | undefined;
  private pollBuffer: Buffer;
  private lookupBuffer: Buffer | undefined;
  private readonly statsBuffer = Buffer.alloc(512);
  private inFlight: Promise<unknown> | undefined;
  private closing: Promise<void> | undefined;
  private decodeErrorCount = 0;
  private lostRecordCount = 0;
  private readonly backendName: QuarkBackendName;

  private constructor(handle: JsExternal, pollBufferBytes: number) {
    this.handle = handle;
    this.pollBuffer = Buffer.alloc(pollBufferBytes);
    const name = load({ library: LIB_KEY, funcName: 'qf_backend', retType: DataType.String, paramsType: [DataType.External], paramsValue: [handle] });
    this.backendName = name === 'kprobe' ? 'kprobe' : 'ebpf';
  }

  /**
   * Opens the library with these options. Rejects with QuarkUnavailableError when the
   * library is not there, QuarkOpenError with the library's reason when no backend works.
   */
  static async open(options: QuarkOpenOptions = {}): Promise<QuarkHandle> {
    loadLibrary();
    const opts = optionsStruct(options);
    const err = Buffer.alloc(ERR_SIZE);
    const ptr = await load({
      library: LIB_KEY, funcName: 'qf_open', retType: DataType.External,
      paramsType: [DataType.U8Array, DataType.U8Array, DataType.U64],
      paramsValue: [opts, err, ERR_SIZE],
      runInNewThread: true,
    });
    if (isNullPointer(ptr)) throw new QuarkOpenError(cString(err) || 'qf_open failed without a reason');
    const size = Math.max(MIN_POLL_BUFFER, Math.min(options.pollBufferBytes ?? MIN_POLL_BUFFER, MAX_POLL_BUFFER));
    return new QuarkHandle(ptr, size);
  }

  backend(): QuarkBackendName {
    return this.backendName;
  }

  /** Batches the binding could not fully decode (counted once per batch). */
  get decodeErrors(): number {
    return this.decodeErrorCount;
  }

  /** Records the binding had to give up (also part of stats().lost). */
  get lostRecords(): number {
    return this.lostRecordCount;
  }

  get closed(): boolean {
    return this.handle === undefined || this.closing !== undefined;
  }

  /**
   * Waits up to `timeoutMs` on a native thread for records and decodes them. One poll at a
   * time: the buffer is reused. A batch that does not decode is counted, not thrown.
   */
  poll(timeoutMs: number): Promise<PollResult> {
    return this.exclusive(async () => {
      const n = await this.pollBytes(timeoutMs);
      if (n <= 0) return { records: [], lostCount: 0, more: false, closed: n < 0 };
      const bytes = this.pollBuffer.subarray(0, n);
      let batch: ReturnType<typeof decodeBatchRecovering>;
      try {
        batch = decodeBatchRecovering(bytes);
      } catch (err) {
        if (!(err instanceof BatchFormatError)) throw err;
        // The header itself is bad: its record count, when it is plausible, is all we know.
        const count = bytes.length >= 12 ? bytes.readUInt32LE(8) : 0;
        const lost = count <= Math.floor(bytes.length / 16) ? count : 1;
        this.decodeErrorCount++;
        this.lostRecordCount += lost;
        return { records: [], lostCount: lost, more: false, decodeError: err, closed: false };
      }
      const res: PollResult = {
        records: batch.records, lostCount: batch.lostCount + batch.lostRecords, more: batch.flags.more, closed: false,
      };
      if (batch.errors.length > 0) {
        this.decodeErrorCount++;
        this.lostRecordCount += batch.lostRecords;
        res.decodeError = batch.errors[0];
      }
      return res;
    });
  }

  /**
   * The next batch exactly as the library wrote it (a copy), undecoded; null on timeout or
   * after close. For tests that hold the decoder against the C side, and for diagnostics.
   */
  pollRaw(timeoutMs: number): Promise<Uint8Array | null> {
    return this.exclusive(async () => {
      const n = await this.pollBytes(timeoutMs);
      return n > 0 ? Uint8Array.prototype.slice.call(this.pollBuffer, 0, n) : null;
    });
  }

  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    if (this.inFlight) throw new Error('quark-ffi: poll() called while another poll is running');
    const p = run().finally(() => { this.inFlight = undefined; });
    this.inFlight = p;
    return p;
  }

  /** Bytes of the batch now in pollBuffer; 0 on timeout, -1 when closed. */
  private async pollBytes(timeoutMs: number): Promise<number> {
    for (;;) {
      const h = this.handle;
      if (h === undefined || this.closing) return -1;
      const buf = this.pollBuffer;
      const n = await load({
        library: LIB_KEY, funcName: 'qf_poll', retType: DataType.I32,
        paramsType: [DataType.External, DataType.U8Array, DataType.U64, DataType.I32],
        paramsValue: [h, buf, buf.length, Math.max(0, Math.min(Math.round(timeoutMs), 0x7fffffff))],
        runInNewThread: true,
      });
      if (n === -ECANCELED) return -1;
      if (n === -ENOBUFS && buf.length < MAX_POLL_BUFFER) {
        this.pollBuffer = Buffer.alloc(Math.min(buf.length * 2, MAX_POLL_BUFFER));
        continue;
      }
      if (n < 0) throw new Error(`quark-ffi: qf_poll failed: ${errnoText(-n)}`);
      return n;
    }
  }

  stats(): QuarkStats {
    const h = this.requireOpen();
    const n = load({
      library: LIB_KEY, funcName: 'qf_stats', retType: DataType.I32,
      paramsType: [DataType.External, DataType.U8Array, DataType.U64],
      paramsValue: [h, this.statsBuffer, this.statsBuffer.length],
    });
    if (n < STATS_SIZE_V1) throw new Error(`quark-ffi: qf_stats wrote ${n} bytes, expected at least ${STATS_SIZE_V1}`);
    const stats = decodeStats(this.statsBuffer.subarray(0, n));
    // `lost` counts what never reached the caller: records the binding gave up too.
    stats.lost += BigInt(this.lostRecordCount);
    return stats;
  }

  /**
   * For a clean stop: the library releases every record it holds (and, from now on, all it
   * still receives) at once, so polls with timeout 0 until one returns nothing deliver them.
   * Returns how many records are pending.
   */
  flush(): number {
    const h = this.requireOpen();
    const n = load({
      library: LIB_KEY, funcName: 'qf_flush', retType: DataType.I32,
      paramsType: [DataType.External], paramsValue: [h],
    });
    if (n < 0) throw new Error(`quark-ffi: qf_flush failed: ${errnoText(-n)}`);
    return n;
  }

  /** The cache's latest state of `pid`, or undefined when the library does not know it. */
  lookup(pid: number): ProcessRecord | undefined {
    const h = this.requireOpen();
    this.lookupBuffer ??= Buffer.alloc(MIN_POLL_BUFFER);
    const buf = this.lookupBuffer;
    const n = load({
      library: LIB_KEY, funcName: 'qf_lookup', retType: DataType.I32,
      paramsType: [DataType.External, DataType.I32, DataType.U8Array, DataType.U64],
      paramsValue: [h, pid | 0, buf, buf.length],
    });
    if (n === -ENOENT) return undefined;
    if (n < 0) throw new Error(`quark-ffi: qf_lookup(${pid}) failed: ${errnoText(-n)}`);
    try {
      return decodeBatch(buf.subarray(0, n)).records[0];
    } catch (err) {
      if (err instanceof BatchFormatError) { this.decodeErrorCount++; return undefined; }
      throw err;
    }
  }

  /**
   * Waits for a running poll to return (polls are short), then frees the handle. qf_close
   * could wake the poll itself, but a poll dispatched to its thread may not have entered
   * the library yet and would then touch a freed handle. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const h = this.handle;
    if (h === undefined) return Promise.resolve();
    this.closing = (async () => {
      await this.inFlight?.catch(() => undefined);
      await load({
        library: LIB_KEY, funcName: 'qf_close', retType: DataType.Void,
        paramsType: [DataType.External], paramsValue: [h], runInNewThread: true,
      });
      this.handle = undefined;
    })();
    return this.closing;
  }

  private requireOpen(): JsExternal {
    if (this.handle === undefined || this.closing) throw new Error('quark-ffi: handle is closed');
    return this.handle;
  }
}
