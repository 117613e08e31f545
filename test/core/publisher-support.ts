// Shared helpers for the publisher, processors and output tests (no tests in here).
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { BeatInfo } from '../../core/api/dataset.js';
import type { BeatEvent, Fields } from '../../core/api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../../core/api/metrics.js';
import type { BatchResult, Output } from '../../core/api/output.js';

export class MemoryNamespace implements MetricsNamespace {
  readonly values = new Map<string, number | string>();
  constructor(readonly name: string) {}
  inc(key: string, by = 1): void {
    const cur = this.values.get(key);
    this.values.set(key, (typeof cur === 'number' ? cur : 0) + by);
  }
  set(key: string, value: number | string): void {
    this.values.set(key, value);
  }
  get(key: string): number | string | undefined {
    return this.values.get(key);
  }
  num(key: string): number {
    const v = this.values.get(key);
    return typeof v === 'number' ? v : 0;
  }
}

export class MemoryMetrics implements MetricsRegistry {
  readonly spaces = new Map<string, MemoryNamespace>();
  namespace(name: string): MemoryNamespace {
    let ns = this.spaces.get(name);
    if (!ns) {
      ns = new MemoryNamespace(name);
      this.spaces.set(name, ns);
    }
    return ns;
  }
}

export function testInfo(dataDir = '/tmp/procbeat-test-data'): BeatInfo {
  return {
    name: 'procbeat',
    version: '0.1.0-test',
    uuid: '11111111-2222-4333-8444-555555555555',
    hostname: 'testhost',
    hostId: 'abcdef0123456789abcdef0123456789',
    paths: { data: dataDir, logs: `${dataDir}/logs` },
  };
}

/** A pino logger whose records are kept in `records` for assertions. */
export function captureLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), records };
}

export const silentLogger: Logger = pino({ level: 'silent' });

export function event(fields: Fields, timestamp = new Date()): BeatEvent {
  return { timestamp, fields };
}

/** The pipeline's accounting identity; returns the numbers for messages. */
export function pipelineCounts(metrics: MemoryMetrics): Record<string, number> {
  const p = metrics.namespace('pipeline');
  const keys = ['events.total', 'events.filtered', 'events.dropped', 'events.active', 'events.acked', 'events.failed', 'events.published'];
  return Object.fromEntries(keys.map((k) => [k, p.num(k)]));
}

export function invariantHolds(metrics: MemoryMetrics): boolean {
  const c = pipelineCounts(metrics);
  return c['events.total'] === c['events.filtered']! + c['events.dropped']! + c['events.active']! + c['events.acked']! + c['events.failed']!;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets pending promise callbacks and immediates run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

interface Pending {
  events: readonly BeatEvent[];
  resolve(r: BatchResult): void;
  reject(e: Error): void;
}

/**
 * An output under the test's control: by default acks everything at once; `hold()` makes
 * batches wait until `release()`; `decide` chooses the result per batch.
 */
export class FakeOutput implements Output {
  readonly name = 'fake';
  readonly batches: BeatEvent[][] = [];
  readonly pending: Pending[] = [];
  closed = false;
  held = false;
  signals: Array<AbortSignal | undefined> = [];
  decide: (events: readonly BeatEvent[]) => BatchResult | Promise<BatchResult> = (events) => ({ acked: events.length, dropped: 0 });

  publish(events: readonly BeatEvent[], signal?: AbortSignal): Promise<BatchResult> {
    this.batches.push([...events]);
    this.signals.push(signal);
    if (this.held) {
      return new Promise((resolve, reject) => this.pending.push({ events, resolve, reject }));
    }
    return Promise.resolve(this.decide(events));
  }

  hold(): void {
    this.held = true;
  }

  /** Stops holding and answers every waiting batch with `decide`. */
  async release(): Promise<void> {
    this.held = false;
    for (const p of this.pending.splice(0)) p.resolve(await this.decide(p.events));
  }

  /** Answers just the oldest waiting batch. */
  async releaseOne(): Promise<void> {
    const p = this.pending.shift();
    if (p) p.resolve(await this.decide(p.events));
  }

  get delivered(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
