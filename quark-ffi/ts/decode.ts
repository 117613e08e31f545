/**
 * Decodes quark-ffi batches (FORMAT.md, version 1) into typed records. The bytes come from
 * C code reading the kernel, so every length and offset is checked before it is used: a
 * bad batch raises BatchFormatError naming what did not add up, and nothing is read
 * outside the batch. Every loop advances by at least one header, so it ends.
 */
import {
  BATCH_HEADER_SIZE, BatchFlag, ExecFlag, FORMAT_MAGIC, FORMAT_VERSION, IMAGE_FIXED_SIZE_V1,
  ITEM_F_TRUNCATED, ITEM_HEADER_SIZE, ImgFlag, ItemType, ORIG_LENGTH_UNKNOWN,
  PROCESS_FIXED_SIZE_V1, RECORD_HEADER_SIZE, RecFlag, RecordKind, STATS_SIZE_V1, Valid,
  sourceName,
  type DecodedBatch, type ImageRecord, type ProcessRecord, type QuarkStats, type RecordArgv,
  type RecordString,
} from './record.js';

export class BatchFormatError extends Error {
  /** Byte offset in the batch where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`invalid quark-ffi batch at byte ${offset}: ${message}`);
    this.name = 'BatchFormatError';
    this.offset = offset;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bounds-checked little-endian reads over one region of the batch. */
class Reader {
  readonly view: DataView;
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(off: number, size: number, end: number): void {
    if (off < 0 || off + size > end) {
      throw new BatchFormatError(`field of ${size} bytes runs past the end of its region (${end})`, off);
    }
  }

  u16(off: number, end: number): number { this.need(off, 2, end); return this.view.getUint16(off, true); }
  u32(off: number, end: number): number { this.need(off, 4, end); return this.view.getUint32(off, true); }
  i32(off: number, end: number): number { this.need(off, 4, end); return this.view.getInt32(off, true); }
  u64(off: number, end: number): bigint { this.need(off, 8, end); return this.view.getBigUint64(off, true); }
  i64(off: number, end: number): bigint { this.need(off, 8, end); return this.view.getBigInt64(off, true); }

  text(off: number, len: number, end: number): string {
    this.need(off, len, end);
    return utf8.decode(this.bytes.subarray(off, off + len));
  }
}

interface RecordHeader {
  start: number;
  length: number;
  end: number;
  kind: number;
  fixedSize: number;
  flags: number;
  valid: number;
}

function readRecordHeader(r: Reader, start: number, parentEnd: number, what: string): RecordHeader {
  if (start + RECORD_HEADER_SIZE > parentEnd) {
    throw new BatchFormatError(`${what} header needs ${RECORD_HEADER_SIZE} bytes, only ${parentEnd - start} left`, start);
  }
  const length = r.u32(start, parentEnd);
  const kind = r.u16(start + 4, parentEnd);
  const fixedSize = r.u16(start + 6, parentEnd);
  if (length < RECORD_HEADER_SIZE) throw new BatchFormatError(`${what} length ${length} is smaller than its header`, start);
  if (length % 8 !== 0) throw new BatchFormatError(`${what} length ${length} is not a multiple of 8`, start);
  if (length > parentEnd - start) {
    throw new BatchFormatError(`${what} length ${length} runs past its parent (${parentEnd - start} bytes left)`, start);
  }
  if (fixedSize < RECORD_HEADER_SIZE || fixedSize > length) {
    throw new BatchFormatError(`${what} fixed_size ${fixedSize} outside 16..${length}`, start);
  }
  return {
    start, length, end: start + length, kind, fixedSize,
    flags: r.u32(start + 8, parentEnd), valid: r.u32(start + 12, parentEnd),
  };
}

interface Item {
  type: number;
  flags: number;
  dataStart: number;
  length: number;
  origLength: number;
}

/** Items of one record, each advanced by its padded size relative to the record start. */
function* items(r: Reader, rec: RecordHeader): Generator<Item> {
  let off = rec.start + rec.fixedSize;
  while (off < rec.end) {
    if (off + ITEM_HEADER_SIZE > rec.end) {
      throw new BatchFormatError(`item header needs ${ITEM_HEADER_SIZE} bytes, only ${rec.end - off} left in its record`, off);
    }
    const type = r.u16(off, rec.end);
    const flags = r.u16(off + 2, rec.end);
    const length = r.u32(off + 4, rec.end);
    const origLength = r.u32(off + 8, rec.end);
    const dataStart = off + ITEM_HEADER_SIZE;
    if (length > rec.end - dataStart) {
      throw new BatchFormatError(`item type ${type} length ${length} runs past its record (${rec.end - dataStart} bytes left)`, off);
    }
    const next = rec.start + align8(dataStart + length - rec.start);
    if (next > rec.end) {
      throw new BatchFormatError(`item type ${type} padding runs past its record`, off);
    }
    yield { type, flags, dataStart, length, origLength };
    off = next;
  }
}

function stringItem(r: Reader, it: Item): RecordString {
  const truncated = (it.flags & ITEM_F_TRUNCATED) !== 0;
  const s: RecordString = { value: r.text(it.dataStart, it.length, it.dataStart + it.length), truncated };
  if (it.origLength !== ORIG_LENGTH_UNKNOWN) s.originalLength = it.origLength;
  return s;
}

/** The argument area: each argument ends in NUL; a truncated last one may lack it. */
function argvItem(r: Reader, it: Item): RecordArgv {
  const raw = r.text(it.dataStart, it.length, it.dataStart + it.length);
  const parts = raw.length === 0 ? [] : raw.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return { args: parts, truncated: (it.flags & ITEM_F_TRUNCATED) !== 0, originalLength: it.origLength };
}

class SeenItems {
  private readonly seen = new Set<number>();

  check(it: Item, where: string): void {
    if (it.type === ItemType.PREVIOUS) return;
    if (this.seen.has(it.type)) {
      throw new BatchFormatError(`item type ${it.type} appears twice in one ${where}`, it.dataStart - ITEM_HEADER_SIZE);
    }
    this.seen.add(it.type);
  }
}

/**
 * A PREVIOUS item's data is zero padding up to the next 8-aligned offset (the item header is
 * 12 bytes), then one IMAGE record filling the rest of the item.
 */
function decodeImage(r: Reader, it: Item, parentStart: number): ImageRecord {
  const itemEnd = it.dataStart + it.length;
  const rel = it.dataStart - parentStart;
  const start = it.dataStart + (align8(rel) - rel);
  if (start > itemEnd) {
    throw new BatchFormatError(`PREVIOUS item of ${it.length} bytes is shorter than its alignment padding`, it.dataStart);
  }
  const h = readRecordHeader(r, start, itemEnd, 'IMAGE record');
  if (h.kind !== RecordKind.IMAGE) {
    throw new BatchFormatError(`PREVIOUS item holds a record of kind ${h.kind}, expected IMAGE (2)`, h.start);
  }
  if (h.end !== itemEnd) {
    throw new BatchFormatError(`IMAGE record length ${h.length} does not fill its PREVIOUS item (${itemEnd - start} bytes)`, h.start);
  }
  if (h.fixedSize < IMAGE_FIXED_SIZE_V1) {
    throw new BatchFormatError(`IMAGE fixed_size ${h.fixedSize} is smaller than version 1's ${IMAGE_FIXED_SIZE_V1}`, h.start);
  }
  const b = h.start;
  const e = h.end;
  const timeNs = r.u64(b + 16, e);
  const exeIno = r.u64(b + 32, e);
  const img: ImageRecord = {
    flags: {
      fork: (h.flags & ImgFlag.FORK) !== 0,
      exec: (h.flags & ImgFlag.EXEC) !== 0,
      snapshot: (h.flags & ImgFlag.SNAPSHOT) !== 0,
    },
    pid: r.u32(b + 24, e),
    argc: r.u32(b + 28, e),
    exeDevMajor: r.u32(b + 40, e),
    exeDevMinor: r.u32(b + 44, e),
  };
  if (timeNs !== 0n) img.timeNs = timeNs;
  if (exeIno !== 0n) img.exeIno = exeIno;
  const seen = new SeenItems();
  for (const sub of items(r, h)) {
    seen.check(sub, 'IMAGE record');
    switch (sub.type) {
      case ItemType.COMM: img.comm = stringItem(r, sub); break;
      case ItemType.EXE: img.exe = stringItem(r, sub); break;
      case ItemType.FILENAME: img.filename = stringItem(r, sub); break;
      case ItemType.ARGV: img.argv = argvItem(r, sub); break;
      case ItemType.PREVIOUS:
        throw new BatchFormatError('PREVIOUS item inside an IMAGE record (only one level of nesting is allowed)', sub.dataStart - ITEM_HEADER_SIZE);
      default: break; // newer item types are skipped by their length
    }
  }
  return img;
}

function decodeProcess(r: Reader, h: RecordHeader, bootWallNs: bigint): ProcessRecord {
  if (h.fixedSize < PROCESS_FIXED_SIZE_V1) {
    throw new BatchFormatError(`PROCESS fixed_size ${h.fixedSize} is smaller than version 1's ${PROCESS_FIXED_SIZE_V1}`, h.start);
  }
  const b = h.start;
  const e = h.end;
  const f = h.flags;
  const v = h.valid;
  const u32 = (off: number): number => r.u32(b + off, e);
  const u64 = (off: number): bigint => r.u64(b + off, e);
  const has = (bit: number): boolean => (v & bit) !== 0;

  const rec: ProcessRecord = {
    flags: {
      fork: (f & RecFlag.FORK) !== 0,
      exec: (f & RecFlag.EXEC) !== 0,
      exit: (f & RecFlag.EXIT) !== 0,
      snapshot: (f & RecFlag.SNAPSHOT) !== 0,
      lookup: (f & RecFlag.LOOKUP) !== 0,
      complete: (f & RecFlag.COMPLETE) !== 0,
      coreDumped: (f & RecFlag.CORE_DUMPED) !== 0,
    },
    rawFlags: f,
    rawValid: v,
    source: sourceName(r.u16(b + 268, e)),
    bootWallNs,
    previous: [],
  };
  if (has(Valid.IDS)) {
    rec.ids = {
      pid: u32(16), tid: u32(20), ppid: u32(24), vpid: u32(28), pgid: u32(32), sid: u32(36),
      startNs: u64(80),
    };
  }
  if (has(Valid.CREDS)) {
    rec.creds = {
      uid: u32(40), gid: u32(44), euid: u32(48), egid: u32(52),
      suid: u32(56), sgid: u32(60), fsuid: u32(64), fsgid: u32(68),
    };
  }
  if (has(Valid.TTY)) rec.tty = { major: u32(72), minor: u32(76) };
  if (has(Valid.CAPS)) {
    rec.caps = {
      effective: u64(88), permitted: u64(96), inheritable: u64(104), bounding: u64(112), ambient: u64(120),
    };
  }
  if (has(Valid.FORK_TIME)) rec.forkTimeNs = u64(128);
  if (has(Valid.EXEC_TIME)) rec.execTimeNs = u64(136);
  if (has(Valid.EXIT)) {
    rec.exit = { status: u32(152), code: r.i32(b + 156, e), signal: u32(160), timeNs: u64(144) };
  }
  if (has(Valid.OLD_PID)) rec.oldPid = u32(164);
  if (has(Valid.PIDNS_INIT)) rec.pidnsInitStartNs = u64(168);
  if (has(Valid.NS)) {
    rec.namespaces = {
      pid: u32(176), mnt: u32(180), net: u32(184), uts: u32(188),
      ipc: u32(192), user: u32(196), cgroup: u32(200),
    };
  }
  const execFlags = u32(236);
  if (has(Valid.EXE_FILE)) {
    rec.exeFile = {
      nlink: u32(204), devMajor: u32(208), devMinor: u32(212), ino: u64(216),
      mode: u32(224), uid: u32(228), gid: u32(232), size: u64(240),
      ctimeNs: r.i64(b + 248, e), mtimeNs: r.i64(b + 256, e),
      memfd: (execFlags & ExecFlag.MEMFD) !== 0,
      unlinked: (execFlags & ExecFlag.UNLINKED) !== 0,
    };
  }
  if (has(Valid.EXEC_PRIV)) {
    rec.execPriv = {
      setuid: (execFlags & ExecFlag.SETUID) !== 0,
      setgid: (execFlags & ExecFlag.SETGID) !== 0,
      privChanged: (execFlags & ExecFlag.PRIV_CHANGED) !== 0,
    };
  }
  if (has(Valid.ARGC)) rec.argc = u32(264);
  const previousCount = r.u16(b + 270, e);

  const seen = new SeenItems();
  for (const it of items(r, h)) {
    seen.check(it, 'PROCESS record');
    switch (it.type) {
      case ItemType.COMM: rec.comm = stringItem(r, it); break;
      case ItemType.EXE: rec.exe = stringItem(r, it); break;
      case ItemType.FILENAME: rec.filename = stringItem(r, it); break;
      case ItemType.ARGV: rec.argv = argvItem(r, it); break;
      case ItemType.CWD: rec.cwd = stringItem(r, it); break;
      case ItemType.CGROUP: rec.cgroup = stringItem(r, it); break;
      case ItemType.PREVIOUS: rec.previous.push(decodeImage(r, it, b)); break;
      default: break; // newer item types are skipped by their length
    }
  }
  if (rec.previous.length !== previousCount) {
    throw new BatchFormatError(`previous_count ${previousCount} but ${rec.previous.length} PREVIOUS items`, b + 270);
  }
  return rec;
}

/** Decodes one batch as written by qf_poll() or qf_lookup(); any bad byte throws. */
export function decodeBatch(buf: Uint8Array): DecodedBatch {
  return decodeFramed(buf, undefined);
}

/** What `decodeBatchRecovering` could not use. */
export interface BatchDamage {
  /** One error per record (or framing problem) that was given up; empty when clean. */
  errors: BatchFormatError[];
  /** PROCESS records the batch announced that are not in `records`. */
  lostRecords: number;
}

/**
 * Decodes a batch, giving up one record at a time: a record whose header frames it (its
 * length fits the batch) but whose contents do not add up is skipped and counted, and the
 * next one is read. When a record's header itself is bad nothing after it can be found, so
 * the rest of the batch is counted as lost. Only a bad batch header throws.
 */
export function decodeBatchRecovering(buf: Uint8Array): DecodedBatch & BatchDamage {
  const damage: BatchDamage = { errors: [], lostRecords: 0 };
  const batch = decodeFramed(buf, damage);
  return { ...batch, ...damage };
}

function decodeFramed(buf: Uint8Array, damage: BatchDamage | undefined): DecodedBatch {
  if (buf.byteLength < BATCH_HEADER_SIZE) {
    throw new BatchFormatError(`batch of ${buf.byteLength} bytes is shorter than its ${BATCH_HEADER_SIZE}-byte header`, 0);
  }
  const r = new Reader(buf);
  const avail = buf.byteLength;
  const magic = r.u32(0, avail);
  if (magic !== FORMAT_MAGIC) {
    throw new BatchFormatError(`bad magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${FORMAT_MAGIC.toString(16)}`, 0);
  }
  const version = r.u16(4, avail);
  if (version !== FORMAT_VERSION) {
    throw new BatchFormatError(`format version ${version} is not supported (this decoder reads version ${FORMAT_VERSION})`, 4);
  }
  const headerSize = r.u16(6, avail);
  const recordCount = r.u32(8, avail);
  const totalLength = r.u32(12, avail);
  if (totalLength > avail) {
    throw new BatchFormatError(`total_length ${totalLength} is larger than the ${avail} bytes received`, 12);
  }
  if (headerSize < BATCH_HEADER_SIZE || headerSize % 8 !== 0 || headerSize > totalLength) {
    throw new BatchFormatError(`header_size ${headerSize} must be a multiple of 8 between ${BATCH_HEADER_SIZE} and total_length ${totalLength}`, 6);
  }
  const maxRecords = Math.floor((totalLength - headerSize) / RECORD_HEADER_SIZE);
  if (recordCount > maxRecords) {
    throw new BatchFormatError(`record_count ${recordCount} cannot fit in ${totalLength - headerSize} bytes`, 8);
  }
  const flags = r.u32(16, totalLength);
  const lostCount = r.u32(20, totalLength);
  const bootWallNs = r.i64(24, totalLength);

  const records: ProcessRecord[] = [];
  let skippedRecords = 0;
  let off = headerSize;
  for (let i = 0; i < recordCount; i++) {
    let h: RecordHeader;
    try {
      h = readRecordHeader(r, off, totalLength, `record ${i}`);
    } catch (err) {
      if (!damage || !(err instanceof BatchFormatError)) throw err;
      // Without this record's length the next one cannot be found.
      damage.errors.push(err);
      damage.lostRecords += recordCount - i;
      off = totalLength;
      break;
    }
    try {
      if (h.kind === RecordKind.PROCESS) records.push(decodeProcess(r, h, bootWallNs));
      else if (h.kind === RecordKind.IMAGE) {
        throw new BatchFormatError(`record ${i} is an IMAGE record at top level (only allowed inside PREVIOUS)`, off);
      } else skippedRecords++;
    } catch (err) {
      if (!damage || !(err instanceof BatchFormatError)) throw err;
      damage.errors.push(err);
      damage.lostRecords++;
    }
    off = h.end;
  }
  if (off !== totalLength) {
    const err = new BatchFormatError(`${totalLength - off} bytes left after record_count ${recordCount} records`, off);
    if (!damage) throw err;
    damage.errors.push(err);
  }
  return {
    records,
    flags: {
      lost: (flags & BatchFlag.LOST) !== 0,
      more: (flags & BatchFlag.MORE) !== 0,
      lookup: (flags & BatchFlag.LOOKUP) !== 0,
    },
    lostCount,
    bootWallNs,
    skippedRecords,
    totalLength,
  };
}

/** Decodes the `qf_stats` block (version 1; a newer, longer block keeps these offsets). */
export function decodeStats(buf: Uint8Array): QuarkStats {
  const r = new Reader(buf);
  const avail = buf.byteLength;
  if (avail < 8) throw new BatchFormatError(`stats block of ${avail} bytes is too short`, 0);
  const size = r.u32(0, avail);
  if (size < STATS_SIZE_V1 || size > avail) {
    throw new BatchFormatError(`stats size ${size} is outside ${STATS_SIZE_V1}..${avail}`, 0);
  }
  const u = (off: number): bigint => r.u64(off, size);
  // Fields appended to version 1 read as 0 from an older library's shorter block.
  const later = (off: number): bigint => (off + 8 <= size ? r.u64(off, size) : 0n);
  return {
    insertions: u(8), removals: u(16), aggregations: u(24), nonAggregations: u(32),
    lost: u(40), garbageCollections: u(48), backend: sourceName(Number(u(56))),
    cacheEntries: u(64), pending: u(72), recordsOut: u(80), rawEvents: u(88),
    ringLost: u(96), decodeErrors: u(104), truncated: u(112), evictions: u(120),
    forcedFlushes: u(128), holdTimeMs: u(136), snapshotRecords: u(144),
    snapshotSkipped: later(152), pidReuses: later(160), cacheBytes: later(168), pendingBytes: later(176),
    outOfOrder: later(184), kernelSkipped: later(192),
  };
}
