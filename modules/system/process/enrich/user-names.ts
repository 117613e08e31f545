/**
 * uid/gid -> name, as the system's name service resolves it (files, LDAP, SSSD,
 * extrausers ...), with bounded caches. /etc/passwd and /etc/group are read synchronously
 * (local and fast); an id they lack is asked of the name service through libc on a native
 * thread. That answer is not waited for: the event goes out without the name (counted in
 * `system.process.names.*`) and later events of that id carry it. Unknown ids are cached
 * too, so a container's foreign uids cost one lookup per TTL, not one per event.
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { MetricsNamespace } from '../../../../core/api/metrics.js';
import { nameServiceLookup } from '../libc.js';

export interface NameResolver {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
}

/** The name service as the resolver sees it: the name, undefined for no such id, a throw when it failed. */
export type NameServiceLookup = (kind: 'user' | 'group', id: number) => Promise<string | undefined>;

export interface UserNamesOptions {
  passwdPath?: string;
  groupPath?: string;
  maxEntries?: number;
  ttlMs?: number;
  /** Asked for ids the files lack; false: files only. Default: libc's getpwuid_r / getgrgid_r. */
  nameService?: NameServiceLookup | false;
  /** Name-service lookups running at once; more ids wait for a later event. Default 8. */
  maxPending?: number;
  /** Counters `names.*` (lookups, resolved, unknown, failed, pending_shipped, deferred). */
  metrics?: MetricsNamespace;
}

const MISS = '\u0000';
const PENDING = '\u0001';

function lookupFile(path: string, id: number): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return MISS;
  }
  const want = String(id);
  for (const line of text.split('\n')) {
    // name:password:id:...
    const a = line.indexOf(':');
    if (a <= 0) continue;
    const b = line.indexOf(':', a + 1);
    if (b < 0) continue;
    const c = line.indexOf(':', b + 1);
    const field = line.slice(b + 1, c < 0 ? undefined : c);
    if (field === want) return line.slice(0, a);
  }
  return MISS;
}

export class UserNames implements NameResolver {
  private readonly users: LRUCache<number, string>;
  private readonly groups: LRUCache<number, string>;
  private readonly passwdPath: string;
  private readonly groupPath: string;
  private readonly nameService: NameServiceLookup | undefined;
  private readonly maxPending: number;
  private readonly metrics: MetricsNamespace | undefined;
  private pending = 0;
  private readonly inflight = new Set<Promise<void>>();

  constructor(opts: UserNamesOptions = {}) {
    const max = opts.maxEntries ?? 1024;
    const ttl = opts.ttlMs ?? 5 * 60_000;
    this.users = new LRUCache({ max, ttl });
    this.groups = new LRUCache({ max, ttl });
    this.passwdPath = opts.passwdPath ?? '/etc/passwd';
    this.groupPath = opts.groupPath ?? '/etc/group';
    this.nameService = opts.nameService === false ? undefined : opts.nameService ?? nameServiceLookup;
    this.maxPending = opts.maxPending ?? 8;
    this.metrics = opts.metrics;
    for (const k of ['lookups', 'resolved', 'unknown', 'failed', 'pending_shipped', 'deferred']) this.metrics?.inc(`names.${k}`, 0);
  }

  userName(uid: number): string | undefined {
    return this.resolve(this.users, this.passwdPath, 'user', uid);
  }

  groupName(gid: number): string | undefined {
    return this.resolve(this.groups, this.groupPath, 'group', gid);
  }

  /** Resolves when every name-service lookup started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private resolve(cache: LRUCache<number, string>, path: string, kind: 'user' | 'group', id: number): string | undefined {
    let name = cache.get(id);
    if (name === undefined) {
      name = lookupFile(path, id);
      if (name === MISS && this.nameService !== undefined) name = this.ask(cache, kind, id);
      if (name !== PENDING) cache.set(id, name);
    }
    if (name === PENDING) {
      this.metrics?.inc('names.pending_shipped');
      return undefined;
    }
    return name === MISS ? undefined : name;
  }

  /** Starts a name-service lookup unless too many are running; PENDING until it answers. */
  private ask(cache: LRUCache<number, string>, kind: 'user' | 'group', id: number): string {
    if (this.pending >= this.maxPending) {
      // Not cached: a later event asks again once a slot is free.
      this.metrics?.inc('names.deferred');
      return PENDING;
    }
    this.pending++;
    this.metrics?.inc('names.lookups');
    // The placeholder never expires on its own and lives in the same bounded LRU.
    cache.set(id, PENDING, { ttl: 0 });
    const job = this.nameService!(kind, id).then(
      (name) => {
        this.metrics?.inc(name === undefined ? 'names.unknown' : 'names.resolved');
        cache.set(id, name ?? MISS);
      },
      () => {
        // Unreachable directory: remember the miss for the TTL rather than hammer it.
        this.metrics?.inc('names.failed');
        cache.set(id, MISS);
      },
    ).finally(() => {
      this.pending--;
      this.inflight.delete(job);
    });
    this.inflight.add(job);
    return PENDING;
  }
}
