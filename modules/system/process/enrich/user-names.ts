/**
 * uid/gid -> name from /etc/passwd and /etc/group, with a bounded LRU cache. Unknown ids are
 * cached too (as misses) so a container's foreign uids do not re-read the files each event;
 * entries expire so renamed or new accounts show up.
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

export interface NameResolver {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
}

export interface UserNamesOptions {
  passwdPath?: string;
  groupPath?: string;
  maxEntries?: number;
  ttlMs?: number;
}

const MISS = '\u0000';

function lookup(path: string, id: number): string {
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

  constructor(opts: UserNamesOptions = {}) {
    const max = opts.maxEntries ?? 1024;
    const ttl = opts.ttlMs ?? 5 * 60_000;
    this.users = new LRUCache({ max, ttl });
    this.groups = new LRUCache({ max, ttl });
    this.passwdPath = opts.passwdPath ?? '/etc/passwd';
    this.groupPath = opts.groupPath ?? '/etc/group';
  }

  userName(uid: number): string | undefined {
    return this.resolve(this.users, this.passwdPath, uid);
  }

  groupName(gid: number): string | undefined {
    return this.resolve(this.groups, this.groupPath, gid);
  }

  private resolve(cache: LRUCache<number, string>, path: string, id: number): string | undefined {
    let name = cache.get(id);
    if (name === undefined) {
      name = lookup(path, id);
      cache.set(id, name);
    }
    return name === MISS ? undefined : name;
  }
}
