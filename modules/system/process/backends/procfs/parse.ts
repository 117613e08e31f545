/**
 * Pure parsers for the /proc/<pid> files the procfs backend reads. They take the raw bytes
 * and never throw on odd content: a comm may hold ')' , newlines or invalid UTF-8, a
 * cmdline may lack NULs, any field may be missing on a racing read.
 */

export interface StatFields {
  pid: number;
  /** Raw comm bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  comm: string;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  ttyNr: number;
  flags: number;
  /** Clock ticks since boot (field 22). */
  startTicks: bigint;
  /** Size of the argv area (arg_end - arg_start), when stat shows it. */
  argBytes?: number;
}

/** PF_KTHREAD from include/linux/sched.h: the task is a kernel thread. */
export const PF_KTHREAD = 0x00200000;

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * /proc/<pid>/stat is "pid (comm) state ppid ...". comm may contain spaces and ')', so the
 * fields start after the LAST ')' in the buffer.
 */
export function parseStat(buf: Buffer): StatFields | undefined {
  const open = buf.indexOf(0x28); // '('
  const close = buf.lastIndexOf(0x29); // ')'
  if (open < 0 || close < open) return undefined;
  const pid = Number(buf.subarray(0, open).toString('latin1').trim());
  const comm = decoder.decode(buf.subarray(open + 1, close));
  const rest = buf.subarray(close + 1).toString('latin1').trim().split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest.length < 20 || !Number.isInteger(pid)) return undefined;
  const num = (i: number): number => Number(rest[i]);
  const startTicks = BigInt(/^\d+$/.test(rest[19]!) ? rest[19]! : '0');
  return {
    pid,
    comm,
    state: rest[0]!,
    ppid: num(1),
    pgid: num(2),
    sid: num(3),
    ttyNr: num(4),
    flags: num(6),
    startTicks,
    ...argArea(rest),
  };
}

/**
 * The argv area's size from arg_start and arg_end (fields 48 and 49, Linux 3.5+): what the
 * command line's length is without reading it. Zero (hidden, e.g. another user's process
 * without ptrace access) or absent means unknown.
 */
function argArea(rest: string[]): { argBytes?: number } {
  const a = Number(rest[45]);
  const b = Number(rest[46]);
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && b > a && a > 0 ? { argBytes: b - a } : {};
}

/** Only the start-time and kernel-thread facts, for the cheap per-period pass. */
export interface StatKey {
  pid: number;
  startTicks: bigint;
  kernelThread: boolean;
}

export function parseStatKey(buf: Buffer, pid: number): StatKey | undefined {
  const close = buf.lastIndexOf(0x29);
  if (close < 0) return undefined;
  const rest = buf.subarray(close + 2, Math.min(buf.length, close + 600)).toString('latin1').split(' ');
  if (rest.length < 20 || !/^\d+$/.test(rest[19]!)) return undefined;
  const flags = Number(rest[6]);
  const ppid = Number(rest[1]);
  return { pid, startTicks: BigInt(rest[19]!), kernelThread: isKernelThread(pid, ppid, flags) };
}

/** Kernel threads: the PF_KTHREAD flag, kthreadd itself (pid 2) or its children. */
export function isKernelThread(pid: number, ppid: number, flags: number): boolean {
  return (flags & PF_KTHREAD) !== 0 || pid === 2 || ppid === 2;
}

export interface StatusFields {
  uid?: [number, number, number, number];
  gid?: [number, number, number, number];
  capInh?: bigint;
  capPrm?: bigint;
  capEff?: bigint;
  capBnd?: bigint;
  capAmb?: bigint;
  /** Pid in each pid namespace from the outermost to the process's own. */
  nsPid?: number[];
  groups?: number[];
}

function ids(value: string): [number, number, number, number] | undefined {
  const parts = value.trim().split(/\s+/).map(Number);
  if (parts.length < 4 || parts.some((n) => !Number.isInteger(n))) return undefined;
  return [parts[0]!, parts[1]!, parts[2]!, parts[3]!];
}

function hexMask(value: string): bigint | undefined {
  const v = value.trim();
  return /^[0-9a-fA-F]+$/.test(v) ? BigInt(`0x${v}`) : undefined;
}

/** /proc/<pid>/status: "Key:\tvalue" lines; only the keys we use are read. */
export function parseStatus(text: string): StatusFields {
  const out: StatusFields = {};
  // The Name: line holds an escaped comm and comes first; everything we need follows it,
  // so splitting is safe even for odd names (newlines in comm are escaped as \n here).
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    switch (key) {
      case 'Uid': { const v = ids(value); if (v) out.uid = v; break; }
      case 'Gid': { const v = ids(value); if (v) out.gid = v; break; }
      case 'CapInh': { const v = hexMask(value); if (v !== undefined) out.capInh = v; break; }
      case 'CapPrm': { const v = hexMask(value); if (v !== undefined) out.capPrm = v; break; }
      case 'CapEff': { const v = hexMask(value); if (v !== undefined) out.capEff = v; break; }
      case 'CapBnd': { const v = hexMask(value); if (v !== undefined) out.capBnd = v; break; }
      case 'CapAmb': { const v = hexMask(value); if (v !== undefined) out.capAmb = v; break; }
      case 'NSpid': {
        const v = value.trim().split(/\s+/).filter((s) => s !== '').map(Number);
        if (v.length > 0 && v.every(Number.isInteger)) out.nsPid = v;
        break;
      }
      case 'Groups': {
        const v = value.trim().split(/\s+/).filter((s) => s !== '').map(Number);
        if (v.every(Number.isInteger)) out.groups = v;
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/**
 * /proc/<pid>/cmdline: NUL-separated argv. A process that rewrote its argv area (a process
 * title) may leave no NUL at all; then the whole text is one argument.
 */
export function parseCmdline(buf: Buffer): string[] {
  if (buf.length === 0) return [];
  let end = buf.length;
  if (buf[end - 1] === 0) end -= 1;
  const args: string[] = [];
  let start = 0;
  for (;;) {
    const nul = buf.indexOf(0, start);
    if (nul < 0 || nul >= end) {
      args.push(decoder.decode(buf.subarray(start, end)));
      break;
    }
    args.push(decoder.decode(buf.subarray(start, nul)));
    start = nul + 1;
  }
  return args;
}

/** "mnt:[4026531841]" -> 4026531841 */
export function parseNsLink(link: string): number | undefined {
  const m = /\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/**
 * /proc/<pid>/cgroup: the unified (v2) hierarchy line "0::/path" when present, else the
 * path of the first v1 line.
 */
export function parseCgroup(text: string): string | undefined {
  let first: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1);
    if (line.startsWith('0::')) return path;
    first ??= path;
  }
  return first;
}

/** tty_nr packs major in bits 8-15 and minor in bits 0-7 plus 20-31. */
export function decodeTtyNr(ttyNr: number): { major: number; minor: number } {
  const major = (ttyNr >>> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00);
  return { major, minor };
}

export interface ExeLink {
  path: string;
  unlinked: boolean;
  fromMemfd: boolean;
}

/** readlink(/proc/<pid>/exe) appends " (deleted)" for an unlinked file; memfds read "/memfd:name". */
export function parseExeLink(link: string): ExeLink {
  const deleted = link.endsWith(' (deleted)');
  const path = deleted ? link.slice(0, -' (deleted)'.length) : link;
  return { path, unlinked: deleted, fromMemfd: path.startsWith('/memfd:') };
}
