/**
 * What the process table keeps about one process (one pid generation): the latest facts any
 * event told, plus the relations found so far. Facts are merged, never blanked: an event
 * that does not carry a field leaves the known value in place.
 */
import type { Credentials, EntryLeaderType, ExecutableFacts, ProcessEvent, RelatedMemo, RelatedProcess } from '../../event.js';

export interface EntryRef {
  leader: Known;
  type: EntryLeaderType;
  sourceIp?: string;
  /** The source address is looked for once per entry leader. */
  sourceTried?: boolean;
}

export interface Known {
  pid: number;
  ppid?: number;
  vpid?: number;
  pgid?: number;
  sid?: number;
  startBootNs?: bigint;
  start?: Date;
  name?: string;
  executable?: string;
  args?: string[];
  cwd?: string;
  creds?: Credentials;
  tty?: { major: number; minor: number };
  pidNs?: number;
  pidnsInitStart?: Date;
  cgroup?: string;
  exe?: ExecutableFacts;
  execTime?: Date;
  /** performance.now() of the exit, when seen; the entry then lives for the grace time. */
  exitedAt?: number;
  /** The generation that held this pid before, kept for late events about it. */
  older?: Known;
  /**
   * Relations found earlier, each valid while the id it was found for is unchanged (a
   * process changes its pgid or sid only by setpgid/setsid, its ppid when reparented).
   */
  parentRef?: { pid: number; known: Known };
  groupRef?: { pid: number; known: Known };
  sessionRef?: { pid: number; known: Known };
  entry?: EntryRef;
  /** What its children's documents derive from it (redacted args, entity id), made once. */
  memo: RelatedMemo;
  /** Re-read from /proc once after a child showed up (procfs; see ProcessTable.refresh). */
  refreshed?: boolean;
  /** Rough bytes held, for the table's memory bound. */
  size: number;
}

/** The facts of an event (or a lookup answer) as a new table entry. */
export function knownFromEvent(ev: ProcessEvent): Known {
  const k: Known = { pid: ev.pid, size: 0, memo: {} };
  mergeEvent(k, ev);
  return k;
}

/** Copies every fact the event carries onto the entry. */
export function mergeEvent(k: Known, ev: ProcessEvent): void {
  if (ev.ppid !== undefined) k.ppid = ev.ppid;
  if (ev.vpid !== undefined) k.vpid = ev.vpid;
  if (ev.pgid !== undefined) k.pgid = ev.pgid;
  if (ev.sid !== undefined) k.sid = ev.sid;
  if (ev.startBootNs !== undefined) k.startBootNs = ev.startBootNs;
  if (ev.start !== undefined) k.start = ev.start;
  if (ev.name !== '') k.name = ev.name;
  if (ev.executable !== undefined) k.executable = ev.executable;
  if (ev.args !== undefined) k.args = ev.args;
  if (ev.cwd !== undefined) k.cwd = ev.cwd;
  if (ev.creds !== undefined) k.creds = ev.creds;
  if (ev.tty !== undefined) k.tty = ev.tty;
  if (ev.namespaces?.pid !== undefined) k.pidNs = ev.namespaces.pid;
  if (ev.pidnsInitStart !== undefined) k.pidnsInitStart = ev.pidnsInitStart;
  if (ev.cgroup !== undefined) k.cgroup = ev.cgroup;
  if (ev.exe !== undefined) {
    // A new image replaces the file facts; another event about the same image adds to them.
    k.exe = ev.flags.exec ? { ...ev.exe } : { ...k.exe, ...ev.exe };
  }
  if (ev.execTime !== undefined) k.execTime = ev.execTime;
  k.size = sizeOf(k);
}

function sizeOf(k: Known): number {
  let n = 400;
  for (const a of k.args ?? []) n += a.length + 16;
  n += (k.executable?.length ?? 0) + (k.cwd?.length ?? 0) + (k.cgroup?.length ?? 0) + (k.name?.length ?? 0);
  return n;
}

/** The ProcessEvent view of an entry, for the ECS `process.parent` / leader fields. */
export function relatedOf(k: Known, parent?: Known): RelatedProcess {
  const r: RelatedProcess = { pid: k.pid, memo: k.memo };
  if (k.vpid !== undefined) r.vpid = k.vpid;
  if (k.startBootNs !== undefined) r.startBootNs = k.startBootNs;
  if (k.start !== undefined) r.start = k.start;
  if (k.name !== undefined) r.name = k.name;
  if (k.executable !== undefined) r.executable = k.executable;
  if (k.args !== undefined) r.args = k.args;
  if (k.cwd !== undefined) r.cwd = k.cwd;
  if (k.creds !== undefined) r.creds = k.creds;
  if (k.tty !== undefined) r.tty = k.tty;
  if (parent !== undefined) {
    r.parent = { pid: parent.pid, memo: parent.memo };
    if (parent.vpid !== undefined) r.parent.vpid = parent.vpid;
    if (parent.startBootNs !== undefined) r.parent.startBootNs = parent.startBootNs;
    if (parent.start !== undefined) r.parent.start = parent.start;
  } else if (k.ppid !== undefined && k.ppid !== 0) {
    r.parent = { pid: k.ppid };
  }
  return r;
}

/** The last path component of the executable (else the comm): what the entry rules match on. */
export function programName(k: Known): string {
  const exe = k.executable;
  if (exe !== undefined && exe !== '') {
    const slash = exe.lastIndexOf('/');
    return slash >= 0 ? exe.slice(slash + 1) : exe;
  }
  return k.name ?? '';
}
