import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BeatInfo } from '../../core/api/dataset.js';
import { createLogger } from '../../core/logging/logger.js';
import { startMetricsLog } from '../../core/monitoring/metrics-log.js';
import { PromMetricsRegistry, promName } from '../../core/monitoring/registry.js';
import { startMonitoringServer, type MonitoringServer } from '../../core/monitoring/server.js';
import { httpGet } from './cli-helpers.js';

const info: BeatInfo = {
  name: 'procbeat', version: '1.2.3', uuid: '11111111-2222-4333-8444-555555555555',
  hostname: 'host-a', hostId: 'abc', paths: { data: '/tmp', logs: '/tmp' },
};

describe('metrics registry', () => {
  test('namespaces keep numbers and strings; inc adds up', () => {
    const r = new PromMetricsRegistry({ defaultMetrics: false });
    const ns = r.namespace('pipeline');
    assert.equal(r.namespace('pipeline'), ns, 'same namespace on every call');
    ns.inc('events.total');
    ns.inc('events.total', 4);
    ns.set('queue.max_events', 3200);
    r.namespace('process@quark').set('backend', 'ebpf');
    assert.equal(ns.get('events.total'), 5);
    assert.equal(r.namespace('process@quark').get('backend'), 'ebpf');
    assert.equal(ns.get('missing'), undefined);
  });

  test('prometheus names: procbeat_<ns>_<key>, dots and @ become _', () => {
    assert.equal(promName('process@quark', 'lost'), 'procbeat_process_quark_lost');
    assert.equal(promName('pipeline', 'events.total'), 'procbeat_pipeline_events_total');
    assert.equal(promName('output', 'write-bytes'), 'procbeat_output_write_bytes');
  });
});

describe('monitoring endpoint', () => {
  const registry = new PromMetricsRegistry();
  let server: MonitoringServer;
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false, destination: { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } } });
    server = await startMonitoringServer({
      host: '127.0.0.1', port: 0, registry, info, name: 'edge-1', ephemeralId: 'eph', startedAt: Date.now() - 1000, logger,
      state: () => ({ output: { name: 'file' } }),
    });
    const pipeline = registry.namespace('pipeline');
    pipeline.inc('events.total', 10);
    pipeline.inc('events.acked', 9);
    pipeline.inc('events.dropped', 1);
    registry.namespace('output').inc('events.acked', 9);
    const quark = registry.namespace('process@quark');
    quark.set('backend', 'kprobe');
    quark.inc('lost', 3);
    quark.set('backend', 'ebpf');
  });
  after(() => server.close());

  test('the bound address is logged (port 0 picks one)', () => {
    assert.ok(server.port > 0);
    assert.ok(logs.some((l) => String(l['message']).includes(`listening on http://127.0.0.1:${server.port}`)));
  });

  test('/ gives the beat info', async () => {
    const res = await httpGet(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.type, /application\/json/);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    assert.deepEqual(
      { beat: body['beat'], name: body['name'], hostname: body['hostname'], uuid: body['uuid'], version: body['version'] },
      { beat: 'procbeat', name: 'edge-1', hostname: 'host-a', uuid: info.uuid, version: '1.2.3' },
    );
  });

  test('/stats nests namespaces like beats', async () => {
    const res = await httpGet(`${server.url}/stats`);
    assert.equal(res.status, 200);
    const stats = JSON.parse(res.body) as any;
    assert.deepEqual(stats.libbeat.pipeline.events, { total: 10, acked: 9, dropped: 1 });
    assert.deepEqual(stats.libbeat.output.events, { acked: 9 });
    assert.deepEqual(stats['process@quark'], { backend: 'ebpf', lost: 3 });
    assert.ok(stats.beat.memstats.rss > 0);
    assert.ok(stats.beat.memstats.heap_used > 0);
    assert.ok(stats.beat.info.uptime.ms >= 1000);
    assert.ok(stats.beat.cpu.user.ticks >= 0);
    assert.equal(stats.beat.info.ephemeral_id, 'eph');
    assert.ok((await httpGet(`${server.url}/stats?pretty`)).body.includes('\n  "beat": {'));
  });

  test('/metrics is Prometheus text with our gauges and the default process metrics', async () => {
    const res = await httpGet(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.type, /text\/plain/);
    assert.match(res.body, /^procbeat_pipeline_events_total 10$/m);
    assert.match(res.body, /^procbeat_pipeline_events_acked 9$/m);
    assert.match(res.body, /^procbeat_process_quark_lost 3$/m);
    assert.match(res.body, /^procbeat_process_quark_backend\{value="ebpf"\} 1$/m);
    assert.doesNotMatch(res.body, /backend\{value="kprobe"\}/, 'an old string value is not reported');
    assert.match(res.body, /^process_cpu_user_seconds_total /m);
    assert.match(res.body, /^process_resident_memory_bytes /m);
  });

  test('/state, unknown paths and methods', async () => {
    const state = JSON.parse((await httpGet(`${server.url}/state`)).body) as any;
    assert.equal(state.output.name, 'file');
    assert.equal(state.beat.name, 'edge-1');
    assert.equal((await httpGet(`${server.url}/nope`)).status, 404);
    const res = await fetch(`${server.url}/stats`, { method: 'POST' });
    assert.equal(res.status, 405);
    await res.arrayBuffer();
  });

  test('a busy port is a clear error', async () => {
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false });
    await assert.rejects(
      startMonitoringServer({ host: '127.0.0.1', port: server.port, registry, info, name: 'x', ephemeralId: 'e', startedAt: 0, logger }),
      new RegExp(`^Error: http: cannot listen on 127.0.0.1:${server.port}: the address is already in use$`),
    );
  });
});

describe('metrics log', () => {
  test('logs what changed each period, and the totals when stopped', async () => {
    const registry = new PromMetricsRegistry({ defaultMetrics: false });
    const lines: Array<Record<string, any>> = [];
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false, destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, any>); } } });
    const ns = registry.namespace('pipeline');
    ns.inc('events.total', 5);
    const stop = startMetricsLog(registry, logger, 50);
    ns.inc('events.total', 2);
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l['monitoring']?.metrics?.['pipeline.events.total'] === 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop();
    const periodic = lines.find((l) => String(l['message']).startsWith('Non-zero metrics'));
    assert.equal(periodic?.['monitoring'].metrics['pipeline.events.total'], 2, 'deltas, not totals');
    const total = lines.at(-1)!;
    assert.equal(total['message'], 'Total metrics');
    assert.equal(total['monitoring'].metrics['pipeline.events.total'], 7);
  });
});
