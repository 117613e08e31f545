import { LRUCache } from 'lru-cache';
import type { Hashes } from './types.js';

/** A finished hash, or a failure that is a property of the file version (too large, not a regular file). */
export type CacheEntry = { hashes: Hashes } | { error: string };

/**
 * Hashes keyed by file version (see versionKey), bounded as an LRU. A path index remembers
 * which version each path last showed, so a rewritten or touched file drops its old entry
 * at once (an invalidation) instead of waiting for eviction. Keying by version rather than
 * by path means a path replaced between two requests can never serve a stale hash.
 */
export class HashCache {
  private readonly byVersion: LRUCache<string, CacheEntry>;
  private readonly versionOfPath: LRUCache<string, string>;

  constructor(
    max: number,
    private readonly onEvict: () => void,
  ) {
    this.byVersion = new LRUCache<string, CacheEntry>({
      max,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.onEvict();
      },
    });
    this.versionOfPath = new LRUCache<string, string>({ max });
  }

  get(version: string): CacheEntry | undefined {
    return this.byVersion.get(version);
  }

  set(version: string, entry: CacheEntry): void {
    this.byVersion.set(version, entry);
  }

  /**
   * Records that `path` now shows `version`. True when a cached entry for the version the
   * path showed before was thrown away (an invalidation).
   */
  notePath(path: string, version: string): boolean {
    const previous = this.versionOfPath.get(path);
    this.versionOfPath.set(path, version);
    if (previous === undefined || previous === version) return false;
    return this.byVersion.delete(previous);
  }

  get size(): number {
    return this.byVersion.size;
  }

  clear(): void {
    this.byVersion.clear();
    this.versionOfPath.clear();
  }
}
