import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BeatInfo, DatasetDefinition, EventBatch, PushDataset } from '../../core/api/dataset.js';
import type { BeatEvent } from '../../core/api/event.js';
import { createLogger } from '../../core/logging/logger.js';
import { PromMetricsRegistry } from '../../core/monitoring/registry.js';
import type { DatasetPlan } from '../../core/registry/plan.js';
import { Runner } from '../../core/runner/runner.js';
import { waitFor } from './cli-helpers.js';

const info: BeatInfo = {
  name: 'procbeat', version: '0.0.0-test', uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'test', hostId: 'test', paths: { data: '/tmp', logs: '/tmp' },
};

describe('runner: push datasets that hand over batches', () => {
  test('each document of a batch is built only after the one before it was queued, with no wait per event', async () => {
    const trace: string[] = [];
    let publishCalls = 0;
    const pipeline = {
      offer(e: BeatEvent): Promise<void> | undefined {
        trace.push(`queued ${String(e.fields.n)}`);
        return undefined;
      },
      async publish(): Promise<void> {
        publishCalls++;
      },
    };
    function* lazy(from: number, count: number): Generator<BeatEvent> {
      for (let i = from; i < from + count; i++) {
        trace.push(`built ${i}`);
        yield { timestamp: new Date(), fields: { n: i } };
      }
    }
    const dataset: PushDataset = {
      kind: 'push',
      // The runner must not fall back to this one-at-a-time view when batches exist.
      events(): AsyncIterable<BeatEvent> {
        throw new Error('events() used although the dataset offers batches');
      },
      async *batches(signal: AbortSignal): AsyncIterable<EventBatch> {
        yield lazy(0, 3);
        yield lazy(3, 2);
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    };
    const def: DatasetDefinition<unknown> = { module: 'test', name: 'batches', validate: () => ({ ok: true, config: {} }), create: async () => dataset };
    const plan: DatasetPlan = { id: 'test/batches', module: 'test', dataset: 'batches', key: 'procbeat.modules[0]', definition: def, config: {}, moduleSettings: { fieldsUnderRoot: false, tags: [], keepNull: false } };
    const { logger } = createLogger({ level: 'error', toStderr: false, toFiles: false });
    const metrics = new PromMetricsRegistry();
    const runner = new Runner({ plans: [plan], pipeline, logger, metrics, info });
    runner.start();
    await waitFor('all five events queued', () => trace.length === 10);
    await runner.stop(2000);
    assert.deepEqual(trace, ['built 0', 'queued 0', 'built 1', 'queued 1', 'built 2', 'queued 2', 'built 3', 'queued 3', 'built 4', 'queued 4']);
    assert.equal(publishCalls, 0, 'no promise per event when the queue has room');
  });
});
