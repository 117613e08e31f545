/**
 * Index management on the output's first connection against the local server answering as
 * Elasticsearch 9.2 does: a publish-only role (403 on every asset write) still ships every
 * event, an out-of-date procbeat template is brought up to date, and a pipeline that is
 * already there is not uploaded again.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { createClient } from '../../core/outputs/elasticsearch/client.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { configureSetupOnConnect, setupOnConnect } from '../../core/setup/auto.js';
import { runSetup } from '../../core/setup/load.js';
import { readSetupSettings } from '../../core/setup/settings.js';
import { FakeElasticsearch, PUBLISHER_PRIVILEGES } from './fake-es.js';
import { MemoryMetrics, captureLogs, makeEvents, type CapturedLog } from './helpers.js';

const VERSION = '0.1.0';
const INDEX = `procbeat-${VERSION}`;
const PIPELINE = `procbeat-${VERSION}-system-process-pipeline`;
const info = { beatName: 'procbeat', version: VERSION };

const es = new FakeElasticsearch();
before(() => es.start());
after(() => es.stop());
beforeEach(() => {
  es.clusterPrivileges = undefined;
  es.templates.clear();
  es.policies.clear();
  es.pipelines.clear();
  es.indices.clear();
  es.calls.clear();
  es.denied.length = 0;
  configureSetupOnConnect(undefined);
});

/** `procbeat setup` as a setup role would run it. */
async function setupAsAdmin(select = { indexManagement: true, pipelines: true }): Promise<void> {
  const config = validateElasticsearchConfig({ hosts: [es.url] }, { beatName: 'procbeat', beatVersion: VERSION });
  const client = createClient(config, { userAgent: 'test' });
  try {
    await runSetup(client, readSetupSettings(undefined, info), select, info);
  } finally {
    await client.close();
  }
}

/** Publishes `count` events through an output with the on-connect hook; gives up after 10 s. */
async function ship(count: number, log: CapturedLog): Promise<{ acked: number; dropped: number }> {
  const config = validateElasticsearchConfig({ hosts: [es.url], backoff: { init: '20ms', max: '100ms' } }, { beatName: 'procbeat', beatVersion: VERSION });
  const onConnect = setupOnConnect({ ...info, logger: log.logger });
  const deps: ConstructorParameters<typeof ElasticsearchOutput>[1] = { logger: log.logger, metrics: new MemoryMetrics(), userAgent: 'test' };
  if (onConnect) deps.onConnect = onConnect;
  const output = new ElasticsearchOutput(config, deps);
  try {
    return await output.publish(makeEvents(0, count), AbortSignal.timeout(10_000));
  } finally {
    await output.close();
  }
}

function puts(): number {
  return [...es.calls].filter(([k]) => k.startsWith('PUT')).reduce((n, [, v]) => n + v, 0);
}

describe('index management on connect', () => {
  test('a publish-only role ships every event when the assets are in place (9.2 pipeline dates do not force an upload)', async () => {
    await setupAsAdmin();
    es.calls.clear();
    es.clusterPrivileges = new Set(PUBLISHER_PRIVILEGES);
    const log = captureLogs('info');
    const r = await ship(500, log);
    assert.deepEqual(r, { acked: 500, dropped: 0 }, log.text());
    assert.equal(es.docCount(INDEX), 500);
    assert.equal(puts(), 0, 'nothing was uploaded');
    assert.deepEqual(es.denied, []);
    assert.match(log.text(), /already loaded, unchanged/);
  });

  test('a publish-only role facing an out-of-date pipeline and template leaves them, says so once, and ships every event', async () => {
    await setupAsAdmin();
    es.pipelines.set(PIPELINE, { description: 'an older body', processors: [] });
    // as the template of an earlier build: no revision, no fingerprint
    const t = es.templates.get(INDEX) as { _meta: Record<string, unknown> };
    es.templates.set(INDEX, { ...t, _meta: { beat: 'procbeat', version: VERSION } });
    es.clusterPrivileges = new Set(PUBLISHER_PRIVILEGES);
    const log = captureLogs('info');
    const r = await ship(300, log);
    assert.deepEqual(r, { acked: 300, dropped: 0 }, log.text());
    assert.equal(es.docCount(INDEX), 300);
    assert.deepEqual(es.denied.sort(), [`PUT /_index_template/${INDEX}`, `PUT /_ingest/pipeline/${PIPELINE}`]);
    const said = log.lines.filter((l) => /HTTP 403: the role lacks/.test(l));
    assert.equal(said.length, 2, log.text());
    assert.match(log.text(), /lacks manage_pipeline\); the one in the cluster is left as it is/);
    assert.match(log.text(), /lacks manage_index_templates\)/);
  });

  test('a role that cannot even read the assets still ships every event', async () => {
    await setupAsAdmin();
    es.clusterPrivileges = new Set();
    const log = captureLogs('info');
    const r = await ship(100, log);
    assert.deepEqual(r, { acked: 100, dropped: 0 }, log.text());
    assert.match(log.text(), /cannot check it \(HTTP 403: the role lacks read_pipeline\)/);
  });

  test('a procbeat template loaded before its pipeline, or by an older revision, is brought up to date', async () => {
    await setupAsAdmin({ indexManagement: true, pipelines: false });
    const defaultPipeline = (): unknown => (es.templates.get(INDEX) as { template: { settings: { index: Record<string, unknown> } } }).template.settings.index['default_pipeline'];
    assert.equal(defaultPipeline(), undefined);
    const log = captureLogs('info');
    assert.deepEqual(await ship(10, log), { acked: 10, dropped: 0 });
    assert.equal(defaultPipeline(), PIPELINE, log.text());
    assert.match(log.text(), /updated \(out of date: it does not name the default pipeline/);

    const t = es.templates.get(INDEX) as { _meta: Record<string, unknown> };
    es.templates.set(INDEX, { ...t, _meta: { beat: 'procbeat', version: VERSION } });
    const again = captureLogs('info');
    assert.deepEqual(await ship(10, again), { acked: 10, dropped: 0 });
    assert.equal((es.templates.get(INDEX) as { _meta: { revision?: number } })._meta.revision, 2, again.text());
  });

  test('a template that is not procbeat\'s is kept on connect', async () => {
    es.templates.set(INDEX, { index_patterns: [INDEX], data_stream: {}, priority: 500, _meta: { owner: 'ops' } });
    const log = captureLogs('info');
    assert.deepEqual(await ship(10, log), { acked: 10, dropped: 0 });
    assert.equal((es.templates.get(INDEX) as { priority: number }).priority, 500);
    assert.match(log.text(), /kept, exists and differs/);
  });
});
