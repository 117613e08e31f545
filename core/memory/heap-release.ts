/**
 * Gives the V8 heap back to the system after a burst. Under a fork storm V8 grows its heap
 * well beyond what procbeat keeps (its young generation and old-space headroom); once the
 * burst is over, V8's own memory reducer returns that only some 20 s later. Here, once
 * procbeat has been nearly idle for `idleMs` and the heap holds at least `minSlackBytes` it
 * does not use, a collection returns the old-space part and glibc's arenas are trimmed.
 * V8 gives up its grown young generation (up to 32 MiB) only in a later collection, so
 * while that much is still unused, up to two more follow, 6 s apart. It never runs while
 * busy, so it costs nothing under load; each run is one pause of a few ms per MiB in use.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { MetricsNamespace } from '../api/metrics.js';
import { mallocTrim } from './glibc.js';

/** What the release reads and does; the defaults are the real heap, clock and collector. */
export interface HeapReleaseDeps {
  /** Bytes V8 holds for the heap, and bytes in use. */
  heap(): { total: number; used: number };
  /** Share of the time since the last call the event loop was busy (0..1). */
  busySinceLastCall(): number;
  /** A full, compacting collection, then the C heap's free memory back to the system. */
  collect(): void;
}

export interface HeapReleaseOptions {
  /** How long procbeat must have been nearly idle; 0 turns the release off. */
  idleMs: number;
  /** How often to look (default 1 s). */
  checkMs?: number;
  /** Unused heap below this is left alone (default 16 MiB). */
  minSlackBytes?: number;
  /** Event-loop busy share under which procbeat counts as idle (default 0.1). */
  idleBusyShare?: number;
  metrics?: MetricsNamespace;
}

export const DEFAULT_MIN_SLACK_BYTES = 16 * 1024 * 1024;
const DEFAULT_IDLE_BUSY_SHARE = 0.1;
/**
 * After a collection that left `minSlack` unused: up to this many more, this far apart.
 * V8 shrinks its young generation only in a collection that finds its allocation rate low
 * since the one before, judged over 5 s.
 */
const MAX_FOLLOW_UPS = 2;
const FOLLOW_UP_MS = 6000;

type ExposedGc = (options?: { type: 'minor' | 'major' }) => void;
let exposedGc: ExposedGc | undefined;

/**
 * V8's collector, exposed at runtime (node runs without --expose-gc): a young-generation
 * collection first, which shrinks the young generation when V8's allocation rate has been
 * low (a full collection alone left it at its grown size in our runs), then a full one for
 * old space, then malloc_trim.
 */
function fullCollection(): void {
  if (exposedGc === undefined) {
    setFlagsFromString('--expose-gc');
    exposedGc = runInNewContext('gc') as ExposedGc;
  }
  exposedGc({ type: 'minor' });
  // Without options: the forced full collection (V8's `major` option does less).
  exposedGc();
  mallocTrim();
}

function realDeps(): HeapReleaseDeps {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    heap: () => {
      const s = getHeapStatistics();
      return { total: s.total_heap_size, used: s.used_heap_size };
    },
    busySinceLastCall: () => {
      const now = performance.eventLoopUtilization();
      const share = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return share;
    },
    collect: fullCollection,
  };
}

export class HeapRelease {
  private readonly checkMs: number;
  private readonly minSlack: number;
  private readonly idleShare: number;
  private quietMs = 0;
  /** Heap size right after the last release: a heap that has not grown since is left alone. */
  private afterLast: number | undefined;
  /** Further collections of this quiet spell, while one still leaves the heap mostly unused. */
  private followUpsLeft = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HeapReleaseOptions, private readonly deps: HeapReleaseDeps = realDeps()) {
    this.checkMs = opts.checkMs ?? 1000;
    this.minSlack = opts.minSlackBytes ?? DEFAULT_MIN_SLACK_BYTES;
    this.idleShare = opts.idleBusyShare ?? DEFAULT_IDLE_BUSY_SHARE;
    for (const k of ['memstats.releases', 'memstats.released_bytes']) opts.metrics?.inc(k, 0);
  }

  start(): void {
    if (this.opts.idleMs <= 0 || this.timer !== undefined) return;
    this.deps.busySinceLastCall();
    this.timer = setInterval(() => this.check(this.checkMs), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look, `elapsedMs` after the previous one; returns the bytes released (0 if it did not run). */
  check(elapsedMs: number): number {
    if (this.deps.busySinceLastCall() > this.idleShare) {
      this.quietMs = 0;
      this.followUpsLeft = 0;
      return 0;
    }
    this.quietMs += elapsedMs;
    const followUp = this.followUpsLeft > 0;
    if (this.quietMs < (followUp ? FOLLOW_UP_MS : this.opts.idleMs)) return 0;
    const before = this.deps.heap();
    if (before.total - before.used < this.minSlack) {
      this.followUpsLeft = 0;
      return 0;
    }
    if (!followUp && this.afterLast !== undefined && before.total < this.afterLast + this.minSlack) return 0;
    this.deps.collect();
    // The collection itself made this interval busy; the next look starts a fresh quiet spell.
    this.deps.busySinceLastCall();
    this.quietMs = 0;
    const after = this.deps.heap();
    this.afterLast = after.total;
    // V8 often keeps its grown young generation through the first collection after a burst
    // and gives it up in a later one: look again while that much is still held.
    this.followUpsLeft = after.total - after.used < this.minSlack ? 0 : followUp ? this.followUpsLeft - 1 : MAX_FOLLOW_UPS;
    const released = Math.max(0, before.total - after.total);
    this.opts.metrics?.inc('memstats.releases');
    this.opts.metrics?.inc('memstats.released_bytes', released);
    return released;
  }
}
