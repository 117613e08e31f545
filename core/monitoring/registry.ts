import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { MetricsNamespace, MetricsRegistry } from '../api/metrics.js';

export type MetricValue = number | string;

/** Prometheus metric names allow [a-zA-Z0-9_:]; everything else (`.`, `@`, `-`) becomes `_`. */
export function promName(namespace: string, key: string): string {
  return `procbeat_${namespace}_${key}`.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * The MetricsRegistry every component reports into. Values live in plain maps (an `inc` on
 * the event path is a map update); prom-client gauges read them when `/metrics` is scraped.
 * Numbers become gauges `procbeat_<ns>_<key>`; strings become gauges with a `value` label
 * set to 1, the way Prometheus exposes text facts.
 */
export class PromMetricsRegistry implements MetricsRegistry {
  readonly prometheus = new Registry();
  private readonly namespaces = new Map<string, Namespace>();
  private readonly taken = new Set<string>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.prometheus });
  }

  namespace(name: string): MetricsNamespace {
    let ns = this.namespaces.get(name);
    if (ns === undefined) {
      ns = new Namespace(name, this);
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  /** Every namespace's current values, for `/stats` and the periodic metrics log. */
  snapshot(): Map<string, ReadonlyMap<string, MetricValue>> {
    const out = new Map<string, ReadonlyMap<string, MetricValue>>();
    for (const [name, ns] of this.namespaces) out.set(name, new Map(ns.values));
    return out;
  }

  /** Prometheus text exposition. */
  async metricsText(): Promise<string> {
    return this.prometheus.metrics();
  }

  get contentType(): string {
    return this.prometheus.contentType;
  }

  /** @internal creates the gauge behind a key on first use; a name clash keeps the key out of /metrics only. */
  exposeKey(namespace: string, key: string, kind: 'number' | 'string', read: () => MetricValue | undefined): void {
    const name = promName(namespace, key);
    if (this.taken.has(name)) return;
    this.taken.add(name);
    const help = `${namespace} ${key}`;
    if (kind === 'number') {
      new Gauge({
        name, help, registers: [this.prometheus],
        collect() {
          const v = read();
          if (typeof v === 'number') this.set(v);
        },
      });
    } else {
      new Gauge({
        name, help, labelNames: ['value'], registers: [this.prometheus],
        collect() {
          const v = read();
          this.reset();
          if (typeof v === 'string') this.set({ value: v }, 1);
        },
      });
    }
  }
}

class Namespace implements MetricsNamespace {
  readonly values = new Map<string, MetricValue>();

  constructor(readonly name: string, private readonly registry: PromMetricsRegistry) {}

  inc(key: string, by = 1): void {
    const current = this.values.get(key);
    if (current === undefined) {
      this.values.set(key, by);
      this.registry.exposeKey(this.name, key, 'number', () => this.values.get(key));
    } else if (typeof current === 'number') {
      this.values.set(key, current + by);
    } else {
      this.values.set(key, by);
    }
  }

  set(key: string, value: number | string): void {
    if (!this.values.has(key)) this.registry.exposeKey(this.name, key, typeof value === 'number' ? 'number' : 'string', () => this.values.get(key));
    this.values.set(key, value);
  }

  get(key: string): number | string | undefined {
    return this.values.get(key);
  }
}
