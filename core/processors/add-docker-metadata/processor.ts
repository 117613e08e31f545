import type { Logger } from 'pino';
import type { BeatEvent } from '../../api/event.js';
import type { MetricsNamespace } from '../../api/metrics.js';
import type { Processor, ProcessorResult } from '../types.js';
import { ContainerCache, type CacheEntry } from './cache.js';
import { ContainerMatcher } from './match.js';
import { writeFacts } from './metadata.js';
import type { DockerMetadataSettings } from './settings.js';
import type Docker from 'dockerode';
import { DockerSource } from './source.js';

/** Why an event in a container shipped without its metadata (`events.missing.<reason>`). */
export type MissingReason = 'disconnected' | 'not_found' | 'lookup_failed' | 'timeout' | 'hold_full';

/** One container whose events wait for its metadata. */
interface Hold {
  id: string;
  /** Resolves when the cache learns the container, the lookup ends, or hold_timeout passes. */
  promise: Promise<void>;
  release: () => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  timedOut: boolean;
  /** Events of this container waiting on `promise` (they go in arrival order). */
  waiting: number;
}

/** Sweeps the cache and refreshes the gauges this often (at most). */
const SWEEP_MAX_MS = 1000;

/**
 * `add_docker_metadata`: container.name, container.image.*, container.labels.*,
 * container.runtime, and kubernetes.* / orchestrator.* from kubelet labels, for every
 * event whose container the cache knows. The cache is kept by DockerSource; an event of a
 * container it does not know yet is held (only that container's events) for up to
 * `hold_timeout` while the lookup runs.
 */
export class DockerMetadataProcessor implements Processor {
  readonly name = 'add_docker_metadata';
  readonly cache: ContainerCache;
  readonly source: DockerSource;
  private readonly matcher: ContainerMatcher;
  private readonly holds = new Map<string, Hold>();
  private held = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly s: DockerMetadataSettings,
    private readonly m: MetricsNamespace | undefined,
    logger: Logger,
    DockerClient: typeof Docker,
  ) {
    this.cache = new ContainerCache(s.cacheMaxEntries, s.matchShortId);
    this.matcher = new ContainerMatcher(s);
    this.source = new DockerSource(s, this.cache, logger, (id) => this.known(id), DockerClient);
    for (const k of ['events.enriched', 'events.held', 'cache.evicted', 'api.reconnects', 'api.lookups', 'api.lookups_failed', 'api.events']) m?.inc(k, 0);
    for (const r of ['disconnected', 'not_found', 'lookup_failed', 'timeout', 'hold_full'] satisfies MissingReason[]) m?.inc(`events.missing.${r}`, 0);
    this.gauges();
  }

  start(): void {
    this.source.start();
    const every = Math.max(100, Math.min(SWEEP_MAX_MS, this.s.cleanupTimeoutMs / 2));
    this.sweepTimer = setInterval(() => {
      this.cache.sweep(performance.now(), this.s.cleanupTimeoutMs);
      this.gauges();
    }, every);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const h of this.holds.values()) this.settle(h, true);
    await this.source.close();
    this.gauges();
  }

  run(event: BeatEvent): ProcessorResult {
    const id = this.matcher.idOf(event);
    if (id === undefined) return event;
    const hold = this.holds.get(id);
    if (hold === undefined) {
      const entry = this.cache.get(id);
      if (entry !== undefined) return this.apply(event, id, entry);
      return this.holdFirst(id, event);
    }
    if (hold.settled && hold.waiting === 0) {
      // Timed out, lookup still running: do not hold again, ship as it is.
      const entry = this.cache.get(id);
      if (entry !== undefined) {
        this.holds.delete(id);
        return this.apply(event, id, entry);
      }
      return this.missing(event, 'timeout');
    }
    return this.enqueue(hold, event);
  }

  private holdFirst(id: string, event: BeatEvent): ProcessorResult {
    if (!this.matcher.wellFormed(id)) return event;
    if (!this.source.mayLookup()) return this.missing(event, 'disconnected');
    if (this.held >= this.s.holdMaxEvents) return this.missing(event, 'hold_full');
    let release!: () => void;
    const promise = new Promise<void>((r) => { release = r; });
    const hold: Hold = { id, promise, release, timer: undefined, settled: false, timedOut: false, waiting: 0 };
    hold.timer = setTimeout(() => this.settle(hold, true), this.s.holdTimeoutMs);
    this.holds.set(id, hold);
    void this.source.lookup(id).then(() => {
      this.settle(hold, false);
      if (hold.waiting === 0 && this.holds.get(id) === hold) this.holds.delete(id);
    });
    return this.enqueue(hold, event);
  }

  private enqueue(hold: Hold, event: BeatEvent): ProcessorResult {
    if (!hold.settled && this.held >= this.s.holdMaxEvents) return this.missing(event, 'hold_full');
    this.held++;
    hold.waiting++;
    this.m?.inc('events.held');
    return hold.promise.then(() => {
      this.held--;
      hold.waiting--;
      if (hold.waiting === 0 && this.holds.get(hold.id) === hold && !(hold.timedOut && this.source.isLookingUp(hold.id))) {
        this.holds.delete(hold.id);
      }
      const entry = this.cache.get(hold.id);
      if (entry !== undefined) return this.apply(event, hold.id, entry);
      return this.missing(event, hold.timedOut ? 'timeout' : this.source.state === 'down' ? 'disconnected' : 'lookup_failed');
    });
  }

  private settle(hold: Hold, timedOut: boolean): void {
    if (hold.settled) return;
    hold.settled = true;
    hold.timedOut = timedOut;
    clearTimeout(hold.timer);
    hold.release();
  }

  /** The cache learned `id`: its held events go now. */
  private known(id: string): void {
    const hold = this.holds.get(id);
    if (hold !== undefined) this.settle(hold, false);
  }

  private apply(event: BeatEvent, id: string, entry: CacheEntry): BeatEvent {
    if (entry.facts === null) return this.missing(event, 'not_found');
    writeFacts(event.fields, id, entry.facts);
    this.m?.inc('events.enriched');
    return event;
  }

  private missing(event: BeatEvent, reason: MissingReason): BeatEvent {
    this.m?.inc(`events.missing.${reason}`);
    return event;
  }

  private gauges(): void {
    if (this.m === undefined) return;
    const c = this.source.counters;
    this.m.set('cache.entries', this.cache.size);
    this.m.set('cache.evicted', this.cache.evicted);
    this.m.set('events.holding', this.held);
    this.m.set('api.state', this.source.state);
    this.m.set('api.reconnects', c.reconnects);
    this.m.set('api.lookups', c.lookups);
    this.m.set('api.lookups_failed', c.lookupsFailed);
    this.m.set('api.events', c.streamEvents);
  }
}
