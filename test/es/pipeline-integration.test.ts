/**
 * The output as procbeat runs it: built by the output registry from `output.elasticsearch`,
 * behind the real publisher pipeline, with the Prometheus-backed metrics registry. Checks the
 * index management on connect, that `/stats` counters add up after a faulty run, and that no
 * credential reaches /stats or /metrics.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { BeatInfo } from '../../core/api/dataset.js';
import { buildStats, type StatsTree } from '../../core/monitoring/stats.js';
import { PromMetricsRegistry } from '../../core/monitoring/registry.js';
import { createOutput } from '../../core/outputs/registry.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { configureSetupOnConnect } from '../../core/setup/auto.js';
import { FakeElasticsearch } from './fake-es.js';
import { makeEvents, silentLogger, waitFor } from './helpers.js';

const info: BeatInfo = {
  name: 'procbeat',
  version: '0.1.0',
  uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'test-host',
  hostId: 'test-host-id',
  paths: { data: '/tmp', logs: '/tmp' },
};

const es = new FakeElasticsearch();
after(() => es.stop());

function num(tree: StatsTree, path: string): number {
  let cur: unknown = tree;
  for (const k of path.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[k];
  return typeof cur === 'number' ? cur : 0;
}

test('registry-built output behind the pipeline: setup on connect, faults, counters that add up, no secrets', { timeout: 120_000 }, async () => {
  await es.start();
  configureSetupOnConnect({ template: { overwrite: false }, ilm: { enabled: true } });
  const metrics = new PromMetricsRegistry({ defaultMetrics: false });
  const logger = silentLogger();
  const output = await createOutput(
    {
      elasticsearch: {
        hosts: [`127.0.0.1:${es.port}`],
        username: 'elastic',
        password: 'pipeline-secret-pw',
        backoff: { init: '5ms', max: '40ms' },
        max_retries: 2,
      },
    },
    { logger, metrics, info },
  );
  let bulkBeforeTemplate = false;
  const failedOnce = new Set<number>();
  es.faults.item = (_a, doc) => {
    if (!es.templates.has('procbeat-0.1.0')) bulkBeforeTemplate = true;
    const seq = doc['seq'] as number;
    if (seq % 100 === 0) return { status: 400, type: 'mapper_parsing_exception' };
    if (seq % 7 === 0 && !failedOnce.has(seq)) {
      failedOnce.add(seq);
      return { status: 429 };
    }
    return undefined;
  };
  es.faults.requestStatus = (n) => (n === 2 ? 503 : 0);

  const pipeline = createPipeline({
    queue: { events: 3200, flushMinEvents: 500, flushTimeoutMs: 50 },
    processors: [],
    output,
    metrics,
    logger,
    info,
  });
  const total = 5000;
  for (const ev of makeEvents(0, total, { withIds: true })) await pipeline.publish(ev);
  await waitFor(() => num(buildStats({ info, ephemeralId: 'e', startedAt: Date.now(), snapshot: metrics.snapshot() }), 'libbeat.output.events.acked') >= total - 50, 60_000, 'events acked');
  const drained = await pipeline.close(30_000);
  assert.equal(drained.undelivered, 0);

  assert.ok(es.templates.has('procbeat-0.1.0'), 'the template was loaded on connect');
  assert.ok(es.pipelines.has('procbeat-0.1.0-system-process-pipeline'));
  assert.ok(es.policies.has('procbeat'));
  assert.equal(bulkBeforeTemplate, false, 'no document was written before the template existed');

  const stats = buildStats({ info, ephemeralId: 'e', startedAt: Date.now(), snapshot: metrics.snapshot() });
  const o = (k: string): number => num(stats, `libbeat.output.${k}`);
  assert.equal(o('events.total'), total);
  assert.equal(o('events.acked'), total - 50);
  assert.equal(o('events.dropped'), 50);
  assert.equal(o('events.non_indexable'), 50);
  assert.equal(o('events.active'), 0);
  assert.equal(o('events.acked') + o('events.dropped') + o('events.active'), o('events.total'));
  assert.ok(o('events.failed') > 0 && o('events.toomany') > 0 && o('retries') > 0 && o('write.bytes') > 0);
  assert.equal(num(stats, 'libbeat.pipeline.events.total'), total);
  assert.equal(num(stats, 'libbeat.pipeline.events.acked') + num(stats, 'libbeat.pipeline.events.failed'), total);
  assert.equal((stats['libbeat'] as StatsTree)['output'] && ((stats['libbeat'] as StatsTree)['output'] as StatsTree)['type'], 'elasticsearch');

  for (let s = 0; s < total; s++) assert.equal(es.seqCount.get(s) ?? 0, s % 100 === 0 ? 0 : 1, `seq ${s}`);

  const text = JSON.stringify(stats) + (await metrics.metricsText());
  assert.ok(!text.includes('pipeline-secret-pw'));
  assert.match(await metrics.metricsText(), /procbeat_output_events_non_indexable 50/);
});
