import { closeSync, openSync, readSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { BeatEvent } from '../../api/event.js';
import { lookup } from '../fields.js';
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

  constructor(private readonly s: DockerMetadataSettings) {
    this.pidCache = s.matchPids.length > 0 ? new LRUCache({ max: PID_CACHE_ENTRIES }) : undefined;
  }

  idOf(event: BeatEvent): string | undefined {
    const fields = event.fields;
    // procbeat's own documents: container.id is set from the cgroup; the common case is one property read.
    for (let i = 0; i < this.s.matchFields.length; i++) {
      const r = lookup(fields, this.s.matchFields[i]!);
      if (r.found && typeof r.value === 'string' && this.isId(r.value)) return r.value;
    }
    if (this.s.matchSource) {
      const r = lookup(fields, 'log.file.path');
      if (r.found && typeof r.value === 'string') {
        const part = r.value.split('/').filter((p) => p !== '')[this.s.matchSourceIndex];
        if (part !== undefined && this.isId(part)) return part;
      }
    }
    if (this.pidCache !== undefined) {
      for (const f of this.s.matchPids) {
        const r = lookup(fields, f);
        if (r.found && typeof r.value === 'number' && Number.isInteger(r.value) && r.value > 0) {
          const id = this.idOfPid(r.value);
          if (id !== undefined) return id;
        }
      }
    }
    return undefined;
  }

  private isId(v: string): boolean {
    return CONTAINER_ID.test(v) || (this.s.matchShortId && SHORT_ID.test(v));
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
