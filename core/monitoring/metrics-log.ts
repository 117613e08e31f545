import type { Logger } from 'pino';
import type { MetricValue, PromMetricsRegistry } from './registry.js';

/**
 * Logs, every period, the numbers that changed since the last report (as deltas) and the
 * strings that changed, like beats' "Non-zero metrics in the last 30s" line. Returns a stop
 * function that logs a final report.
 */
export function startMetricsLog(registry: PromMetricsRegistry, logger: Logger, periodMs: number): () => void {
  let last = flatten(registry.snapshot());
  const report = (final: boolean): void => {
    const now = flatten(registry.snapshot());
    const changed: Record<string, MetricValue> = {};
    for (const [key, value] of now) {
      const before = last.get(key);
      if (typeof value === 'number') {
        const delta = value - (typeof before === 'number' ? before : 0);
        if (delta !== 0) changed[key] = delta;
      } else if (value !== before) {
        changed[key] = value;
      }
    }
    last = now;
    if (Object.keys(changed).length === 0 && !final) return;
    const what = final ? 'Total metrics' : `Non-zero metrics in the last ${Math.round(periodMs / 1000)}s`;
    logger.info({ monitoring: { metrics: final ? Object.fromEntries(now) : changed } }, what);
  };
  const timer = setInterval(() => report(false), periodMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    report(true);
  };
}

function flatten(snapshot: Map<string, ReadonlyMap<string, MetricValue>>): Map<string, MetricValue> {
  const out = new Map<string, MetricValue>();
  for (const [ns, values] of snapshot) for (const [k, v] of values) out.set(`${ns}.${k}`, v);
  return out;
}
