import type { ContainerFacts } from './metadata.js';

/** One container the processor knows of; `facts` null: the daemon says no such container. */
export interface CacheEntry {
  facts: ContainerFacts | null;
  /** performance.now() when it stopped (or was found unknown); 0 while running. */
  goneAt: number;
}

const SHORT_ID = 12;

/**
 * Containers by id: running ones, stopped ones for `cleanup_timeout` (late events still get
 * their metadata), and ids the daemon does not know (so they are not looked up again and
 * again). Bounded in entries: past the bound the oldest entry goes and is counted.
 */
export class ContainerCache {
  private readonly byId = new Map<string, CacheEntry>();
  private readonly byShort: Map<string, string> | undefined;
  evicted = 0;

  constructor(
    private readonly maxEntries: number,
    shortIds: boolean,
  ) {
    this.byShort = shortIds ? new Map() : undefined;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): CacheEntry | undefined {
    const e = this.byId.get(id);
    if (e !== undefined || this.byShort === undefined || id.length !== SHORT_ID) return e;
    const full = this.byShort.get(id);
    return full === undefined ? undefined : this.byId.get(full);
  }

  set(id: string, facts: CacheEntry['facts'], goneAt = 0): void {
    if (!this.byId.has(id)) {
      while (this.byId.size >= this.maxEntries) this.evictOldest();
    } else {
      // Re-insert so Map order stays "least recently learned first".
      this.byId.delete(id);
    }
    this.byId.set(id, { facts, goneAt });
    this.byShort?.set(id.slice(0, SHORT_ID), id);
  }

  /** The container stopped: keep its metadata for late events until the next sweep past cleanup_timeout. */
  markGone(id: string, now: number): void {
    const e = this.byId.get(id);
    if (e !== undefined && e.goneAt === 0) e.goneAt = now;
  }

  /** Drops what stopped (or was unknown) more than `keepMs` ago; returns how many. */
  sweep(now: number, keepMs: number): number {
    let n = 0;
    for (const [id, e] of this.byId) {
      if (e.goneAt !== 0 && now - e.goneAt >= keepMs) {
        this.delete(id);
        n++;
      }
    }
    return n;
  }

  private evictOldest(): void {
    // Prefer an entry that is already gone; else the oldest one.
    let victim: string | undefined;
    for (const [id, e] of this.byId) {
      if (e.goneAt !== 0) { victim = id; break; }
    }
    victim ??= this.byId.keys().next().value;
    if (victim === undefined) return;
    this.delete(victim);
    this.evicted++;
  }

  private delete(id: string): void {
    this.byId.delete(id);
    if (this.byShort !== undefined && this.byShort.get(id.slice(0, SHORT_ID)) === id) this.byShort.delete(id.slice(0, SHORT_ID));
  }
}
