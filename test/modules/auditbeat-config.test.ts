/**
 * Issue 11 item 11: a copy of an Auditbeat system/process block with module-level
 * processors, fields, tags, index, pipeline, keep_null and service.name runs unchanged, and
 * the documents carry what those settings say.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { BIN, REPO, httpGet, killIfRunning, spawnProcbeat, waitFor, type Spawned } from '../core/cli-helpers.js';
import { buildModuleProcessing } from '../../core/runner/module-processing.js';
import { takeModuleSettings } from '../../core/registry/module-settings.js';
import { makeContext } from './context.js';
import type { BeatEvent } from '../../core/api/event.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-abcfg-'));
const children: Spawned[] = [];
after(() => {
  children.forEach(killIfRunning);
  rmSync(dir, { recursive: true, force: true });
});

const CONFIG = join(REPO, 'test/modules/fixtures/auditbeat-system-process.yml');

test('an Auditbeat system/process block with module-level settings runs unchanged; documents carry them', async () => {
  const home = join(dir, 'home');
  const out = join(dir, 'out');
  const p = spawnProcbeat(BIN, [
    'run', '-e', '-c', CONFIG, '--path.home', home,
    '-E', `output.file.path=${out}`, '-E', 'http.enabled=true', '-E', 'http.host=127.0.0.1', '-E', 'http.port=0',
  ], dir);
  children.push(p);
  const url = await waitFor('the monitoring endpoint', () => {
    if (p.child.exitCode !== null) throw new Error(`procbeat refused the Auditbeat file (${p.child.exitCode}):\n${p.stderr()}`);
    return /listening on (http:\/\/[^"\s]+)/.exec(p.stderr())?.[1];
  });
  const stats = await waitFor('the state report written', async () => {
    const s = JSON.parse((await httpGet(`${url}/stats`)).body);
    return (s.libbeat?.output?.events?.acked ?? 0) > 0 && s.runner?.system?.process?.filtered >= 1 ? s : undefined;
  });
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.stderr());

  const file = join(out, 'procbeat');
  assert.ok(existsSync(file), 'the output file was written');
  const docs = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>);
  assert.ok(docs.length > 0);
  for (const d of docs) {
    assert.equal(d.event.module, 'system');
    assert.deepEqual(d.tags, ['service-X', 'web-tier'], 'module tags');
    assert.deepEqual(d.fields, { env: 'staging' }, 'module fields under fields');
    assert.equal(d.service.name, 'process-audit', 'service.name');
    assert.equal(d.service.type, 'system');
    assert.equal(d.labels.team, 'secops', 'the module processor ran');
    assert.equal(d.labels.seen_module_processor, 'yes', 'the global processor ran after it and saw its field');
    assert.equal(d.process.args_count, undefined, 'the module drop_fields ran');
    assert.notEqual(d.process.pid, 1, 'the module drop_event ran');
  }
  assert.ok(stats.runner.system.process.filtered >= 1, 'what the module processors drop is counted');
});

test('module index and pipeline route each event (format strings), keep_null drops nulls a processor adds', async () => {
  const t = makeContext();
  const fails: string[] = [];
  const settings = takeModuleSettings({
    index: 'auditbeat-%{[event.module]}-%{+yyyy.MM.dd}', pipeline: 'Proc-Pipe', keep_null: false,
    processors: [{ add_fields: { target: '', fields: { gone: null, kept: 1 } } }],
  }, 'auditbeat.modules[0]', (k, m) => fails.push(`${k}: ${m}`));
  assert.deepEqual(fails, []);
  let filtered = 0;
  const step = await buildModuleProcessing(settings, { key: 'auditbeat.modules[0]', logger: pino({ level: 'silent' }), info: t.ctx.info }, {
    filtered: () => { filtered++; }, processorError: () => undefined,
  });
  assert.ok(step);
  const e = step.run({ timestamp: new Date('2025-03-04T05:06:07Z'), fields: { event: { module: 'system' } } }) as BeatEvent;
  assert.deepEqual(e.meta, { index: 'auditbeat-system-2025.03.04', pipeline: 'proc-pipe' });
  assert.equal(e.fields.kept, 1);
  assert.equal('gone' in e.fields, false, 'keep_null: false removes the null');
  assert.equal(filtered, 0);
});

test('bad module-level settings name the key', () => {
  const fails: string[] = [];
  takeModuleSettings({ tags: 'a', fields: [1], fields_under_root: 'yes', service: { name: 3, version: '1' }, index: '%{oops' }, 'auditbeat.modules[0]', (k, m) => fails.push(`${k}: ${m}`));
  assert.deepEqual(fails.sort(), [
    'auditbeat.modules[0].fields: must be a map of custom fields',
    'auditbeat.modules[0].fields_under_root: must be true or false, got "yes"',
    "auditbeat.modules[0].index: cannot parse '%{oops': use %{[field.name]} or %{+yyyy.MM.dd}",
    'auditbeat.modules[0].service.name: must be a string, got 3',
    "auditbeat.modules[0].service.version: unknown setting 'service.version' (known: service.name)",
  ]);
});
