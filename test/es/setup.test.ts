/**
 * `procbeat setup`, `export` and `test output`: against the local HTTP server (through the
 * real CLI entry point) and, for the exact API calls, against @elastic/elasticsearch-mock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRequire } from 'node:module';
import type { BaseConnection } from '@elastic/elasticsearch';
import { main } from '../../core/cli/main.js';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { createClient } from '../../core/outputs/elasticsearch/client.js';
import { runSetup, SetupError } from '../../core/setup/load.js';
import { readSetupSettings } from '../../core/setup/settings.js';
import { FakeElasticsearch, PUBLISHER_PRIVILEGES } from './fake-es.js';

// The mock is CommonJS and checks `instanceof` against the CommonJS client's error classes.
const require = createRequire(import.meta.url);
interface ClientMock {
  add(pattern: { method: string; path: string }, resolver: (params: { method: string; path: string; body?: unknown }) => unknown): ClientMock;
  getConnection(): typeof BaseConnection;
}
const Mock = require('@elastic/elasticsearch-mock') as new () => ClientMock;
const { errors } = require('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');

const VERSION = '0.1.0';
const TEMPLATE = `procbeat-${VERSION}`;
const PIPELINE = `procbeat-${VERSION}-system-process-pipeline`;

const dir = mkdtempSync(join(tmpdir(), 'procbeat-es-setup-'));
const es = new FakeElasticsearch();
before(() => es.start());
after(async () => {
  await es.stop();
  rmSync(dir, { recursive: true, force: true });
});

function configFile(extra = '', hosts = `["127.0.0.1:${es.port}"]`): string {
  const file = join(dir, `procbeat-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, `output.elasticsearch:\n  hosts: ${hosts}\n  password: pw-that-must-not-show\n  username: elastic\n${extra}`);
  return file;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--path.data', join(dir, 'data')], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

function reset(): void {
  es.templates.clear();
  es.policies.clear();
  es.pipelines.clear();
  es.calls.clear();
}

describe('procbeat setup against a local server', () => {
  test('loads the pipeline, the ILM policy and the template; running it again changes nothing', async () => {
    reset();
    const file = configFile();
    const first = await cli(['setup', '-c', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Ingest pipeline ${PIPELINE}: loaded`));
    assert.match(first.stdout, /ILM policy procbeat: loaded/);
    assert.match(first.stdout, new RegExp(`Index template ${TEMPLATE}: loaded`));
    const template = es.templates.get(TEMPLATE) as { index_patterns: string[]; priority: number; data_stream: object; template: { settings: { index: Record<string, unknown> } } };
    assert.deepEqual(template.index_patterns, [TEMPLATE]);
    assert.equal(template.priority, 150);
    assert.deepEqual(template.data_stream, {});
    assert.deepEqual(template.template.settings.index['lifecycle'], { name: 'procbeat' });
    assert.equal(template.template.settings.index['default_pipeline'], PIPELINE);
    assert.ok(es.policies.has('procbeat'));
    assert.ok(es.pipelines.has(PIPELINE));

    const puts = (): number => [...es.calls].filter(([k]) => k.startsWith('PUT')).reduce((n, [, v]) => n + v, 0);
    const before = puts();
    const second = await cli(['setup', '-c', file]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(puts(), before, 'a second setup writes nothing');
    // 9.2+ adds created/modified_date_millis to the pipeline it returns: still the same pipeline
    assert.match(second.stdout, new RegExp(`Ingest pipeline ${PIPELINE}: already loaded, unchanged`));
    assert.match(second.stdout, /ILM policy procbeat: already loaded, unchanged/);
    assert.match(second.stdout, new RegExp(`Index template ${TEMPLATE}: already loaded, unchanged`));
  });

  test('procbeat setup replaces a template and a policy that differ, as beats\' setup does', async () => {
    reset();
    const file = configFile();
    assert.equal((await cli(['setup', '-c', file])).code, 0);
    const t = es.templates.get(TEMPLATE) as { priority: number };
    es.templates.set(TEMPLATE, { ...t, priority: 1 });
    es.policies.set('procbeat', { policy: { phases: { hot: { actions: {} } } } });
    const r = await cli(['setup', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ILM policy procbeat: overwritten/);
    assert.match(r.stdout, new RegExp(`Index template ${TEMPLATE}: overwritten`));
    assert.equal((es.templates.get(TEMPLATE) as { priority: number }).priority, 150);
  });

  test('a template loaded before its pipeline gains the default pipeline on the next setup', async () => {
    reset();
    const file = configFile();
    assert.equal((await cli(['setup', '--index-management', '-c', file])).code, 0);
    assert.equal((await cli(['setup', '--pipelines', '-c', file])).code, 0);
    const defaultPipeline = (): unknown => (es.templates.get(TEMPLATE) as { template: { settings: { index: Record<string, unknown> } } }).template.settings.index['default_pipeline'];
    assert.equal(defaultPipeline(), undefined);
    const r = await cli(['setup', '--index-management', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Index template ${TEMPLATE}: updated \\(out of date: it does not name the default pipeline ${PIPELINE}\\)`));
    assert.equal(defaultPipeline(), PIPELINE);
  });

  test('a role without the setup privileges fails procbeat setup naming the privilege', async () => {
    reset();
    es.clusterPrivileges = new Set(PUBLISHER_PRIVILEGES);
    try {
      const r = await cli(['setup', '-c', configFile()]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ingest pipeline .*: Elasticsearch answered HTTP 403 \(security_exception: .*\) \(writing it needs the manage_pipeline cluster privilege\)/);
    } finally {
      es.clusterPrivileges = undefined;
    }
  });

  test('overwrite settings replace what exists; a changed pipeline body is updated', async () => {
    reset();
    es.templates.set(TEMPLATE, { old: true, _meta: { beat: 'someone-else' } });
    es.policies.set('procbeat', { policy: { phases: {} } });
    es.pipelines.set(PIPELINE, { processors: [] });
    const file = configFile('setup.template.overwrite: true\nsetup.ilm.overwrite: true\n');
    const r = await cli(['setup', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Ingest pipeline .*: updated/);
    assert.match(r.stdout, /ILM policy procbeat: overwritten/);
    assert.match(r.stdout, /Index template .*: overwritten/);
    assert.equal((es.templates.get(TEMPLATE) as { old?: boolean }).old, undefined);
  });

  test('--index-management alone does not name a pipeline the cluster lacks; --pipelines loads only pipelines', async () => {
    reset();
    const file = configFile();
    const r = await cli(['setup', '--index-management', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(es.pipelines.size, 0);
    const t = es.templates.get(TEMPLATE) as { template: { settings: { index: Record<string, unknown> } } };
    assert.equal(t.template.settings.index['default_pipeline'], undefined);

    reset();
    const p = await cli(['setup', '--pipelines', '-c', file]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(es.templates.size, 0);
    assert.equal(es.policies.size, 0);
    assert.ok(es.pipelines.has(PIPELINE));
  });

  test('disabled template and ILM are reported, custom names and settings used', async () => {
    reset();
    const off = await cli(['setup', '--index-management', '-c', configFile('setup.template.enabled: false\nsetup.ilm.enabled: false\n')]);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /not loaded \(setup\.template\.enabled: false\)/);
    assert.equal(es.templates.size + es.policies.size, 0);

    const custom = await cli([
      'setup', '-c',
      configFile('  index: "events-%{[agent.version]}"\nsetup.template.name: events\nsetup.template.pattern: "events-*"\nsetup.template.priority: 300\nsetup.template.settings.index.number_of_shards: 3\nsetup.ilm.policy_name: events-policy\n'),
    ]);
    assert.equal(custom.code, 0, custom.stderr);
    const t = es.templates.get('events') as { index_patterns: string[]; priority: number; template: { settings: { index: Record<string, unknown> } } };
    assert.deepEqual(t.index_patterns, ['events-*']);
    assert.equal(t.priority, 300);
    assert.equal(t.template.settings.index['number_of_shards'], 3);
    assert.deepEqual(t.template.settings.index['lifecycle'], { name: 'events-policy' });
    assert.ok(es.policies.has('events-policy'));
  });

  test('a changed index without template name and pattern is refused, naming the keys', async () => {
    const r = await cli(['setup', '-c', configFile('  index: "custom-index"\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /setup\.template\.name: setup\.template\.name and setup\.template\.pattern must both be set/);
  });

  test('setup without output.elasticsearch says what it needs', async () => {
    const file = join(dir, 'console.yml');
    writeFileSync(file, 'output.console: {}\n');
    const r = await cli(['setup', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /output\.elasticsearch: procbeat setup needs the Elasticsearch output/);
  });

  test('a cluster that refuses fails setup with the reason and no secret', async () => {
    reset();
    const r = await cli(['setup', '-c', configFile('', '["127.0.0.1:1"]')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /procbeat setup failed: ingest pipeline .*: cannot reach Elasticsearch/);
    assert.ok(!r.stderr.includes('pw-that-must-not-show'));
  });

  test('test output prints the cluster and version and checks the template', async () => {
    reset();
    const file = configFile();
    const missing = await cli(['test', 'output', '-c', file]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /cluster: fake-cluster/);
    assert.match(missing.stdout, /version: 9\.2\.0/);
    assert.match(missing.stdout, new RegExp(`index template ${TEMPLATE}\\.\\.\\. MISSING`));
    assert.equal((await cli(['setup', '-c', file])).code, 0);
    const ok = await cli(['test', 'output', '-c', file]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /connection\.\.\. OK/);
    assert.match(ok.stdout, new RegExp(`index template ${TEMPLATE}\\.\\.\\. OK`));
    assert.ok(!ok.stdout.includes('pw-that-must-not-show'));

    const down = await cli(['test', 'output', '-c', configFile('', '["127.0.0.1:1"]')]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /connection\.\.\. ERROR/);
  });

  test('export template / ilm-policy / pipeline print the bodies setup loads', async () => {
    const file = configFile();
    const t = await cli(['export', 'template', '-c', file]);
    assert.equal(t.code, 0, t.stderr);
    const template = JSON.parse(t.stdout) as { index_patterns: string[]; data_stream: object; template: { mappings: { date_detection: boolean } } };
    assert.deepEqual(template.index_patterns, [TEMPLATE]);
    assert.equal(template.template.mappings.date_detection, false);

    const i = await cli(['export', 'ilm-policy', '-c', file]);
    assert.equal(i.code, 0, i.stderr);
    assert.equal((JSON.parse(i.stdout) as { policy: { phases: { hot: { actions: { rollover: { max_age: string } } } } } }).policy.phases.hot.actions.rollover.max_age, '30d');

    const all = JSON.parse((await cli(['export', 'pipeline', '-c', file])).stdout) as Record<string, { processors: unknown[] }>;
    assert.deepEqual(Object.keys(all), [PIPELINE]);
    const one = await cli(['export', 'pipeline', PIPELINE, '-c', file]);
    assert.deepEqual(JSON.parse(one.stdout), all[PIPELINE]);
    const none = await cli(['export', 'pipeline', 'nope', '-c', file]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no ingest pipeline 'nope'/);
  });
});

describe('setup API calls, seen through @elastic/elasticsearch-mock', () => {
  const info = { beatName: 'procbeat', version: VERSION };
  const esConfig = validateElasticsearchConfig({ hosts: ['http://mock:9200'] }, { beatName: 'procbeat', beatVersion: VERSION });

  test('missing assets are created with exactly these requests', async () => {
    const mock = new Mock();
    const seen: string[] = [];
    const notFound = (p: { method: string; path: string }) => {
      seen.push(`${p.method} ${p.path}`);
      return new errors.ResponseError({ body: { error: 'not found' }, statusCode: 404, headers: {}, warnings: null, meta: {} as never });
    };
    const ack = (p: { method: string; path: string; body?: unknown }) => {
      seen.push(`${p.method} ${p.path}`);
      return { acknowledged: true };
    };
    mock.add({ method: 'GET', path: `/_ingest/pipeline/${PIPELINE}` }, notFound);
    mock.add({ method: 'PUT', path: `/_ingest/pipeline/${PIPELINE}` }, ack);
    mock.add({ method: 'GET', path: '/_ilm/policy/procbeat' }, notFound);
    mock.add({ method: 'PUT', path: '/_ilm/policy/procbeat' }, ack);
    mock.add({ method: 'GET', path: `/_index_template/${TEMPLATE}` }, notFound);
    let templateBody: Record<string, unknown> | undefined;
    mock.add({ method: 'PUT', path: `/_index_template/${TEMPLATE}` }, (p: { method: string; path: string; body?: unknown }) => {
      templateBody = p.body as Record<string, unknown>;
      return ack(p);
    });
    const client = createClient(esConfig, { userAgent: 'test', Connection: mock.getConnection() });
    const steps = await runSetup(client, readSetupSettings(undefined, info), { indexManagement: true, pipelines: true }, info);
    assert.deepEqual(steps.map((s) => `${s.kind}:${s.action}`), ['ingest pipeline:loaded', 'ILM policy:loaded', 'index template:loaded']);
    assert.deepEqual(seen, [
      `GET /_ingest/pipeline/${PIPELINE}`,
      `PUT /_ingest/pipeline/${PIPELINE}`,
      'GET /_ilm/policy/procbeat',
      'PUT /_ilm/policy/procbeat',
      `GET /_index_template/${TEMPLATE}`,
      `PUT /_index_template/${TEMPLATE}`,
    ]);
    assert.ok(templateBody && !('name' in templateBody), 'the name goes in the path, not the body');
    assert.deepEqual(templateBody['data_stream'], {});
    // the mock connection has no close(); nothing to release
  });

  test('a refused template load is a SetupError naming the step and the reason', async () => {
    const mock = new Mock();
    mock.add({ method: 'GET', path: `/_index_template/${TEMPLATE}` }, () => new errors.ResponseError({ body: {}, statusCode: 404, headers: {}, warnings: null, meta: {} as never }));
    mock.add({ method: 'GET', path: '/_ilm/policy/procbeat' }, () => ({ procbeat: {} }));
    mock.add({ method: 'PUT', path: '/_ilm/policy/procbeat' }, () => ({ acknowledged: true }));
    mock.add({ method: 'GET', path: `/_ingest/pipeline/${PIPELINE}` }, () => ({ [PIPELINE]: {} }));
    mock.add({ method: 'PUT', path: `/_index_template/${TEMPLATE}` }, () =>
      new errors.ResponseError({ body: { error: { type: 'illegal_argument_exception', reason: 'bad mapping' } }, statusCode: 400, headers: {}, warnings: null, meta: {} as never }),
    );
    const client = createClient(esConfig, { userAgent: 'test', Connection: mock.getConnection() });
    await assert.rejects(
      runSetup(client, readSetupSettings(undefined, info), { indexManagement: true, pipelines: false }, info),
      (e: unknown) => e instanceof SetupError && /index template procbeat-0\.1\.0: Elasticsearch answered HTTP 400 \(illegal_argument_exception: bad mapping\)/.test(e.message),
    );
    // the mock connection has no close(); nothing to release
  });
});
