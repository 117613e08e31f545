import { closeSync, openSync, readSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { BeatEvent, FieldValue, Fields } from '../../api/event.js';
import type { DockerMetadataSettings } from './settings.js';

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const SHORT_ID = /^[0-9a-f]{12}$/;
/** /proc/<pid>/cgroup lines are short; a bigger file is read only this far. */
const CGROUP_READ_BYTES = 16 * 1024;
const PID_CACHE_ENTRIES = 4096;

/**
 * Finds the container id an event belongs to, in beats' order: `match_fields`, then the
 * `log.file.path` component (`match_source`), then the cgroup of a pid (`match_pids`).
 * The first two are field reads; a pid costs one capped /proc read the first time it is seen.
 */
export class ContainerMatcher {
  private readonly pidCache: LRUCache<number, string | typeof NONE> | undefined;
  private readonly idPaths: string[][];
  private readonly pidPaths: string[][];
  private static readonly SOURCE_PATH = ['log', 'file', 'path'];

  constructor(private readonly s: DockerMetadataSettings) {
    this.pidCache = s.matchPids.length > 0 ? new LRUCache({ max: PID_CACHE_ENTRIES }) : undefined;
    // Split once: the per-event work is a walk of a few properties.
    this.idPaths = s.matchFields.map((f) => f.split('.'));
    this.pidPaths = s.matchPids.map((f) => f.split('.'));
  }

  idOf(event: BeatEvent): string | undefined {
    const fields = event.fields;
    // procbeat's own documents: container.id is set from the cgroup; the common case is one property read.
    for (let i = 0; i < this.idPaths.length; i++) {
      const v = at(fields, this.idPaths[i]!);
      if (typeof v === 'string' && this.isId(v)) return v;
    }
    if (this.s.matchSource) {
      const v = at(fields, ContainerMatcher.SOURCE_PATH);
      if (typeof v === 'string') {
        const part = v.split('/').filter((p) => p !== '')[this.s.matchSourceIndex];
        if (part !== undefined && this.wellFormed(part)) return part;
      }
    }
    if (this.pidCache !== undefined) {
      for (const path of this.pidPaths) {
        const v = at(fields, path);
        if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
          const id = this.idOfPid(v);
          if (id !== undefined) return id;
        }
      }
    }
    return undefined;
  }

  /** By length only: a cache hit needs no more; a miss is checked with wellFormed() before any lookup. */
  private isId(v: string): boolean {
    return v.length === 64 || (this.s.matchShortId && v.length === 12);
  }

  /** Hex of the right length: worth asking the daemon about. */
  wellFormed(id: string): boolean {
    return CONTAINER_ID.test(id) || (this.s.matchShortId && SHORT_ID.test(id));
  }

  private idOfPid(pid: number): string | undefined {
    const cached = this.pidCache!.get(pid);
    if (cached !== undefined) return cached === NONE ? undefined : cached;
    const id = containerIdOfCgroupFile(`/proc/${pid}/cgroup`);
    this.pidCache!.set(pid, id ?? NONE);
    return id;
  }
}

const NONE = '' as const;

function at(fields: Fields, parts: readonly string[]): FieldValue | undefined {
  let cur: FieldValue | undefined = fields;
  for (let i = 0; i < parts.length; i++) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = cur[parts[i]!];
  }
  return cur;
}

/** The innermost 64-hex component of any cgroup path in the file (how every runtime names its cgroups). */
export function containerIdOfCgroupFile(path: string): string | undefined {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(CGROUP_READ_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    text = buf.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  for (const line of text.split('\n')) {
    const parts = line.split(':').slice(2).join(':').split('/');
    for (let i = parts.length - 1; i >= 0; i--) {
      const m = /([0-9a-f]{64})(?:\.scope)?$/.exec(parts[i]!);
      if (m !== null) return m[1];
    }
  }
  return undefined;
}
