/**
 * One quark-ffi record -> one ProcessEvent, carrying every field the record has. Fields
 * the record does not know stay absent (the ECS mapping then leaves them out).
 */
import type { ProcessRecord } from '../../../../../quark-ffi/ts/record.js';
import type { ExecutableFacts, ExitInfo, ProcessEvent } from '../../event.js';
import { actionFromFlags } from './actions.js';

const NS_PER_MS = 1_000_000n;

/** A boot-clock ns value as a wall-clock Date, using the batch's boot time. */
export function bootNsToDate(bootNs: bigint, bootWallNs: bigint): Date {
  return new Date(Number((bootWallNs + bootNs) / NS_PER_MS));
}

function epochNsToDate(ns: bigint): Date {
  return new Date(Number(ns / NS_PER_MS));
}

/**
 * The start time floored to a clock tick: snapshot records and the procfs backend only know
 * it in ticks, and entity ids must be the same for a process whichever source reported it.
 */
export function startTickNs(startNs: bigint, ticksPerSecond: number): bigint {
  const tickNs = 1_000_000_000n / BigInt(ticksPerSecond);
  return (startNs / tickNs) * tickNs;
}

/** glibc's makedev(): the st_dev number `stat` shows for a major/minor pair. */
export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) * 256) + (minor & 0xff) + ((minor & ~0xff) >>> 0) * 4096
    + Math.floor(major / 4096) * 2 ** 44;
}

function eventTime(rec: ProcessRecord): Date {
  const ns = rec.exit?.timeNs ?? rec.execTimeNs ?? rec.forkTimeNs;
  return ns !== undefined && ns !== 0n ? bootNsToDate(ns, rec.bootWallNs) : new Date();
}

function exitInfo(rec: ProcessRecord): ExitInfo | undefined {
  const x = rec.exit;
  if (!x) return undefined;
  const time = x.timeNs !== 0n ? bootNsToDate(x.timeNs, rec.bootWallNs) : eventTime(rec);
  if (x.signal !== 0) {
    return { code: 128 + x.signal, signal: x.signal, coreDumped: rec.flags.coreDumped, rawStatus: x.status, time };
  }
  return { code: x.code, rawStatus: x.status, time };
}

function executableFacts(rec: ProcessRecord): ExecutableFacts | undefined {
  const f = rec.exeFile;
  const p = rec.execPriv;
  if (!f && !p) return undefined;
  const out: ExecutableFacts = {};
  if (f) {
    out.dev = makedev(f.devMajor, f.devMinor);
    out.inode = Number(f.ino);
    out.nlink = f.nlink;
    out.mode = f.mode;
    out.ctime = epochNsToDate(f.ctimeNs);
    out.mtime = epochNsToDate(f.mtimeNs);
    out.ctimeNs = f.ctimeNs;
    out.mtimeNs = f.mtimeNs;
    out.fromMemfd = f.memfd;
    out.unlinked = f.unlinked;
    out.uid = f.uid;
    out.gid = f.gid;
    out.size = Number(f.size);
  }
  if (p) {
    out.setuid = p.setuid;
    out.setgid = p.setgid;
    out.privilegesChanged = p.privChanged;
  }
  return out;
}

/** Returns undefined for a record without a pid (the library marks its ids unknown). */
export function recordToProcessEvent(rec: ProcessRecord, ticksPerSecond: number): ProcessEvent | undefined {
  const ids = rec.ids;
  if (!ids) return undefined;
  const flags = {
    snapshot: rec.flags.snapshot, fork: rec.flags.fork, exec: rec.flags.exec, exit: rec.flags.exit,
  };
  const { action, types } = actionFromFlags(flags);
  const ev: ProcessEvent = {
    backend: 'kernel_tracing',
    action,
    types,
    flags,
    time: eventTime(rec),
    pid: ids.pid,
    tid: ids.tid,
    ppid: ids.ppid,
    vpid: ids.vpid,
    pgid: ids.pgid,
    sid: ids.sid,
    name: rec.comm?.value ?? '',
    complete: rec.flags.complete,
  };
  if (ids.startNs !== 0n) {
    // Both floored to the clock tick /proc knows, so process.start (not only entity_id)
    // is the same whichever backend saw the process.
    ev.startBootNs = startTickNs(ids.startNs, ticksPerSecond);
    ev.start = bootNsToDate(ev.startBootNs, rec.bootWallNs);
  }
  if (rec.oldPid !== undefined) ev.oldPid = rec.oldPid;
  if (rec.execTimeNs !== undefined && rec.execTimeNs !== 0n) ev.execTime = bootNsToDate(rec.execTimeNs, rec.bootWallNs);
  if (rec.exe) ev.executable = rec.exe.value;
  if (rec.argv) {
    ev.args = rec.argv.args;
    if (rec.argv.truncated) {
      ev.argsTruncated = true;
      ev.argsOriginalBytes = rec.argv.originalLength;
    }
  }
  if (rec.cwd) ev.cwd = rec.cwd.value;
  if (rec.creds) ev.creds = { ...rec.creds };
  if (rec.caps) ev.caps = { ...rec.caps };
  if (rec.tty) ev.tty = { ...rec.tty };
  const exit = exitInfo(rec);
  if (exit) ev.exit = exit;
  if (rec.cgroup) ev.cgroup = rec.cgroup.value;
  if (rec.namespaces) ev.namespaces = { ...rec.namespaces };
  const exe = executableFacts(rec);
  if (exe) ev.exe = exe;
  if (rec.pidnsInitStartNs !== undefined && rec.pidnsInitStartNs !== 0n) {
    // The start of that init process: floored like every process.start.
    ev.pidnsInitStart = bootNsToDate(startTickNs(rec.pidnsInitStartNs, ticksPerSecond), rec.bootWallNs);
  }
  if (rec.previous.length > 0) {
    ev.previous = rec.previous.map((img) => ({
      ...(img.exe ? { executable: img.exe.value } : {}),
      ...(img.argv ? { args: img.argv.args } : {}),
    }));
  }
  return ev;
}

/** Kernel threads are pid 2 (kthreadd) and its children, as Auditbeat filters them. */
export function isKernelThread(ev: Pick<ProcessEvent, 'pid' | 'ppid'>): boolean {
  return ev.pid === 2 || ev.ppid === 2;
}
