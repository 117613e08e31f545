/**
 * Facts about the executable file that a backend did not give.
 *
 * - procfs: a stat of /proc/<pid>/exe, which follows the kernel's reference to the very
 *   inode being executed (also when the path was deleted or replaced, and for a memfd),
 *   checked to belong to the same process (pid + start) afterwards.
 * - kernel_tracing records carry inode, times and mode; when an event lacks the owner
 *   (exe_uid / exe_gid), the file is stat'ed by path and used only if it is the same inode.
 *   Answers are cached per file version (dev, inode, ctime).
 */
import { statSync, type BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { ExecutableFacts, ProcessEvent } from '../../event.js';
import { sameProcessAlive } from '../lineage/proc-lookup.js';

const NS_PER_MS = 1_000_000n;

function factsOf(st: BigIntStats): ExecutableFacts {
  return {
    dev: Number(st.dev),
    inode: Number(st.ino),
    nlink: Number(st.nlink),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    ctime: new Date(Number(st.ctimeNs / NS_PER_MS)),
    mtime: new Date(Number(st.mtimeNs / NS_PER_MS)),
  };
}

/** The running image's file facts, while `pid` is still the process that started at `startBootNs`. */
export function statRunningExe(pid: number, startBootNs: bigint | undefined, procRoot = '/proc'): ExecutableFacts | undefined {
  let st: BigIntStats;
  try {
    st = statSync(`${procRoot}/${pid}/exe`, { bigint: true });
  } catch {
    return undefined;
  }
  // The pid may have been reused between the event and the stat.
  return sameProcessAlive(pid, startBootNs, procRoot) ? factsOf(st) : undefined;
}

export class ExeOwnerCache {
  private readonly cache = new LRUCache<string, { uid: number; gid: number; size: number }>({ max: 4096 });

  /** Owner, group and size for a kernel event's executable, when the file at its path is that inode. */
  ownerOf(ev: ProcessEvent): { uid: number; gid: number; size: number } | undefined {
    const x = ev.exe;
    if (x?.inode === undefined) return undefined;
    const key = `${x.dev ?? ''}:${x.inode}:${x.ctime?.getTime() ?? ''}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const candidates: string[] = [];
    if (ev.exit === undefined) candidates.push(`/proc/${ev.pid}/exe`);
    if (ev.executable?.startsWith('/') && !x.fromMemfd) candidates.push(ev.executable);
    for (const path of candidates) {
      let st: BigIntStats;
      try {
        st = statSync(path, { bigint: true });
      } catch {
        continue;
      }
      if (Number(st.ino) !== x.inode || (x.dev !== undefined && Number(st.dev) !== x.dev)) continue;
      const owner = { uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size) };
      this.cache.set(key, owner);
      return owner;
    }
    return undefined;
  }
}
