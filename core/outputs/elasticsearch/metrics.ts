import type { MetricsNamespace, MetricsRegistry } from '../../api/metrics.js';

/**
 * The output's own counters in the `output` namespace. The publisher pipeline counts
 * `output.events.{batches,total,acked,dropped}` from each BatchResult; this output never
 * touches those keys, it adds the detail and keeps `events.active` (events it holds, being
 * sent or waiting for a retry), so that at every instant
 *   output.events.total = output.events.acked + output.events.dropped + output.events.active
 * events.duplicates (409) and events.dead_letter (written to the dead-letter index) are part
 * of acked; events.non_indexable counts every event Elasticsearch refused with a 4xx other
 * than 409/429 (dropped under `drop`, re-sent under `dead_letter_index`); events.failed counts
 * failed attempts (an event retried three times counts three).
 */
export const COUNTERS = [
  'events.failed',
  'events.duplicates',
  'events.non_indexable',
  'events.dead_letter',
  'events.toomany',
  'write.bytes',
  'write.errors',
  'read.errors',
  'bulk.requests',
  'retries',
] as const;

export type Counter = (typeof COUNTERS)[number];

export class OutputMetrics {
  private readonly ns: MetricsNamespace;
  private active = 0;

  constructor(registry: MetricsRegistry) {
    this.ns = registry.namespace('output');
    // every counter shows up on /stats from the start, at zero
    for (const c of COUNTERS) if (this.ns.get(c) === undefined) this.ns.set(c, 0);
    this.ns.set('events.active', 0);
    this.ns.set('type', 'elasticsearch');
  }

  inc(counter: Counter, by = 1): void {
    if (by !== 0) this.ns.inc(counter, by);
  }

  addActive(by: number): void {
    this.active += by;
    this.ns.set('events.active', this.active);
  }

  get(counter: Counter | 'events.active'): number {
    const v = this.ns.get(counter);
    return typeof v === 'number' ? v : 0;
  }
}
