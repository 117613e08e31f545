/**
 * Privilege signals of an exec, in the spirit of Tetragon's binary_properties: whether the
 * exec raised privileges, through which mechanism, and the ids it granted.
 */
import type { Credentials, ExecutableFacts } from '../../event.js';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

export interface PrivilegeSignals {
  privilegesChanged?: boolean;
  euidGained?: number;
  egidGained?: number;
  fileCapabilities?: boolean;
  inferred?: boolean;
}

/** From what the kernel saw at the exec (kernel_tracing exec records). */
export function execPrivilegeSignals(exe: ExecutableFacts, creds: Credentials | undefined): PrivilegeSignals | undefined {
  if (exe.setuid === undefined && exe.setgid === undefined && exe.privilegesChanged === undefined) return undefined;
  const setuid = exe.setuid === true;
  const setgid = exe.setgid === true;
  const out: PrivilegeSignals = { privilegesChanged: exe.privilegesChanged ?? (setuid || setgid) };
  if (setuid && creds !== undefined) out.euidGained = creds.euid;
  if (setgid && creds !== undefined) out.egidGained = creds.egid;
  // The kernel changed privileges but not through a set-id bit: file capabilities.
  if (exe.privilegesChanged !== undefined) out.fileCapabilities = exe.privilegesChanged && !setuid && !setgid;
  return out;
}

/**
 * procfs sees no exec, only its result: a set-user-ID file whose owner is the process's
 * effective (or saved) user while the real user is someone else was run with that bit.
 * The same for set-group-ID. Marked `inferred`.
 */
export function inferredPrivilegeSignals(
  exe: ExecutableFacts, creds: Credentials | undefined,
): { setuid: boolean; setgid: boolean; signals: PrivilegeSignals } | undefined {
  if (creds === undefined || exe.mode === undefined || exe.uid === undefined || exe.gid === undefined) return undefined;
  const setuid = (exe.mode & S_ISUID) !== 0 && creds.uid !== exe.uid && (creds.euid === exe.uid || creds.suid === exe.uid);
  const setgid = (exe.mode & S_ISGID) !== 0 && creds.gid !== exe.gid && (creds.egid === exe.gid || creds.sgid === exe.gid);
  const signals: PrivilegeSignals = { privilegesChanged: setuid || setgid, inferred: true };
  if (setuid) signals.euidGained = exe.uid;
  if (setgid) signals.egidGained = exe.gid;
  return { setuid, setgid, signals };
}
