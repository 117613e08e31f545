/**
 * The enrichment's process table: pid -> the latest known facts of the process holding that
 * pid, fed by every ProcessEvent of either backend (state reports and snapshots included).
 *
 * - Bounded: an LRU of `maxEntries` entries and about `maxBytes` of facts (argument lists
 *   dominate). Ancestors are looked up on every child event, so busy ones stay recent.
 * - Exited processes stay for `graceMs`: a parent often exits before the events of its
 *   children are emitted (kernel_tracing holds records for the hold time). They leave when
 *   their grace time is over (not when the LRU gets to them), and at most `maxExited` of
 *   them are kept, oldest exit first out: a steady stream of short-lived processes must
 *   neither grow the table to its bound nor push live processes out of it.
 * - One older generation per pid is kept beside the current one, so a late event about a
 *   process whose pid was already reused still finds its own facts.
 * - A miss asks the lookups in order (the kernel backend's process cache when it offers
 *   one, then /proc) and remembers the answer; misses are remembered briefly so a dead pid
 *   is not read from /proc again on every event.
 */
import { LRUCache } from 'lru-cache';
import type { MetricsNamespace } from '../../../../../core/api/metrics.js';
import type { ProcessEvent } from '../../event.js';
import { knownFromEvent, mergeEvent, type Known } from './known.js';

/** Answers "what runs at this pid now", or undefined. Must not throw for an unknown pid. */
export type ProcessLookup = (pid: number) => ProcessEvent | undefined;

export interface ProcessTableOptions {
  maxEntries: number;
  graceMs: number;
  /** Rough bound of the memory the facts take; default 64 MiB. */
  maxBytes?: number;
  /** Most exited processes kept for their grace time; default defaultMaxExited(maxEntries). */
  maxExited?: number;
  lookups?: ProcessLookup[];
  metrics?: MetricsNamespace;
  /** A clock (ms) for the grace time; tests inject one. */
  perf?: { now(): number };
}

/** Which generation a relation may point at: one that had started by then. */
export interface Constraint {
  /** A parent started no later than its child (boot-clock ns, tick-floored). */
  startedByNs?: bigint;
  /** A leader existed when the event happened. */
  startedBy?: Date;
}

const MISS_TTL_MS = 2000;
/** Wall-clock values are floored to ms and snapshot starts to clock ticks: allow that much. */
const WALL_SLACK_MS = 1000;

/** A quarter of the table (at least 64, at most all of it) for processes in their grace time. */
export function defaultMaxExited(maxEntries: number): number {
  return Math.max(1, Math.min(maxEntries, Math.max(64, Math.floor(maxEntries / 4))));
}

export class ProcessTable {
  private readonly cache: LRUCache<number, Known>;
  private readonly misses: LRUCache<number, true>;
  private readonly lookups: ProcessLookup[];
  private readonly perf: { now(): number };
  private readonly metrics: MetricsNamespace | undefined;
  /** Exited processes still in the table (current or older generation), in the order they exited. */
  private readonly exited = new Set<Known>();
  private readonly maxExited: number;

  constructor(private readonly opts: ProcessTableOptions) {
    this.perf = opts.perf ?? performance;
    this.metrics = opts.metrics;
    this.maxExited = Math.max(1, Math.floor(opts.maxExited ?? defaultMaxExited(opts.maxEntries)));
    this.lookups = [...(opts.lookups ?? [])];
    this.cache = new LRUCache<number, Known>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (k) => Math.max(1, k.size),
      perf: this.perf,
      dispose: (k, _pid, reason) => {
        if (reason === 'evict') this.metrics?.inc('lineage.evictions');
        // An entry that left the table must not keep its relations alive: a child that still
        // points at it keeps the facts it needs, and chains of dead ancestors cannot pile up.
        // ('set': a new generation replaced it and keeps it as its `older`.)
        if (reason !== 'set') {
          this.exited.delete(k);
          if (k.older !== undefined) this.exited.delete(k.older);
          forget(k);
        }
      },
    });
    this.misses = new LRUCache<number, true>({ max: 1024, ttl: MISS_TTL_MS, perf: this.perf });
  }

  get size(): number {
    return this.cache.size;
  }

  /** Exited processes kept for their grace time (at most `maxExited`). */
  get exitedCount(): number {
    return this.exited.size;
  }

  /** Asked before /proc on a miss (the kernel backend's own process cache). */
  addLookupFirst(lookup: ProcessLookup): void {
    this.lookups.unshift(lookup);
  }

  /** Records what the event tells about its process; returns that process's entry. */
  observe(ev: ProcessEvent): Known {
    const now = this.perf.now();
    const k = this.record(ev, now);
    this.purgeExited(now);
    this.metrics?.set('lineage.entries', this.cache.size);
    this.metrics?.set('lineage.exited', this.exited.size);
    return k;
  }

  private record(ev: ProcessEvent, now: number): Known {
    // procfs stop events carry no exit flag, only the `end` type; a kernel cache lookup
    // answer about an exited process carries no flag at all, only the exit facts.
    const exited = ev.flags.exit || ev.types.includes('end') || ev.exit !== undefined;
    this.misses.delete(ev.pid);
    const cur = this.cache.get(ev.pid);
    let k: Known;
    if (cur !== undefined && sameGeneration(cur, ev.startBootNs)) {
      invalidate(cur, ev);
      mergeEvent(cur, ev);
      k = cur;
    } else if (cur?.older !== undefined && sameGeneration(cur.older, ev.startBootNs)) {
      mergeEvent(cur.older, ev);
      if (exited) this.markExited(cur.older, now);
      return cur.older;
    } else if (cur !== undefined && isOlder(ev.startBootNs, cur.startBootNs)) {
      // A late event about the generation before the current one.
      const late = knownFromEvent(ev);
      this.dropOlder(cur);
      cur.older = late;
      this.markExited(late, now);
      return late;
    } else {
      k = knownFromEvent(ev);
      if (cur !== undefined) {
        // The pid was reused: the process we knew is gone even if we missed its exit.
        this.dropOlder(cur);
        k.older = cur;
        this.markExited(cur, now);
      }
    }
    if (exited) this.markExited(k, now);
    this.store(k);
    return k;
  }

  /** Starts the grace time of `k`, once: the set stays in exit order. */
  private markExited(k: Known, now: number): void {
    if (this.exited.has(k)) return;
    k.exitedAt ??= now;
    this.exited.add(k);
  }

  /**
   * Removes the exited entries whose grace time is over, and the oldest ones beyond
   * `maxExited` (counted: lineage.grace_evictions). The set is in exit order, so this stops
   * at the first entry that may stay.
   */
  private purgeExited(now: number): void {
    for (const k of this.exited) {
      const due = now - (k.exitedAt ?? now) > this.opts.graceMs;
      if (!due && this.exited.size <= this.maxExited) break;
      if (!due) this.metrics?.inc('lineage.grace_evictions');
      this.remove(k);
    }
  }

  /** Takes an exited entry out of the table, wherever it sits (current or older generation). */
  private remove(k: Known): void {
    this.exited.delete(k);
    const cur = this.cache.peek(k.pid, { allowStale: true });
    if (cur === k) {
      this.cache.delete(k.pid);
    } else if (cur !== undefined && cur.older === k) {
      this.dropOlder(cur);
    }
  }

  private dropOlder(k: Known): void {
    const old = k.older;
    if (old === undefined) return;
    k.older = undefined;
    this.exited.delete(old);
    forget(old);
  }

  /** The process at `pid` that fits the constraint, from the table or a lookup. */
  find(pid: number, c: Constraint = {}): Known | undefined {
    if (pid <= 0) return undefined;
    const cur = this.cache.get(pid);
    for (const cand of [cur, cur?.older]) {
      if (cand !== undefined && fits(cand, c) && !this.expired(cand)) return cand;
    }
    if (this.misses.has(pid)) return undefined;
    for (const lookup of this.lookups) {
      this.metrics?.inc('lineage.fallback_lookups');
      let ev: ProcessEvent | undefined;
      try {
        ev = lookup(pid);
      } catch {
        ev = undefined;
      }
      if (ev === undefined || ev.pid !== pid) continue;
      const probe = knownFromEvent(ev);
      if (!fits(probe, c)) continue;
      this.metrics?.inc('lineage.fallback_found');
      return this.observe(ev);
    }
    this.misses.set(pid, true);
    return undefined;
  }

  /**
   * Reads a live process again (the /proc lookup, never the kernel cache) and merges what it
   * shows now. procfs reports a process once, so a parent caught between fork and exec (or
   * before its setsid) would otherwise keep its first image and ids.
   */
  refresh(k: Known): void {
    const lookup = this.lookups[this.lookups.length - 1];
    if (lookup === undefined || k.exitedAt !== undefined) return;
    let ev: ProcessEvent | undefined;
    try {
      ev = lookup(k.pid);
    } catch {
      return;
    }
    if (ev === undefined || ev.pid !== k.pid || !sameGeneration(k, ev.startBootNs)) return;
    invalidate(k, ev);
    mergeEvent(k, ev);
  }

  private store(k: Known): void {
    const exited = k.exitedAt !== undefined;
    const left = exited ? Math.max(1, this.opts.graceMs - (this.perf.now() - k.exitedAt!)) : undefined;
    this.cache.set(k.pid, k, left !== undefined ? { ttl: left } : { ttl: 0 });
  }

  private expired(k: Known): boolean {
    return k.exitedAt !== undefined && this.perf.now() - k.exitedAt > this.opts.graceMs;
  }
}

function sameGeneration(k: Known, startBootNs: bigint | undefined): boolean {
  return startBootNs === undefined || k.startBootNs === undefined || k.startBootNs === startBootNs;
}

function isOlder(a: bigint | undefined, b: bigint | undefined): boolean {
  return a !== undefined && b !== undefined && a < b;
}

function fits(k: Known, c: Constraint): boolean {
  if (c.startedByNs !== undefined && k.startBootNs !== undefined) return k.startBootNs <= c.startedByNs;
  if (c.startedBy !== undefined && k.start !== undefined) return k.start.getTime() <= c.startedBy.getTime() + WALL_SLACK_MS;
  return true;
}

/** Relations that a change of ids or image makes stale. */
function invalidate(k: Known, ev: ProcessEvent): void {
  let changed = false;
  if (ev.ppid !== undefined && ev.ppid !== k.ppid) { k.parentRef = undefined; changed = true; }
  if (ev.pgid !== undefined && ev.pgid !== k.pgid) { k.groupRef = undefined; }
  if (ev.sid !== undefined && ev.sid !== k.sid) { k.sessionRef = undefined; changed = true; }
  if (ev.executable !== undefined && ev.executable !== k.executable) changed = true;
  if (ev.tty !== undefined && (ev.tty.major !== k.tty?.major || ev.tty.minor !== k.tty?.minor)) changed = true;
  if (ev.vpid !== undefined && ev.vpid !== k.vpid) changed = true;
  // The entry leader depends on all of these; a process that is its own entry leader keeps
  // the reference its descendants hold, recomputed for itself.
  if (changed) k.entry = undefined;
}

function forget(k: Known): void {
  k.parentRef = undefined;
  k.groupRef = undefined;
  k.sessionRef = undefined;
  k.older = undefined;
}
