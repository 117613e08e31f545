/**
 * quark-ffi's counters in the `process@quark` metrics namespace, as Auditbeat names them,
 * refreshed every 5 s (and once more when the backend stops, so the final numbers are seen).
 */
import type { MetricsNamespace, MetricsRegistry } from '../../../../../core/api/metrics.js';
import type { QuarkStats } from '../../../../../quark-ffi/ts/record.js';

export const QUARK_METRICS_NAMESPACE = 'process@quark';
export const QUARK_METRICS_PERIOD_MS = 5000;

/** What the backend counts itself, beside the library's numbers. */
export interface BackendCounters {
  /** Batches the binding could not decode (their records are lost). */
  decodeErrors: number;
  /** Records that became events. */
  events: number;
  filteredKernelThreads: number;
  filteredSelf: number;
  /** Records without ids (the library could not say which process). */
  droppedNoIds: number;
  /** Records the library still held (inside the hold time) when the backend stopped. */
  heldAtClose: number;
}

export function newCounters(): BackendCounters {
  return { decodeErrors: 0, events: 0, filteredKernelThreads: 0, filteredSelf: 0, droppedNoIds: 0, heldAtClose: 0 };
}

export class QuarkMetrics {
  private readonly ns: MetricsNamespace;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    registry: MetricsRegistry,
    private readonly readStats: () => QuarkStats | undefined,
    private readonly counters: BackendCounters,
  ) {
    this.ns = registry.namespace(QUARK_METRICS_NAMESPACE);
  }

  start(backend: string): void {
    this.ns.set('backend', backend);
    this.publish();
    this.timer = setInterval(() => this.publish(), QUARK_METRICS_PERIOD_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  publish(): void {
    const s = this.readStats();
    const n = this.ns;
    if (s) {
      n.set('insertions', Number(s.insertions));
      n.set('removals', Number(s.removals));
      n.set('aggregations', Number(s.aggregations));
      n.set('non_aggregations', Number(s.nonAggregations));
      n.set('lost', Number(s.lost));
      n.set('garbage_collections', Number(s.garbageCollections));
      n.set('ring_lost', Number(s.ringLost));
      n.set('raw_events', Number(s.rawEvents));
      n.set('records', Number(s.recordsOut));
      n.set('truncated', Number(s.truncated));
      n.set('evictions', Number(s.evictions));
      n.set('forced_flushes', Number(s.forcedFlushes));
      n.set('cache_entries', Number(s.cacheEntries));
      n.set('pending', Number(s.pending));
      n.set('hold_time_ms', Number(s.holdTimeMs));
      n.set('snapshot_records', Number(s.snapshotRecords));
      n.set('snapshot_skipped', Number(s.snapshotSkipped));
      n.set('pid_reuses', Number(s.pidReuses));
      n.set('cache_bytes', Number(s.cacheBytes));
      n.set('pending_bytes', Number(s.pendingBytes));
      n.set('out_of_order', Number(s.outOfOrder));
      n.set('kernel_skipped', Number(s.kernelSkipped));
    }
    const c = this.counters;
    n.set('decode_errors', c.decodeErrors);
    n.set('events', c.events);
    n.set('filtered.kernel_threads', c.filteredKernelThreads);
    n.set('filtered.self', c.filteredSelf);
    n.set('dropped.no_ids', c.droppedNoIds);
    n.set('dropped.held_at_close', c.heldAtClose);
  }
}
