/**
 * Reads one process from /proc into the facts a ProcessEvent carries. Every file may
 * vanish under us (the process exits), be unreadable (non-root), or hold odd bytes; the
 * outcome says which, so the backend can skip, count or report.
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import type { ProcessEvent } from '../../event.js';
import { startTimeFromTicks } from './boot.js';
import {
  decodeTtyNr, parseCgroup, parseCmdline, parseExeLink, parseNsLink, parseStat, parseStatKey,
  parseStatus, isKernelThread, type StatKey,
} from './parse.js';

/** What a procfs read knows about a process: a ProcessEvent without the event part. */
export type ProcessFacts = Omit<ProcessEvent, 'action' | 'types' | 'flags' | 'time' | 'reportId'>;

export type ReadOutcome =
  | { kind: 'ok'; facts: ProcessFacts }
  | { kind: 'vanished' }
  | { kind: 'kernel_thread' }
  /** Not root and the process belongs to someone else: skipped as Auditbeat does. */
  | { kind: 'permission'; file: string; code: string };

export interface ReaderOptions {
  procRoot: string;
  bootMs: number;
  clockTicks: number;
  /** argv bytes kept; longer command lines are cut and flagged. */
  maxArgsBytes: number;
  /** Our effective uid: permission errors are expected (and skipped) only when not root. */
  euid: number;
}

export const DEFAULT_MAX_ARGS_BYTES = 1024 * 1024;

const NAMESPACES = ['pid', 'mnt', 'net', 'uts', 'ipc', 'user', 'cgroup'] as const;

function errCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'EIO';
}
const GONE = new Set(['ENOENT', 'ESRCH']);
const DENIED = new Set(['EACCES', 'EPERM']);

type Attempt<T> = { ok: true; value: T } | { ok: false; code: string; err: unknown };
function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, code: errCode(err), err };
  }
}

// Go's strerror texts (what Auditbeat's messages carry) for the errors /proc reads meet.
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', ENOENT: 'no such file or directory',
  ESRCH: 'no such process', EIO: 'input/output error', EINVAL: 'invalid argument', EISDIR: 'is a directory',
  ENOTDIR: 'not a directory', ELOOP: 'too many levels of symbolic links', ENAMETOOLONG: 'file name too long',
  ENOMEM: 'cannot allocate memory', EMFILE: 'too many open files', ENFILE: 'too many open files in system',
  EAGAIN: 'resource temporarily unavailable',
};

/** `readlink /proc/1/exe: permission denied`, as Go's os.PathError prints. */
function goPathError(err: unknown, code: string, syscall: string, path: string): string {
  const call = typeof err === 'object' && err !== null && 'syscall' in err ? String((err as { syscall: unknown }).syscall) : syscall;
  return `${call} ${path}: ${ERRNO_TEXT[code] ?? code}`;
}

/**
 * The process_error text Auditbeat's procfs provider gives for the same failure: the
 * status file feeds the user, a namespace link the hashing decision, the rest the process.
 */
function readFailure(pid: number, file: string, path: string, code: string, err: unknown, exe: string | undefined): string {
  const syscall = file === 'exe' || file === 'cwd' || file.startsWith('ns/') ? 'readlink' : 'open';
  const detail = goPathError(err, code, syscall, path);
  if (file === 'status') return `failed to load user for PID ${pid}: ${detail}`;
  if (file.startsWith('ns/')) return `failed to get namespaces for ${exe ?? ''} PID ${pid}: ${detail}`;
  return `failed to load process information for PID ${pid}: ${detail}`;
}

function failureRank(text: string): number {
  if (text.startsWith('failed to load process information')) return 0;
  return text.startsWith('failed to load user') ? 1 : 2;
}

/** Numeric entries of /proc, i.e. the thread-group leaders. */
export function listPids(procRoot = '/proc'): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(procRoot)) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

// Scratch buffers reused by every read (all reads are synchronous, so never shared by two
// reads at once): allocating per file made the garbage collector a visible cost.
const scratch = Buffer.allocUnsafe(4096);
const big = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a small /proc file whole into the shared buffer. The returned view is only valid
 * until the next read; /proc files larger than the buffer are cut (not the case for the
 * stat, status and cgroup files this is used for).
 */
function readSmall(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      const got = readSync(fd, big, n, big.length - n, null);
      if (got <= 0) break;
      n += got;
      if (n === big.length) break;
    }
    return big.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The per-period cheap read: start time and kernel-thread flag from /proc/<pid>/stat. */
export function readStatKey(pid: number, procRoot = '/proc'): StatKey | undefined {
  let fd: number;
  try {
    fd = openSync(`${procRoot}/${pid}/stat`, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, scratch, 0, scratch.length, 0);
    return parseStatKey(scratch.subarray(0, n), pid);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

interface CmdlineRead {
  args: string[];
  truncated: boolean;
  /** The whole argv area's size; undefined when cut and stat did not say (unknown). */
  totalBytes: number | undefined;
}

/**
 * Reads at most `max` bytes of argv, and one byte more to know whether it was cut. Never
 * reads to the end: any user can point its argv area at terabytes of unbacked memory
 * (prctl PR_SET_MM_MAP), and reading that would stall us for hours. The true size comes
 * from stat's arg_start/arg_end (`areaBytes`) instead.
 */
function readCmdline(path: string, max: number, areaBytes: number | undefined): CmdlineRead {
  const fd = openSync(path, 'r');
  try {
    const want = max + 1;
    // Most command lines fit the shared buffer: parse them in place, copy nothing.
    let first = 0;
    let eof = false;
    while (first < big.length && first < want) {
      const got = readSync(fd, big, first, Math.min(big.length, want) - first, null);
      if (got <= 0) { eof = true; break; }
      first += got;
    }
    if (eof) return { args: parseCmdline(big.subarray(0, first)), truncated: false, totalBytes: first };
    const chunks: Buffer[] = [Buffer.from(big.subarray(0, Math.min(first, max)))];
    let kept = Math.min(first, max);
    let seen = first;
    while (seen < want && !eof) {
      const n = readSync(fd, big, 0, Math.min(big.length, want - seen), null);
      if (n <= 0) { eof = true; break; }
      seen += n;
      if (kept < max) {
        const take = Math.min(n, max - kept);
        chunks.push(Buffer.from(big.subarray(0, take)));
        kept += take;
      }
    }
    const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, kept);
    if (seen <= max) return { args: parseCmdline(buf), truncated: false, totalBytes: seen };
    const total = areaBytes !== undefined && areaBytes > kept ? areaBytes : undefined;
    return { args: parseCmdline(buf), truncated: true, totalBytes: total };
  } finally {
    closeSync(fd);
  }
}

/** Full read of one process, for new processes and state reports. */
export function readProcess(pid: number, opts: ReaderOptions): ReadOutcome {
  const dir = `${opts.procRoot}/${pid}`;
  const statRead = attempt(() => readSmall(`${dir}/stat`));
  if (!statRead.ok) {
    if (DENIED.has(statRead.code) && opts.euid !== 0) return { kind: 'permission', file: 'stat', code: statRead.code };
    return { kind: 'vanished' };
  }
  const stat = parseStat(statRead.value);
  // An empty or cut stat only happens when the task is being torn down.
  if (!stat) return { kind: 'vanished' };
  if (isKernelThread(stat.pid, stat.ppid, stat.flags)) return { kind: 'kernel_thread' };

  const errors: string[] = [];
  let sawGone = false;
  let denied: { file: string; code: string } | undefined;
  const note = (file: string, code: string, err: unknown): void => {
    if (GONE.has(code)) sawGone = true;
    else if (DENIED.has(code)) {
      denied ??= { file, code };
      if (opts.euid === 0) errors.push(readFailure(pid, file, `${dir}/${file}`, code, err, facts.executable));
    } else errors.push(readFailure(pid, file, `${dir}/${file}`, code, err, facts.executable));
  };

  const start = startTimeFromTicks(stat.startTicks, opts.bootMs, opts.clockTicks);
  const facts: ProcessFacts = {
    backend: 'procfs',
    pid,
    ppid: stat.ppid,
    pgid: stat.pgid,
    sid: stat.sid,
    name: stat.comm,
    start: start.wall,
    startBootNs: start.bootNs,
    tty: decodeTtyNr(stat.ttyNr),
    complete: true,
  };

  // latin1: only numeric lines are used, and it decodes without allocating a UTF-8 view.
  const status = attempt(() => readSmall(`${dir}/status`).toString('latin1'));
  if (status.ok) {
    const s = parseStatus(status.value);
    if (s.uid && s.gid) {
      facts.creds = {
        uid: s.uid[0], euid: s.uid[1], suid: s.uid[2], fsuid: s.uid[3],
        gid: s.gid[0], egid: s.gid[1], sgid: s.gid[2], fsgid: s.gid[3],
        ...(s.groups ? { supplementalGids: s.groups } : {}),
      };
    }
    if (s.capEff !== undefined && s.capPrm !== undefined) {
      facts.caps = {
        effective: s.capEff,
        permitted: s.capPrm,
        ...(s.capInh !== undefined ? { inheritable: s.capInh } : {}),
        ...(s.capBnd !== undefined ? { bounding: s.capBnd } : {}),
        ...(s.capAmb !== undefined ? { ambient: s.capAmb } : {}),
      };
    }
    if (s.nsPid && s.nsPid.length > 0) facts.vpid = s.nsPid[s.nsPid.length - 1]!;
  } else note('status', status.code, status.err);

  const cmd = attempt(() => readCmdline(`${dir}/cmdline`, opts.maxArgsBytes, stat.argBytes));
  if (cmd.ok) {
    if (cmd.value.args.length > 0) {
      facts.args = cmd.value.args;
      if (cmd.value.truncated) {
        facts.argsTruncated = true;
        if (cmd.value.totalBytes !== undefined) facts.argsOriginalBytes = cmd.value.totalBytes;
      }
    }
  } else note('cmdline', cmd.code, cmd.err);

  const exe = attempt(() => readlinkSync(`${dir}/exe`));
  if (exe.ok) {
    const link = parseExeLink(exe.value);
    facts.executable = link.path;
    if (link.unlinked || link.fromMemfd) facts.exe = { unlinked: link.unlinked, fromMemfd: link.fromMemfd };
  } else note('exe', exe.code, exe.err);

  const cwd = attempt(() => readlinkSync(`${dir}/cwd`));
  if (cwd.ok) facts.cwd = cwd.value;
  else note('cwd', cwd.code, cwd.err);

  const namespaces: NonNullable<ProcessFacts['namespaces']> = {};
  for (const ns of NAMESPACES) {
    const link = attempt(() => readlinkSync(`${dir}/ns/${ns}`));
    if (link.ok) {
      const inode = parseNsLink(link.value);
      if (inode !== undefined) namespaces[ns] = inode;
    } else if (!GONE.has(link.code)) {
      note(`ns/${ns}`, link.code, link.err);
      break; // one report is enough; the others fail the same way
    } else sawGone = true;
  }
  if (Object.keys(namespaces).length > 0) facts.namespaces = namespaces;

  const cg = attempt(() => readSmall(`${dir}/cgroup`).toString('utf8'));
  if (cg.ok) {
    const path = parseCgroup(cg.value);
    if (path !== undefined) facts.cgroup = path;
  } else note('cgroup', cg.code, cg.err);

  if (denied && opts.euid !== 0) return { kind: 'permission', ...denied };

  if (sawGone) {
    // Either it exited while we read (drop it), or it is a zombie / exiting task whose
    // mm and fs are already gone (keep what we have). The same start time tells them apart.
    const again = readStatKey(pid, opts.procRoot);
    if (!again || again.startTicks !== stat.startTicks) return { kind: 'vanished' };
  }
  // Auditbeat reports the process information failure first, then the user, then namespaces.
  if (errors.length > 0) facts.errors = errors.sort((a, b) => failureRank(a) - failureRank(b));
  return { kind: 'ok', facts };
}

