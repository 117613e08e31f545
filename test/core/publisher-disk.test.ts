/**
 * The pipeline with queue.disk: events go through segment files to the output, stay on disk
 * across a close with the output down, come back after a restart exactly once, and the
 * counters (pipeline.events.* and pipeline.queue.disk.*) add up, damage included.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import type { DiskQueueSettings } from '../../core/publisher/diskqueue/event-queue.js';
import { buildStats } from '../../core/monitoring/stats.js';
import { PromMetricsRegistry } from '../../core/monitoring/registry.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { FakeOutput, MemoryMetrics, event, invariantHolds, pipelineCounts, silentLogger, testInfo, waitFor } from './publisher-support.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function disk(over: Partial<DiskQueueSettings> = {}): DiskQueueSettings {
  const path = join(mkdtempSync(join(tmpdir(), 'procbeat-pdq-')), 'diskqueue');
  dirs.push(path, join(path, '..'));
  return { path, maxSize: 64 << 20, segmentSize: 64 << 10, readAhead: 512, writeAhead: 2048, retryIntervalMs: 20, maxRetryIntervalMs: 100, ...over };
}

function start(settings: DiskQueueSettings, output = new FakeOutput()) {
  const metrics = new MemoryMetrics();
  const pipeline = createPipeline({
    processors: [], logger: silentLogger, info: testInfo(), queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 10_000 },
    disk: settings, output, metrics,
  });
  return { pipeline, output, metrics, p: metrics.namespace('pipeline') };
}

const seqOf = (e: BeatEvent): number => e.fields['seq'] as number;
const delivered = (o: FakeOutput): number[] => o.batches.flat().map(seqOf);

describe('pipeline with queue.disk', () => {
  it('delivers through the disk at once (no flush wait), with meta, and reports the queue on its metrics', async () => {
    const { pipeline, output, metrics, p } = start(disk());
    for (let i = 0; i < 3000; i++) {
      const e = event({ seq: i, process: { pid: i } });
      e.meta = { _id: `id-${i}` };
      await pipeline.publish(e);
    }
    await waitFor(() => output.delivered === 3000, 'all delivered');
    assert.deepEqual(delivered(output), Array.from({ length: 3000 }, (_, i) => i));
    assert.equal(output.batches[0]![0]!.meta?.['_id'], 'id-0');
    assert.ok(output.batches.every((b) => b.length <= 512), 'read_ahead bounds a batch');
    await waitFor(() => p.num('queue.disk.events') === 0, 'all acked on disk');
    assert.equal(p.num('queue.disk.acked'), 3000);
    assert.equal(p.num('queue.max_bytes'), 64 << 20);
    assert.ok(p.num('queue.filled.bytes') > 0);
    assert.equal(p.num('events.acked'), 3000);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    await pipeline.close(1000);
  });

  it('output down: close keeps the events on disk; after a restart each is delivered exactly once', async () => {
    const settings = disk();
    const down = new FakeOutput();
    down.hold();
    const first = start(settings, down);
    for (let i = 0; i < 2000; i++) await first.pipeline.publish(event({ seq: i }));
    await waitFor(() => first.p.num('queue.disk.events') === 2000 && down.pending.length === 1, 'on disk, one batch out');
    await waitFor(() => first.p.num('queue.disk.oldest_unacked.age.ms') > 0, 'the oldest unacked event ages', 5000);
    const drained = await first.pipeline.close(100);
    assert.equal(drained.undelivered, 0, 'nothing is dropped: it stays on disk');
    assert.equal(first.p.num('events.dropped'), 0);
    for (const n of readdirSync(settings.path)) assert.match(n, /^(\d{10}\.seg|state\.dat)$/);

    const second = start(settings);
    assert.equal(second.p.num('queue.disk.recovered'), 2000);
    await waitFor(() => second.output.delivered === 2000, 'recovered events delivered');
    await waitFor(() => second.p.num('queue.disk.events') === 0, 'all acked');
    assert.deepEqual(delivered(second.output), Array.from({ length: 2000 }, (_, i) => i));
    assert.equal(second.p.num('events.total'), 2000, 'recovered events count as this run\'s');
    assert.ok(invariantHolds(second.metrics), JSON.stringify(pipelineCounts(second.metrics)));
    await second.pipeline.close(1000);

    const third = start(settings);
    assert.equal(third.p.num('queue.disk.recovered'), 0, 'nothing comes back twice');
    await third.pipeline.close(1000);
  });

  it('at max_size a source that cannot wait is refused and counted; room comes back as the output acks', async () => {
    const { pipeline, output, metrics, p } = start(disk({ maxSize: 32 << 10, segmentSize: 8 << 10 }));
    output.hold();
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      if (pipeline.tryPublish(event({ seq: i, pad: 'z'.repeat(100) }))) accepted++;
      else refused++;
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(refused > 0 && accepted > 0, `accepted ${accepted}, refused ${refused}`);
    assert.equal(p.num('events.dropped'), refused);
    assert.ok(p.num('queue.filled.bytes') <= 32 << 10);
    await output.release();
    await waitFor(() => p.num('queue.disk.events') === 0, 'acked');
    assert.ok(pipeline.tryPublish(event({ seq: 99_999 })), 'room again');
    await waitFor(() => p.num('events.acked') === accepted + 1, 'the late one too');
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    await pipeline.close(1000);
  });

  it('/stats and /metrics show the disk queue: bytes, events, acked, retried, corrupted, oldest unacked age', async () => {
    const registry = new PromMetricsRegistry({ defaultMetrics: false });
    const output = new FakeOutput();
    const pipeline = createPipeline({
      processors: [], logger: silentLogger, info: testInfo(), queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 10_000 },
      disk: disk(), output, metrics: registry,
    });
    for (let i = 0; i < 10; i++) await pipeline.publish(event({ seq: i }));
    await waitFor(() => output.delivered === 10, 'delivered');
    const stats = buildStats({ info: testInfo(), ephemeralId: 'e', startedAt: Date.now(), snapshot: registry.snapshot() });
    const at = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], stats);
    assert.equal(at('libbeat.pipeline.queue.max_bytes'), 64 << 20);
    assert.ok(Number(at('libbeat.pipeline.queue.filled.bytes')) > 0);
    for (const k of ['events', 'acked', 'retried', 'recovered', 'segments', 'pending', 'blocked', 'corrupted.events', 'oldest_unacked.age.ms']) {
      assert.equal(typeof at(`libbeat.pipeline.queue.disk.${k}`), 'number', k);
    }
    assert.equal(at('libbeat.pipeline.queue.disk.acked'), 10);
    const text = await registry.metricsText();
    for (const name of ['procbeat_pipeline_queue_filled_bytes', 'procbeat_pipeline_queue_disk_events', 'procbeat_pipeline_queue_disk_acked',
      'procbeat_pipeline_queue_disk_retried', 'procbeat_pipeline_queue_disk_corrupted_events', 'procbeat_pipeline_queue_disk_oldest_unacked_age_ms']) {
      assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
    }
    await pipeline.close(1000);
  });

  it('write_ahead holds producers back until the pending events are written, then lets them in in order', async () => {
    const { pipeline, output, metrics, p } = start(disk({ writeAhead: 100 }));
    const published = Array.from({ length: 1000 }, (_, i) => pipeline.publish(event({ seq: i })));
    assert.ok(p.num('queue.disk.pending') <= 100);
    await Promise.all(published);
    await waitFor(() => output.delivered === 1000, 'all delivered');
    assert.deepEqual(delivered(output), Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(p.num('events.dropped'), 0);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    await pipeline.close(1000);
  });

  it('an event larger than a segment, or one JSON cannot encode, is dropped and counted, never thrown', async () => {
    const { pipeline, output, metrics, p } = start(disk({ segmentSize: 16 << 10 }));
    await pipeline.publish(event({ seq: 0 }));
    await pipeline.publish(event({ seq: 1, huge: 'h'.repeat(100_000) }));
    assert.equal(pipeline.tryPublish(event({ seq: 2, n: 1n as unknown as number })), true);
    await pipeline.publish(event({ seq: 3 }));
    await waitFor(() => output.delivered === 2, 'the storable ones delivered');
    assert.deepEqual(delivered(output), [0, 3]);
    assert.equal(p.num('events.dropped'), 2);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    await pipeline.close(1000);
  });

  it('damaged events found after a restart are skipped and counted as dropped; the numbers still add up', async () => {
    const settings = disk({ segmentSize: 1 << 20 });
    const down = new FakeOutput();
    down.hold();
    const first = start(settings, down);
    for (let i = 0; i < 100; i++) await first.pipeline.publish(event({ seq: i }));
    await waitFor(() => first.p.num('queue.disk.events') === 100, 'on disk');
    await first.pipeline.close(50);

    const seg = join(settings.path, readdirSync(settings.path).find((n) => n.endsWith('.seg'))!);
    const bytes = readFileSync(seg);
    for (const s of [10, 11, 50]) {
      const at = bytes.indexOf(`"seq":${s},`);
      assert.ok(at > 0, `event ${s} is in the segment`);
      bytes[at + 3] ^= 0x55;
    }
    writeFileSync(seg, bytes);

    const second = start(settings);
    await waitFor(() => second.p.num('queue.disk.events') === 0, 'all settled');
    const got = delivered(second.output);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i).filter((i) => ![10, 11, 50].includes(i)));
    assert.equal(second.p.num('queue.disk.corrupted.events'), 3);
    assert.equal(second.p.num('events.dropped'), 3);
    assert.equal(second.p.num('events.active'), 0);
    assert.ok(invariantHolds(second.metrics), JSON.stringify(pipelineCounts(second.metrics)));
    await second.pipeline.close(1000);
  });
});
