import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BeatInfo, Dataset, DatasetDefinition } from '../../core/api/dataset.js';
import type { BeatEvent } from '../../core/api/event.js';
import { createLogger } from '../../core/logging/logger.js';
import { PromMetricsRegistry } from '../../core/monitoring/registry.js';
import type { DatasetPlan } from '../../core/registry/plan.js';
import { Backoff, sleep } from '../../core/runner/backoff.js';
import { Runner, runFor } from '../../core/runner/runner.js';
import { waitFor } from './cli-helpers.js';

const info: BeatInfo = {
  name: 'procbeat', version: '0.0.0-test', uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'test', hostId: 'test', paths: { data: '/tmp', logs: '/tmp' },
};

function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger>['logger'] } {
  const lines: Array<Record<string, unknown>> = [];
  const { logger } = createLogger({
    level: 'debug', toStderr: false, toFiles: false,
    destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } },
  });
  return { lines, logger };
}

function plan(def: DatasetDefinition<unknown>): DatasetPlan {
  return { id: `${def.module}/${def.name}`, module: def.module, dataset: def.name, key: 'procbeat.modules[0]', definition: def, config: {}, moduleSettings: { fieldsUnderRoot: false, tags: [], keepNull: false } };
}

function event(i: number): BeatEvent {
  return { timestamp: new Date(), fields: { n: i } };
}

/** A pipeline stand-in that records events; `gate` holds publish until released (backpressure). */
function recordingPipeline() {
  const events: BeatEvent[] = [];
  let gate: Promise<void> | undefined;
  return {
    events,
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => { release = r; });
      return () => { gate = undefined; release(); };
    },
    async publish(e: BeatEvent): Promise<void> {
      if (gate) await gate;
      events.push(e);
    },
  };
}

describe('backoff', () => {
  test('doubles from the initial delay up to the maximum, resets after a healthy run', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 });
    const delays = Array.from({ length: 8 }, () => b.next(10));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    assert.equal(b.next(120_000), 1000, 'a run longer than resetAfterMs starts over');
    assert.equal(b.next(0), 2000);
  });

  test('sleep returns early when aborted', async () => {
    const c = new AbortController();
    const started = Date.now();
    const p = sleep(60_000, c.signal);
    c.abort();
    await p;
    assert.ok(Date.now() - started < 30_000);
  });
});

describe('runner', () => {
  test('a failing dataset is logged and restarted with growing delays', async () => {
    const creates: number[] = [];
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'flaky',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        creates.push(Date.now());
        const attempt = creates.length;
        return {
          kind: 'push',
          async *events(signal) {
            if (attempt <= 3) throw new Error(`boom ${attempt}`);
            for (let i = 0; i < 5; i++) yield event(i);
            await sleep(60_000, signal);
          },
        };
      },
    };
    const { lines, logger } = capture();
    const metrics = new PromMetricsRegistry({ defaultMetrics: false });
    const pipeline = recordingPipeline();
    const runner = new Runner({
      plans: [plan(def)], pipeline, logger, metrics, info,
      backoff: { initialMs: 50, maxMs: 150, resetAfterMs: 60_000 },
    });
    runner.start();
    await waitFor('events after the restarts', () => pipeline.events.length === 5);
    const { stuck } = await runner.stop(10_000);
    assert.deepEqual(stuck, []);

    assert.equal(creates.length, 4);
    const gaps = creates.slice(1).map((t, i) => t - creates[i]!);
    // Lower bounds only: the delays were at least 50, 100, 150 (capped) ms.
    assert.ok(gaps[0]! >= 45, `first delay ${gaps[0]}`);
    assert.ok(gaps[1]! >= 95, `second delay ${gaps[1]}`);
    assert.ok(gaps[2]! >= 145, `third delay ${gaps[2]}`);

    const errors = lines.filter((l) => l['log.level'] === 'error');
    assert.equal(errors.length, 3);
    assert.match(String(errors[0]!['message']), /dataset rtest\/flaky failed: boom 1; restarting in 50ms/);
    assert.match(String(errors[2]!['message']), /restarting in 150ms/);
    assert.equal(errors[0]!['log.logger'], 'rtest.flaky');
    const ns = metrics.namespace('runner');
    assert.equal(ns.get('rtest.flaky.failures'), 3);
    assert.equal(ns.get('rtest.flaky.starts'), 4);
    assert.equal(ns.get('rtest.flaky.events'), 5);
    assert.equal(ns.get('rtest.flaky.running'), 0);
  });

  test('a push dataset that ends on its own counts as a failure and is restarted', async () => {
    let creates = 0;
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'short',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        creates++;
        return { kind: 'push', async *events() { yield event(creates); } };
      },
    };
    const { lines, logger } = capture();
    const pipeline = recordingPipeline();
    const runner = new Runner({
      plans: [plan(def)], pipeline, logger, metrics: new PromMetricsRegistry({ defaultMetrics: false }), info,
      backoff: { initialMs: 10, maxMs: 20, resetAfterMs: 60_000 },
    });
    runner.start();
    await waitFor('two restarts', () => creates >= 3);
    await runner.stop(10_000);
    assert.ok(lines.some((l) => /stopped on its own/.test(String(l['message']))));
  });

  test('periodic datasets fetch right away, then every period; close() is called on stop', async () => {
    const fetches: number[] = [];
    let closed = 0;
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'periodic',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        return {
          kind: 'periodic',
          periodMs: 100,
          async fetch() {
            fetches.push(Date.now());
            return [event(fetches.length), event(fetches.length)];
          },
          async close() { closed++; },
        };
      },
    };
    const { logger } = capture();
    const pipeline = recordingPipeline();
    const started = Date.now();
    const runner = new Runner({ plans: [plan(def)], pipeline, logger, metrics: new PromMetricsRegistry({ defaultMetrics: false }), info });
    runner.start();
    await waitFor('three fetches', () => fetches.length >= 3);
    await runner.stop(10_000);
    assert.ok(fetches[0]! - started < 5000, 'the first fetch does not wait for a period');
    for (let i = 1; i < fetches.length; i++) assert.ok(fetches[i]! - fetches[i - 1]! >= 95, `period ${fetches[i]! - fetches[i - 1]!}`);
    assert.equal(pipeline.events.length, fetches.length * 2);
    assert.equal(closed, 1);
  });

  test('publish is the backpressure: a push dataset is not pulled while the pipeline waits', async () => {
    let pulled = 0;
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'eager',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        return {
          kind: 'push',
          async *events(signal) {
            while (!signal.aborted) { pulled++; yield event(pulled); }
          },
        };
      },
    };
    const { logger } = capture();
    const pipeline = recordingPipeline();
    const release = pipeline.hold();
    const runner = new Runner({ plans: [plan(def)], pipeline, logger, metrics: new PromMetricsRegistry({ defaultMetrics: false }), info });
    runner.start();
    await waitFor('the first pull', () => pulled >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pulled, 1, 'nothing more is pulled while publish is pending');
    release();
    await waitFor('more events once the pipeline has room', () => pipeline.events.length >= 100);
    await runner.stop(10_000);
  });

  test('stop() gives up on a dataset that ignores the abort and reports it', async () => {
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'stubborn',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        return { kind: 'push', async *events() { await new Promise(() => undefined); } };
      },
    };
    const { lines, logger } = capture();
    const runner = new Runner({ plans: [plan(def)], pipeline: recordingPipeline(), logger, metrics: new PromMetricsRegistry({ defaultMetrics: false }), info });
    runner.start();
    const { stuck } = await runner.stop(200);
    assert.deepEqual(stuck, ['rtest/stubborn']);
    assert.ok(lines.some((l) => l['log.level'] === 'warn' && /still running/.test(String(l['message']))));
  });

  test('runFor runs for a bounded time', async () => {
    const def: DatasetDefinition<unknown> = {
      module: 'rtest', name: 'bounded',
      validate: () => ({ ok: true, config: {} }),
      async create(): Promise<Dataset> {
        return { kind: 'periodic', periodMs: 50, fetch: async () => [event(0)] };
      },
    };
    const pipeline = recordingPipeline();
    const result = await runFor({ plans: [plan(def)], pipeline, logger: capture().logger, metrics: new PromMetricsRegistry({ defaultMetrics: false }), info, durationMs: 300 });
    assert.deepEqual(result.stuck, []);
    assert.ok(pipeline.events.length >= 1);
  });
});
