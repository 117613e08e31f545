import type { BigIntStats } from 'node:fs';
import type { FileIdentity } from './types.js';

/**
 * The metadata that decides whether a cached hash still describes a file: device, inode,
 * size, mode, link count, owner, and the modification and status-change times in
 * nanoseconds. Never atime: reading a file (which hashing does) must not invalidate it.
 * Any write changes mtime; any chmod/chown/link/unlink/rename/utimes changes ctime.
 */
export function versionKey(st: BigIntStats): string {
  return [st.dev, st.ino, st.size, st.mode, st.nlink, st.uid, st.gid, st.mtimeNs, st.ctimeNs].join(':');
}

/** versionKey of a file as the kernel reported it at exec: equal to the stat's while the file is unchanged. */
export function identityVersionKey(id: FileIdentity): string {
  return [id.dev, id.ino, id.size, id.mode, id.nlink, id.uid, id.gid, id.mtimeNs, id.ctimeNs].join(':');
}

/**
 * Node's fs errors read `ENOENT: no such file or directory, open '/x'`; Auditbeat's read
 * `open /x: no such file or directory`. Keep the Go form so messages match the reference.
 */
export function fsErrorText(err: unknown, syscall: string, path: string): string {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string') {
      const m = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message);
      const description = m?.[1] ?? e.code;
      return `${e.syscall ?? syscall} ${path}: ${description}`;
    }
    return `${syscall} ${path}: ${e.message}`;
  }
  return `${syscall} ${path}: ${String(err)}`;
}

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}
