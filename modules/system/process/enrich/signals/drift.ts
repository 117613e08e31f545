/**
 * Drift signals (Falco's "recently dropped or modified binary"): how long before the exec the
 * executable's inode changed (ctime: written, chmod'ed, chown'ed, renamed into place) or its
 * content changed (mtime), and whether the process's own user could have written it.
 */
import type { Credentials, ExecutableFacts } from '../../event.js';

const S_IWUSR = 0o200;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;

export interface DriftSignals {
  ctimeToExecMs?: number;
  mtimeToExecMs?: number;
  writableByUser?: boolean;
}

export function driftSignals(exe: ExecutableFacts, creds: Credentials | undefined, execTime: Date | undefined): DriftSignals {
  const out: DriftSignals = {};
  if (execTime !== undefined) {
    if (exe.ctime !== undefined) out.ctimeToExecMs = execTime.getTime() - exe.ctime.getTime();
    if (exe.mtime !== undefined) out.mtimeToExecMs = execTime.getTime() - exe.mtime.getTime();
  }
  const writable = writableByUser(exe, creds);
  if (writable !== undefined) out.writableByUser = writable;
  return out;
}

/**
 * True when the real or the effective user of the process may write the file, by the
 * permission bits as the kernel checks them: the owner class for the owner, else the
 * group class for a member of the file's group (real, effective or supplementary), else
 * the other class. uid 0 may write any file. Undefined when the facts are missing.
 */
export function writableByUser(exe: ExecutableFacts, creds: Credentials | undefined): boolean | undefined {
  if (creds === undefined || exe.mode === undefined || exe.uid === undefined || exe.gid === undefined) return undefined;
  const groups = new Set<number>([creds.gid, creds.egid, ...(creds.supplementalGids ?? [])]);
  for (const uid of new Set([creds.uid, creds.euid])) {
    if (uid === 0) return true;
    if (uid === exe.uid) {
      if ((exe.mode & S_IWUSR) !== 0) return true;
    } else if (groups.has(exe.gid)) {
      if ((exe.mode & S_IWGRP) !== 0) return true;
    } else if ((exe.mode & S_IWOTH) !== 0) {
      return true;
    }
  }
  return false;
}
