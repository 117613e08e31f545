/**
 * Random but valid ProcessRecords for the decoder tests, from a seeded PRNG so a failing
 * case can be replayed by its seed.
 */
import assert from 'node:assert/strict';
import type { ImageRecord, ProcessRecord, RecordArgv, RecordString } from '../../quark-ffi/ts/record.js';

/** mulberry32: small, fast, good enough to spread fuzz cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  int(max: number): number { return Math.floor(this.next() * max); }
  bool(p = 0.5): boolean { return this.next() < p; }
  u32(): number { return this.int(0x100000000); }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  i64(): bigint { return BigInt.asIntN(64, this.u64()); }

  text(maxLen: number): string {
    const alphabet = ['a', 'b', 'Z', '0', '/', '.', '-', ' ', '_', 'é', 'ü', '日', '🙂', '=', '"'];
    let s = '';
    const n = this.int(maxLen + 1);
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  str(maxLen: number): RecordString {
    const value = this.text(maxLen);
    const bytes = Buffer.byteLength(value);
    if (this.bool(0.2)) return { value, truncated: true, originalLength: bytes + 1 + this.int(5000) };
    if (this.bool(0.05)) return { value, truncated: true }; // path of unknown full length
    return { value, truncated: false, originalLength: bytes };
  }

  argv(maxArgs: number): RecordArgv {
    const args: string[] = [];
    const n = this.int(maxArgs + 1);
    // Empty arguments are real (`prog ''`) but only survive the NUL-joined form in the middle.
    for (let i = 0; i < n; i++) args.push(this.text(20) || 'x');
    const bytes = args.reduce((s, a) => s + Buffer.byteLength(a) + 1, 0);
    const truncated = this.bool(0.1);
    return { args, truncated, originalLength: truncated ? bytes + 100 : bytes };
  }
}

function maybe<T>(g: Gen, make: () => T, p = 0.8): T | undefined {
  return g.bool(p) ? make() : undefined;
}

export function randomImage(g: Gen): ImageRecord {
  const img: ImageRecord = {
    flags: { fork: g.bool(), exec: g.bool(), snapshot: g.bool(0.2) },
    pid: g.u32(),
    argc: g.int(100),
    exeDevMajor: g.int(256),
    exeDevMinor: g.int(256),
  };
  if (g.bool(0.8)) img.timeNs = g.u64() || 1n;
  if (g.bool(0.8)) img.exeIno = g.u64() || 1n;
  const comm = maybe(g, () => g.str(15));
  if (comm) img.comm = comm;
  const exe = maybe(g, () => g.str(60));
  if (exe) img.exe = exe;
  const filename = maybe(g, () => g.str(30), 0.5);
  if (filename) img.filename = filename;
  const argv = maybe(g, () => g.argv(6));
  if (argv) img.argv = argv;
  return img;
}

export function randomRecord(g: Gen, bootWallNs: bigint): ProcessRecord {
  const snapshot = g.bool(0.2);
  const rec: ProcessRecord = {
    flags: {
      fork: !snapshot && g.bool(), exec: !snapshot && g.bool(), exit: !snapshot && g.bool(),
      snapshot, lookup: g.bool(0.05), complete: g.bool(0.8), coreDumped: g.bool(0.05),
    },
    rawFlags: 0,
    rawValid: 0,
    source: (['ebpf', 'kprobe', 'procfs'] as const)[g.int(3)] ?? 'ebpf',
    bootWallNs,
    previous: [],
  };
  const opt = <K extends keyof ProcessRecord>(key: K, make: () => ProcessRecord[K], p = 0.8): void => {
    if (g.bool(p)) rec[key] = make();
  };
  opt('ids', () => ({
    pid: g.u32(), tid: g.u32(), ppid: g.u32(), vpid: g.u32(), pgid: g.u32(), sid: g.u32(), startNs: g.u64(),
  }), 0.95);
  opt('creds', () => ({
    uid: g.u32(), gid: g.u32(), euid: g.u32(), egid: g.u32(), suid: g.u32(), sgid: g.u32(), fsuid: g.u32(), fsgid: g.u32(),
  }));
  opt('caps', () => ({ effective: g.u64(), permitted: g.u64(), inheritable: g.u64(), bounding: g.u64(), ambient: g.u64() }));
  opt('tty', () => ({ major: g.int(300), minor: g.int(300) }));
  opt('exit', () => ({ status: g.u32(), code: g.u32() | 0, signal: g.int(65), timeNs: g.u64() }), 0.5);
  opt('namespaces', () => ({
    pid: g.u32(), mnt: g.u32(), net: g.u32(), uts: g.u32(), ipc: g.u32(), user: g.u32(), cgroup: g.u32(),
  }));
  opt('pidnsInitStartNs', () => g.u64());
  opt('exeFile', () => ({
    nlink: g.int(5), devMajor: g.int(256), devMinor: g.int(256), ino: g.u64(), mode: g.int(0o200000),
    uid: g.u32(), gid: g.u32(), size: g.u64(), ctimeNs: g.i64(), mtimeNs: g.i64(), memfd: g.bool(0.1), unlinked: g.bool(0.1),
  }));
  opt('execPriv', () => ({ setuid: g.bool(0.1), setgid: g.bool(0.1), privChanged: g.bool(0.1) }), 0.5);
  opt('oldPid', () => g.u32(), 0.1);
  opt('argc', () => g.int(1000));
  opt('forkTimeNs', () => g.u64(), 0.5);
  opt('execTimeNs', () => g.u64(), 0.5);
  opt('comm', () => g.str(15));
  opt('exe', () => g.str(100));
  opt('filename', () => g.str(40), 0.4);
  opt('argv', () => g.argv(12));
  opt('cwd', () => g.str(50));
  opt('cgroup', () => g.str(60), 0.5);
  const prev = g.bool(0.3) ? g.int(5) : 0;
  for (let i = 0; i < prev; i++) rec.previous.push(randomImage(g));
  return rec;
}

/** The decoder fills the raw bits; the generator leaves them 0. Compare without them. */
export function withoutRaw(rec: ProcessRecord): Omit<ProcessRecord, 'rawFlags' | 'rawValid'> {
  const { rawFlags: _f, rawValid: _v, ...rest } = rec;
  return rest;
}

function isU32(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function checkString(s: RecordString | undefined, what: string): void {
  if (s === undefined) return;
  assert.equal(typeof s.value, 'string', what);
  assert.equal(typeof s.truncated, 'boolean', what);
  if (s.originalLength !== undefined) assert.ok(isU32(s.originalLength), what);
}

/** What "a valid record" means to a consumer: every present field has its declared type. */
export function assertWellFormed(rec: ProcessRecord): void {
  for (const v of Object.values(rec.flags)) assert.equal(typeof v, 'boolean');
  assert.ok(['ebpf', 'kprobe', 'procfs', 'unknown'].includes(rec.source));
  assert.equal(typeof rec.bootWallNs, 'bigint');
  if (rec.ids) {
    for (const k of ['pid', 'tid', 'ppid', 'vpid', 'pgid', 'sid'] as const) assert.ok(isU32(rec.ids[k]), k);
    assert.equal(typeof rec.ids.startNs, 'bigint');
  }
  if (rec.creds) for (const v of Object.values(rec.creds)) assert.ok(isU32(v));
  if (rec.caps) for (const v of Object.values(rec.caps)) assert.equal(typeof v, 'bigint');
  if (rec.exit) {
    assert.ok(Number.isInteger(rec.exit.code));
    assert.ok(isU32(rec.exit.signal));
  }
  if (rec.argv) {
    assert.ok(Array.isArray(rec.argv.args));
    for (const a of rec.argv.args) assert.equal(typeof a, 'string');
  }
  for (const [k, s] of [['comm', rec.comm], ['exe', rec.exe], ['filename', rec.filename], ['cwd', rec.cwd], ['cgroup', rec.cgroup]] as const) {
    checkString(s, k);
  }
  assert.ok(Array.isArray(rec.previous));
  for (const img of rec.previous) {
    assert.ok(isU32(img.pid));
    checkString(img.exe, 'previous.exe');
    if (img.argv) for (const a of img.argv.args) assert.equal(typeof a, 'string');
  }
}
