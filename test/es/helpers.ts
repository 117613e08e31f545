/** Shared pieces for the Elasticsearch tests: a metrics registry, a log capture, test events. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { BeatEvent } from '../../core/api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../../core/api/metrics.js';
import type { BatchResult, Output } from '../../core/api/output.js';

export class MemoryMetrics implements MetricsRegistry {
  readonly spaces = new Map<string, Map<string, number | string>>();

  namespace(name: string): MetricsNamespace {
    let values = this.spaces.get(name);
    if (!values) this.spaces.set(name, (values = new Map()));
    const v = values;
    return {
      name,
      inc: (key, by = 1) => v.set(key, ((v.get(key) as number | undefined) ?? 0) + by),
      set: (key, value) => v.set(key, value),
      get: (key) => v.get(key),
    };
  }

  num(space: string, key: string): number {
    const v = this.spaces.get(space)?.get(key);
    return typeof v === 'number' ? v : 0;
  }

  /** The `output` counters as a plain object, for assertions and failure messages. */
  output(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.spaces.get('output') ?? []) if (typeof v === 'number') out[k] = v;
    return out;
  }
}

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  text(): string;
}

export function captureLogs(level: pino.Level = 'debug'): CapturedLog {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level }, stream);
  return { logger, lines, text: () => lines.join('') };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Events carrying a unique `seq`; `withIds` gives each an `_id` so re-sends become 409s. */
export function makeEvents(from: number, count: number, opts: { withIds?: boolean; bad?: (seq: number) => boolean } = {}): BeatEvent[] {
  const out: BeatEvent[] = [];
  for (let i = from; i < from + count; i++) {
    const ev: BeatEvent = {
      timestamp: new Date(Date.UTC(2024, 0, 2, 3, 4, 5) + i),
      fields: {
        seq: i,
        event: { kind: 'event', category: ['process'], type: ['start'], action: 'process_started', module: 'system', dataset: 'process' },
        process: { pid: 1000 + (i % 30000), name: 'sleep', executable: '/usr/bin/sleep', args: ['sleep', String(i % 60)] },
        message: `Process sleep (PID: ${1000 + (i % 30000)}) STARTED`,
      },
    };
    if (opts.bad?.(i)) ev.fields['bad'] = true;
    if (opts.withIds) ev.meta = { _id: `id-${i}` };
    out.push(ev);
  }
  return out;
}

/** Polls until `cond` holds, failing after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Publishes as the publisher pipeline does, counting `output.events.{batches,total,acked,
 * dropped}` from each BatchResult, so tests of the output alone see the same /stats keys.
 */
export function pipelineLikePublish(output: Output, metrics: MetricsRegistry): (events: readonly BeatEvent[], signal?: AbortSignal) => Promise<BatchResult> {
  const o = metrics.namespace('output');
  for (const k of ['events.batches', 'events.total', 'events.acked', 'events.dropped']) o.inc(k, 0);
  return async (events, signal) => {
    o.inc('events.batches');
    o.inc('events.total', events.length);
    const r = await output.publish(events, signal);
    o.inc('events.acked', r.acked);
    o.inc('events.dropped', r.dropped);
    return r;
  };
}
