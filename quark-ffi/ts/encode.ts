/**
 * Writes batches in the FORMAT.md layout from typed records. Only tests and benchmarks use
 * it: they build batches the C library would write (and ones it would not yet write, such as
 * larger fixed parts or unknown item types) to check the decoder against the document.
 */
import {
  BATCH_HEADER_SIZE, BatchFlag, ExecFlag, FORMAT_MAGIC, FORMAT_VERSION, IMAGE_FIXED_SIZE_V1,
  ITEM_F_TRUNCATED, ITEM_HEADER_SIZE, ImgFlag, ItemType, ORIG_LENGTH_UNKNOWN,
  PROCESS_FIXED_SIZE_V1, RECORD_HEADER_SIZE, RecFlag, RecordKind, Valid,
  type ImageRecord, type ProcessRecord, type RecordArgv, type RecordString,
} from './record.js';

const utf8 = new TextEncoder();

export interface EncodeOptions {
  /** Extra zero bytes appended to every fixed part, as a newer minor library might. */
  extraFixedBytes?: number;
  /** Items of unknown types appended to every PROCESS record. */
  unknownItems?: Array<{ type: number; data: Uint8Array }>;
  /** Records of unknown kinds placed after the real ones. */
  unknownRecords?: number;
  lostCount?: number;
  more?: boolean;
  lookup?: boolean;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A growable little-endian byte writer. */
class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  zeros(n: number): number {
    this.ensure(n);
    const at = this.length;
    this.buf.fill(0, at, at + n);
    this.length += n;
    return at;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  padTo8From(base: number): void {
    const rel = this.length - base;
    this.zeros(align8(rel) - rel);
  }

  u16(at: number, v: number): void { this.view.setUint16(at, v, true); }
  u32(at: number, v: number): void { this.view.setUint32(at, v >>> 0, true); }
  i32(at: number, v: number): void { this.view.setInt32(at, v, true); }
  u64(at: number, v: bigint): void { this.view.setBigUint64(at, BigInt.asUintN(64, v), true); }
  i64(at: number, v: bigint): void { this.view.setBigInt64(at, BigInt.asIntN(64, v), true); }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function item(w: Writer, recStart: number, type: number, data: Uint8Array, truncated: boolean, origLength: number): void {
  const at = w.zeros(ITEM_HEADER_SIZE);
  w.u16(at, type);
  w.u16(at + 2, truncated ? ITEM_F_TRUNCATED : 0);
  w.u32(at + 4, data.length);
  w.u32(at + 8, origLength);
  w.bytes(data);
  w.padTo8From(recStart);
}

function stringItem(w: Writer, recStart: number, type: number, s: RecordString | undefined): void {
  if (s === undefined) return;
  const data = utf8.encode(s.value);
  item(w, recStart, type, data, s.truncated, s.originalLength ?? ORIG_LENGTH_UNKNOWN);
}

function argvItem(w: Writer, recStart: number, a: RecordArgv | undefined): void {
  if (a === undefined) return;
  const joined = a.args.map((x) => `${x}\0`).join('');
  item(w, recStart, ItemType.ARGV, utf8.encode(joined), a.truncated, a.originalLength);
}

function header(w: Writer, at: number, kind: number, fixedSize: number, flags: number, valid: number): void {
  w.u16(at + 4, kind);
  w.u16(at + 6, fixedSize);
  w.u32(at + 8, flags);
  w.u32(at + 12, valid);
}

function image(w: Writer, img: ImageRecord, extra: number): void {
  const b = w.length;
  const fixed = IMAGE_FIXED_SIZE_V1 + extra;
  w.zeros(fixed);
  const flags = (img.flags.fork ? ImgFlag.FORK : 0) | (img.flags.exec ? ImgFlag.EXEC : 0)
    | (img.flags.snapshot ? ImgFlag.SNAPSHOT : 0);
  header(w, b, RecordKind.IMAGE, fixed, flags, 0);
  w.u64(b + 16, img.timeNs ?? 0n);
  w.u32(b + 24, img.pid);
  w.u32(b + 28, img.argc);
  w.u64(b + 32, img.exeIno ?? 0n);
  w.u32(b + 40, img.exeDevMajor);
  w.u32(b + 44, img.exeDevMinor);
  // The C library's item order, so re-encoding its batches gives the same bytes.
  stringItem(w, b, ItemType.COMM, img.comm);
  stringItem(w, b, ItemType.EXE, img.exe);
  argvItem(w, b, img.argv);
  stringItem(w, b, ItemType.FILENAME, img.filename);
  w.u32(b, w.length - b);
}

function process(w: Writer, rec: ProcessRecord, opts: EncodeOptions): void {
  const b = w.length;
  const extra = align8(opts.extraFixedBytes ?? 0);
  const fixed = PROCESS_FIXED_SIZE_V1 + extra;
  w.zeros(fixed);
  const fl = rec.flags;
  const flags = (fl.fork ? RecFlag.FORK : 0) | (fl.exec ? RecFlag.EXEC : 0) | (fl.exit ? RecFlag.EXIT : 0)
    | (fl.snapshot ? RecFlag.SNAPSHOT : 0) | (fl.lookup ? RecFlag.LOOKUP : 0)
    | (fl.complete ? RecFlag.COMPLETE : 0) | (fl.coreDumped ? RecFlag.CORE_DUMPED : 0);
  let valid = 0;
  if (rec.ids) {
    valid |= Valid.IDS;
    const i = rec.ids;
    w.u32(b + 16, i.pid); w.u32(b + 20, i.tid); w.u32(b + 24, i.ppid); w.u32(b + 28, i.vpid);
    w.u32(b + 32, i.pgid); w.u32(b + 36, i.sid); w.u64(b + 80, i.startNs);
  }
  if (rec.creds) {
    valid |= Valid.CREDS;
    const c = rec.creds;
    w.u32(b + 40, c.uid); w.u32(b + 44, c.gid); w.u32(b + 48, c.euid); w.u32(b + 52, c.egid);
    w.u32(b + 56, c.suid); w.u32(b + 60, c.sgid); w.u32(b + 64, c.fsuid); w.u32(b + 68, c.fsgid);
  }
  if (rec.tty) { valid |= Valid.TTY; w.u32(b + 72, rec.tty.major); w.u32(b + 76, rec.tty.minor); }
  if (rec.caps) {
    valid |= Valid.CAPS;
    const c = rec.caps;
    w.u64(b + 88, c.effective); w.u64(b + 96, c.permitted); w.u64(b + 104, c.inheritable);
    w.u64(b + 112, c.bounding); w.u64(b + 120, c.ambient);
  }
  if (rec.forkTimeNs !== undefined) { valid |= Valid.FORK_TIME; w.u64(b + 128, rec.forkTimeNs); }
  if (rec.execTimeNs !== undefined) { valid |= Valid.EXEC_TIME; w.u64(b + 136, rec.execTimeNs); }
  if (rec.exit) {
    valid |= Valid.EXIT;
    w.u64(b + 144, rec.exit.timeNs); w.u32(b + 152, rec.exit.status);
    w.i32(b + 156, rec.exit.code); w.u32(b + 160, rec.exit.signal);
  }
  if (rec.oldPid !== undefined) { valid |= Valid.OLD_PID; w.u32(b + 164, rec.oldPid); }
  if (rec.pidnsInitStartNs !== undefined) { valid |= Valid.PIDNS_INIT; w.u64(b + 168, rec.pidnsInitStartNs); }
  if (rec.namespaces) {
    valid |= Valid.NS;
    const n = rec.namespaces;
    w.u32(b + 176, n.pid); w.u32(b + 180, n.mnt); w.u32(b + 184, n.net); w.u32(b + 188, n.uts);
    w.u32(b + 192, n.ipc); w.u32(b + 196, n.user); w.u32(b + 200, n.cgroup);
  }
  let execFlags = 0;
  if (rec.exeFile) {
    valid |= Valid.EXE_FILE;
    const x = rec.exeFile;
    w.u32(b + 204, x.nlink); w.u32(b + 208, x.devMajor); w.u32(b + 212, x.devMinor);
    w.u64(b + 216, x.ino); w.u32(b + 224, x.mode); w.u32(b + 228, x.uid); w.u32(b + 232, x.gid);
    w.u64(b + 240, x.size); w.i64(b + 248, x.ctimeNs); w.i64(b + 256, x.mtimeNs);
    execFlags |= (x.memfd ? ExecFlag.MEMFD : 0) | (x.unlinked ? ExecFlag.UNLINKED : 0);
  }
  if (rec.execPriv) {
    valid |= Valid.EXEC_PRIV;
    const p = rec.execPriv;
    execFlags |= (p.setuid ? ExecFlag.SETUID : 0) | (p.setgid ? ExecFlag.SETGID : 0)
      | (p.privChanged ? ExecFlag.PRIV_CHANGED : 0);
  }
  w.u32(b + 236, execFlags);
  if (rec.argc !== undefined) { valid |= Valid.ARGC; w.u32(b + 264, rec.argc); }
  const source = { ebpf: 1, kprobe: 2, procfs: 3, unknown: 0 }[rec.source];
  w.u16(b + 268, source);
  w.u16(b + 270, rec.previous.length);
  header(w, b, RecordKind.PROCESS, fixed, flags, valid);

  stringItem(w, b, ItemType.COMM, rec.comm);
  stringItem(w, b, ItemType.EXE, rec.exe);
  stringItem(w, b, ItemType.FILENAME, rec.filename);
  argvItem(w, b, rec.argv);
  stringItem(w, b, ItemType.CWD, rec.cwd);
  stringItem(w, b, ItemType.CGROUP, rec.cgroup);
  for (const u of opts.unknownItems ?? []) item(w, b, u.type, u.data, false, u.data.length);
  for (const img of rec.previous) {
    // As the C library: zero padding after the 12-byte item header so the IMAGE is 8-aligned.
    const at = w.zeros(ITEM_HEADER_SIZE);
    const nested = w.length;
    w.padTo8From(b);
    image(w, img, extra);
    const len = w.length - nested;
    w.u16(at, ItemType.PREVIOUS);
    w.u32(at + 4, len);
    w.u32(at + 8, len);
    w.padTo8From(b);
  }
  w.u32(b, w.length - b);
}

/** One batch holding `records`, with the header fields the options ask for. */
export function encodeBatch(records: readonly ProcessRecord[], bootWallNs: bigint, opts: EncodeOptions = {}): Uint8Array {
  const w = new Writer();
  w.zeros(BATCH_HEADER_SIZE);
  for (const rec of records) process(w, rec, opts);
  const unknown = opts.unknownRecords ?? 0;
  for (let i = 0; i < unknown; i++) {
    const b = w.zeros(RECORD_HEADER_SIZE + 8);
    header(w, b, 0x7f00 + i, RECORD_HEADER_SIZE, 0, 0);
    w.u32(b, RECORD_HEADER_SIZE + 8);
  }
  const lost = opts.lostCount ?? 0;
  w.u32(0, FORMAT_MAGIC);
  w.u16(4, FORMAT_VERSION);
  w.u16(6, BATCH_HEADER_SIZE);
  w.u32(8, records.length + unknown);
  w.u32(12, w.length);
  w.u32(16, (lost > 0 ? BatchFlag.LOST : 0) | (opts.more ? BatchFlag.MORE : 0) | (opts.lookup ? BatchFlag.LOOKUP : 0));
  w.u32(20, lost);
  w.i64(24, bootWallNs);
  return w.result();
}
