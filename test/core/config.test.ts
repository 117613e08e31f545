import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, ConfigErrors } from '../../core/config/errors.js';
import { effectiveConfig, effectiveConfigYaml } from '../../core/config/export.js';
import { loadConfig, type LoadOptions } from '../../core/config/load.js';
import { parseDuration, formatDuration } from '../../core/config/duration.js';
import { parseByteSize } from '../../core/config/bytesize.js';
import { schemaLeaves } from '../../core/config/schema/index.js';
import type { ProcbeatConfig } from '../../core/config/types.js';
import { planDatasets } from '../../core/registry/plan.js';
import { registerDataset } from '../../core/registry/registry.js';
import { parse as parseYaml } from 'yaml';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes `text` to a fresh file and loads it. */
function load(text: string, options: Partial<LoadOptions> = {}): ProcbeatConfig {
  const file = join(dir, `c${n++}.yml`);
  writeFileSync(file, text);
  return loadConfig({ file, env: {}, cwd: dir, ...options });
}

/** Loads and returns the error messages (fails the test when loading succeeds). */
function problems(text: string, options: Partial<LoadOptions> = {}): string[] {
  const file = join(dir, `c${n}.yml`);
  try {
    load(text, options);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${String(err)}`);
    return err.errors.map((e) => e.message.replace(file, 'FILE'));
  }
  assert.fail('expected the config to be refused');
}

// A dataset of our own, so these tests do not depend on the process module.
interface FakeConfig { period: string; level: number }
registerDataset<FakeConfig>({
  module: 'cfgtest',
  name: 'alpha',
  validate(block) {
    const errors: string[] = [];
    for (const key of Object.keys(block)) if (key !== 'period' && key !== 'level') errors.push(`unknown setting '${key}'`);
    if (block['level'] !== undefined && typeof block['level'] !== 'number') errors.push(`invalid level '${String(block['level'])}'`);
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, config: { period: String(block['period'] ?? '10s'), level: Number(block['level'] ?? 1) } };
  },
  async create() { throw new Error('not used'); },
});
registerDataset<Record<string, never>>({
  module: 'cfgtest',
  name: 'beta',
  validate: () => ({ ok: true, config: {} }),
  async create() { throw new Error('not used'); },
});

describe('defaults', () => {
  test('an empty file gives the beats defaults', () => {
    const c = load('');
    assert.equal(c.queue.mem.events, 3200);
    assert.equal(c.queue.mem.flushMinEvents, 1600);
    assert.equal(c.queue.mem.flushTimeoutMs, 10_000);
    assert.equal(c.shutdownTimeoutMs, 5000);
    assert.deepEqual(c.http, { enabled: false, host: 'localhost', port: 5066 });
    assert.equal(c.logging.level, 'info');
    assert.equal(c.logging.toStderr, false);
    assert.equal(c.logging.toFiles, true);
    assert.equal(c.logging.files.name, 'procbeat');
    assert.equal(c.logging.files.permissions, 0o600);
    assert.equal(c.logging.metrics.enabled, true);
    assert.equal(c.logging.metrics.periodMs, 30_000);
    assert.deepEqual(c.tags, []);
    assert.deepEqual(c.fields, {});
    assert.equal(c.fieldsUnderRoot, false);
  });

  test('paths default below path.home; relative paths are relative to it', () => {
    const c = load('path.home: /opt/pb\npath.logs: mylogs\n');
    assert.deepEqual(c.path, { home: '/opt/pb', config: '/opt/pb', data: '/opt/pb/data', logs: '/opt/pb/mylogs' });
    assert.equal(c.logging.files.path, '/opt/pb/mylogs');
    const d = load('');
    assert.equal(d.path.home, dir);
    assert.equal(d.path.data, join(dir, 'data'));
  });

  test('YAML null keeps the default (`name:` with no value)', () => {
    const c = load('queue.mem.events:\nhttp:\n');
    assert.equal(c.queue.mem.events, 3200);
    assert.equal(c.http.port, 5066);
  });

  test('every global setting is documented in docs/configuration.md', async () => {
    const { readFileSync } = await import('node:fs');
    const docs = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    // setup.* belongs to the setup command and is documented with it.
    for (const [key] of schemaLeaves().filter(([k]) => !k.startsWith('setup.'))) assert.ok(docs.includes(`\`${key}\``), `docs/configuration.md does not mention ${key}`);
  });
});

describe('durations and sizes', () => {
  test('beats duration syntax', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('12h'), 43_200_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(5), 5000, 'a bare number is seconds');
    assert.equal(parseDuration('10 parsecs'), undefined);
    assert.equal(parseDuration('-1s'), undefined);
    assert.equal(parseDuration('s'), undefined);
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(500), '500ms');
  });

  test('byte sizes: kb is 1000, kib 1024', () => {
    assert.equal(parseByteSize('100MiB'), 100 * 1024 * 1024);
    assert.equal(parseByteSize('100mb'), 100_000_000);
    assert.equal(parseByteSize('1kib'), 1024);
    assert.equal(parseByteSize(42), 42);
    assert.equal(parseByteSize('12 apples'), undefined);
  });

  test('durations in the file are converted to milliseconds', () => {
    const c = load('queue.mem.flush.timeout: 250ms\nshutdown_timeout: 1m\nlogging.metrics.period: 2\n');
    assert.equal(c.queue.mem.flushTimeoutMs, 250);
    assert.equal(c.shutdownTimeoutMs, 60_000);
    assert.equal(c.logging.metrics.periodMs, 2000);
  });
});

describe('validation messages', () => {
  test('an unknown key names the file and the key, with a hint', () => {
    assert.deepEqual(problems('nmae: x\n'), ["FILE: nmae: unknown setting (did you mean 'name'?)"]);
    assert.deepEqual(problems('http.enabeld: true\n'), ["FILE: http.enabeld: unknown setting (did you mean 'http.enabled'?)"]);
    assert.deepEqual(problems('frobnicate: 1\n'), ['FILE: frobnicate: unknown setting']);
    assert.deepEqual(problems('queue.mem.flush.whenever: 1\n'), ['FILE: queue.mem.flush.whenever: unknown setting']);
  });

  test('a bad duration', () => {
    assert.deepEqual(problems('queue.mem.flush.timeout: 10 parsecs\n'), [
      'FILE: queue.mem.flush.timeout: must be a duration such as 500ms, 10s, 1m or 12h, got "10 parsecs"',
    ]);
  });

  test('a missing variable names the key and the variable', () => {
    assert.deepEqual(problems('name: ${PB_UNSET_NAME}\n'), [
      'FILE: name: missing variable ${PB_UNSET_NAME}: set PB_UNSET_NAME in the environment or give a default as ${PB_UNSET_NAME:default}',
    ]);
  });

  test('bad types', () => {
    assert.deepEqual(problems('http.port: abc\n'), ['FILE: http.port: must be a port number from 0 to 65535, got "abc"']);
    assert.deepEqual(problems('http.port: 70000\n'), ['FILE: http.port: must be a port number from 0 to 65535, got 70000']);
    assert.deepEqual(problems('http.enabled: maybe\n'), ['FILE: http.enabled: must be true or false, got "maybe"']);
    assert.deepEqual(problems('queue.mem.events: 0\n'), ['FILE: queue.mem.events: must be a positive integer, got 0']);
    assert.deepEqual(problems('name: 5\n'), ['FILE: name: must be a string, got 5']);
    assert.deepEqual(problems('tags: [1]\n'), ['FILE: tags: must be a list of strings, got [1]']);
    assert.deepEqual(problems('fields: 3\n'), ['FILE: fields: must be a mapping of keys to values, got 3']);
    assert.deepEqual(problems('logging.level: verbose\n'), [
      'FILE: logging.level: must be one of ["debug","info","warning","error"], got "verbose"',
    ]);
    assert.deepEqual(problems('http: true\n'), ['FILE: http: must be a mapping with the settings enabled, host, port']);
    assert.deepEqual(problems('output: 5\n'), ['FILE: output: must be a mapping (e.g. output.<name>: ...)']);
  });

  test('cross-field: flush.min_events must not exceed events', () => {
    assert.deepEqual(problems('queue.mem.events: 100\n'), [
      'FILE: queue.mem.flush.min_events: must not be larger than queue.mem.events (100), got 1600',
    ]);
  });

  test('every problem in one pass', () => {
    const p = problems('nmae: x\nhttp.port: abc\nqueue.mem.flush.timeout: soon\nlogging.level: ${PB_UNSET_LEVEL}\n');
    assert.equal(p.length, 4, p.join('\n'));
    assert.ok(p.some((m) => m.startsWith('FILE: nmae:')));
    assert.ok(p.some((m) => m.startsWith('FILE: http.port:')));
    assert.ok(p.some((m) => m.startsWith('FILE: queue.mem.flush.timeout:')));
    assert.ok(p.some((m) => m.startsWith('FILE: logging.level: missing variable')));
  });

  test('invalid YAML names the line', () => {
    const p = problems('name: x\nhttp:\n  port: [1\n');
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^FILE: invalid YAML at line \d+: /);
    assert.match(problems('name: a\nname: b\n')[0]!, /^FILE: invalid YAML at line 2: .*unique/i);
  });

  test('a missing file', () => {
    const file = join(dir, 'nope.yml');
    assert.throws(() => loadConfig({ file }), (err: unknown) => {
      assert.ok(err instanceof ConfigErrors);
      assert.equal(err.message, `${file}: cannot read the config file: no such file`);
      return true;
    });
  });

  test('errors are ConfigError with file, key and problem', () => {
    try {
      load('http.port: abc\n');
      assert.fail('should throw');
    } catch (err) {
      const e = (err as ConfigErrors).errors[0]!;
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, 'http.port');
      assert.match(e.file ?? '', /c\d+\.yml$/);
      assert.match(e.problem, /^must be a port number/);
    }
  });
});

describe('variables', () => {
  test('${VAR}, ${VAR:default} and nested defaults', () => {
    const c = load('name: ${PB_NAME}\ntags: ["${PB_TAG:fallback}", "x-${PB_NAME}-y"]\nfields.url: ${PB_URL:${PB_HOST:localhost}:9200}\n', {
      env: { PB_NAME: 'edge-1', PB_HOST: 'es.local' },
    });
    assert.equal(c.name, 'edge-1');
    assert.deepEqual(c.tags, ['fallback', 'x-edge-1-y']);
    assert.deepEqual(c.fields, { url: 'es.local:9200' });
  });

  test('a whole-value reference keeps the number or boolean type', () => {
    const c = load('http.port: ${PB_PORT}\nhttp.enabled: ${PB_ON:true}\nqueue.mem.events: ${PB_EVENTS:4096}\n', { env: { PB_PORT: '5067' } });
    assert.equal(c.http.port, 5067);
    assert.equal(c.http.enabled, true);
    assert.equal(c.queue.mem.events, 4096);
  });

  test('embedded references stay strings; leading zeros stay strings', () => {
    const c = load('name: "v${PB_N}"\nfields: {pin: "${PB_PIN}"}\n', { env: { PB_N: '1', PB_PIN: '0123' } });
    assert.equal(c.name, 'v1');
    assert.deepEqual(c.fields, { pin: '0123' });
  });

  test('references to other settings, and $${ as a literal', () => {
    const c = load('path.home: /srv/pb\npath.data: ${path.home}/state\nname: "$${NOT_A_VAR}"\n');
    assert.equal(c.path.data, '/srv/pb/state');
    assert.equal(c.name, '${NOT_A_VAR}');
  });

  test('a cycle is an error, not a hang', () => {
    const p = problems('fields.a: ${fields.b}\nfields.b: ${fields.a}\n');
    assert.ok(p.length >= 1);
    assert.match(p[0]!, /cyclic reference/);
  });

  test('variables inside module blocks and outputs', () => {
    const c = load('procbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n  period: ${PB_PERIOD:5s}\noutput.file.path: ${PB_OUT}\n', {
      env: { PB_OUT: '/tmp/out' },
    });
    assert.deepEqual(c.output, { file: { path: '/tmp/out' } });
    assert.deepEqual(c.modules[0]!.blocks, [{ module: 'cfgtest', datasets: ['alpha'], period: '5s' }]);
  });
});

describe('dotted keys', () => {
  test('dotted keys equal nested keys, at every level', () => {
    const a = load('queue.mem.events: 100\nqueue.mem.flush.min_events: 10\nhttp: {enabled: true, port: 0}\n');
    const b = load('queue:\n  mem:\n    events: 100\n    flush: {min_events: 10}\nhttp.enabled: true\nhttp.port: 0\n');
    assert.deepEqual(a.settings, b.settings);
    assert.equal(a.queue.mem.events, 100);
  });

  test('inside list items (module blocks)', () => {
    const c = load('procbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n  process.backend: procfs\n  process.hash.max_file_size: 1MiB\n');
    assert.deepEqual(c.modules[0]!.blocks, [
      { module: 'cfgtest', datasets: ['alpha'], process: { backend: 'procfs', hash: { max_file_size: '1MiB' } } },
    ]);
  });

  test('processor lists keep their keys as written', () => {
    const c = load('processors:\n- drop_event.when.equals:\n    process.name: sleep\n');
    assert.deepEqual(c.processors, [{ 'drop_event.when.equals': { 'process.name': 'sleep' } }]);
  });

  test('a conflict names the key', () => {
    assert.deepEqual(problems('http.port: 1\nhttp: {port: 2}\n'), [
      'FILE: http.port: set more than once (a dotted key and a nested key name the same setting)',
    ]);
    assert.deepEqual(problems('name: x\nname.first: y\n'), [
      "FILE: name: conflicting settings: 'name' has a value but 'name.first' needs it to be a mapping",
    ]);
  });
});

describe('-E overrides', () => {
  test('applied after the file, in order, values parsed as YAML', () => {
    const c = load('http.port: 1\ntags: [a]\n', {
      overrides: ['http.port=2', 'http.port=3', 'tags=[x, y]', 'http.enabled=true', 'name=my shipper', 'fields={a.b: 1}'],
    });
    assert.equal(c.http.port, 3);
    assert.deepEqual(c.tags, ['x', 'y']);
    assert.equal(c.http.enabled, true);
    assert.equal(c.name, 'my shipper');
    assert.deepEqual(c.fields, { a: { b: 1 } });
  });

  test('mappings merge; list items are addressed by index', () => {
    const c = load('output.file: {path: /a, filename: x}\nprocbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n', {
      overrides: ['output.file.path=/b', 'procbeat.modules.0.period=1s'],
    });
    assert.deepEqual(c.output, { file: { path: '/b', filename: 'x' } });
    assert.deepEqual(c.modules[0]!.blocks, [{ module: 'cfgtest', datasets: ['alpha'], period: '1s' }]);
  });

  test('values that look like text stay text', () => {
    const c = load('', { overrides: ['name=a: b', 'fields.url=http://u@h:9200/x', 'fields.empty=', 'fields.hash=#tag'] });
    assert.equal(c.name, 'a: b');
    assert.deepEqual(c.fields, { url: 'http://u@h:9200/x', empty: '', hash: '#tag' });
  });

  test('errors from flags are attributed to <flags>', () => {
    assert.deepEqual(problems('', { overrides: ['http.port=abc'] }), ['<flags>: http.port: must be a port number from 0 to 65535, got "abc"']);
    assert.deepEqual(problems('', { overrides: ['oops'] }), ["<flags>: oops: -E expects key=value, got 'oops'"]);
    assert.deepEqual(problems('', { overrides: ['nmae=x'] }), ["<flags>: nmae: unknown setting (did you mean 'name'?)"]);
    assert.deepEqual(problems('name: x\n', { overrides: ['name.first=y'] }), [
      "<flags>: name.first: -E: cannot set 'name.first': 'name' already has a value that is not a mapping",
    ]);
  });

  test('--path.* and -e flags win over the file', () => {
    const c = load('path.data: /from/file\nlogging.to_stderr: false\n', { paths: { data: '/from/flag' }, logToStderr: true });
    assert.equal(c.path.data, '/from/flag');
    assert.equal(c.logging.toStderr, true);
  });
});

describe('module keys', () => {
  test('procbeat.modules and auditbeat.modules both give datasets', () => {
    for (const key of ['procbeat', 'auditbeat']) {
      const c = load(`${key}.modules:\n- module: cfgtest\n  datasets: [alpha, beta]\n  level: 3\n`);
      const plans = planDatasets(c);
      assert.deepEqual(plans.map((p) => [p.id, p.key]), [['cfgtest/alpha', `${key}.modules[0]`], ['cfgtest/beta', `${key}.modules[0]`]]);
      assert.deepEqual(plans[0]!.config, { period: '10s', level: 3 });
    }
  });

  test('metricsets is accepted as in metricbeat; a block without a list runs every dataset', () => {
    assert.equal(planDatasets(load('procbeat.modules:\n- module: cfgtest\n  metricsets: [beta]\n')).length, 1);
    assert.equal(planDatasets(load('procbeat.modules:\n- module: cfgtest\n')).length, 2);
  });

  test('enabled: false skips a block', () => {
    const c = load('procbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n  enabled: false\n- module: cfgtest\n  datasets: [beta]\n');
    assert.deepEqual(planDatasets(c).map((p) => p.id), ['cfgtest/beta']);
  });

  function planProblems(text: string): string[] {
    const c = load(text);
    try {
      planDatasets(c);
    } catch (err) {
      assert.ok(err instanceof ConfigErrors);
      return err.errors.map((e) => e.message.replace(c.file!, 'FILE'));
    }
    assert.fail('expected planDatasets to refuse');
  }

  test('unknown modules and datasets name the list item', () => {
    assert.deepEqual(planProblems('procbeat.modules:\n- module: cfgtest\n  datasets: [alpha, gamma]\n'), [
      "FILE: procbeat.modules[0].datasets[1]: unknown dataset 'gamma' in module 'cfgtest' (known: alpha, beta)",
    ]);
    const p = planProblems('auditbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n- module: nosuch\n');
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^FILE: auditbeat\.modules\[1\]\.module: unknown module 'nosuch' \(known: .*cfgtest.*\)$/);
  });

  test("the dataset's own errors are wrapped with file and block key", () => {
    assert.deepEqual(planProblems('auditbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n  level: high\n  colour: red\n'), [
      "FILE: auditbeat.modules[0]: unknown setting 'colour'",
      "FILE: auditbeat.modules[0]: invalid level 'high'",
    ]);
  });

  test('shape errors', () => {
    assert.deepEqual(planProblems('procbeat.modules: {module: cfgtest}\n'), [
      'FILE: procbeat.modules: must be a list of module blocks (- module: system ...)',
    ]);
    assert.deepEqual(planProblems('procbeat.modules:\n- datasets: [alpha]\n'), [
      'FILE: procbeat.modules[0].module: required: name the module, e.g. module: system',
    ]);
    assert.deepEqual(planProblems('procbeat.modules:\n- module: cfgtest\n  datasets: []\n'), [
      'FILE: procbeat.modules[0].datasets: must be a non-empty list of dataset names, e.g. [alpha]',
    ]);
    assert.match(planProblems('name: x\n')[0]!, /^FILE: procbeat\.modules: no modules enabled/);
    assert.deepEqual(problems('procbeat.inputs: []\n'), ['FILE: procbeat.inputs: unknown setting (only procbeat.modules is read)']);
  });
});

describe('export config', () => {
  test('defaults filled in, secrets masked, output kept', () => {
    const c = load(
      'output.elasticsearch:\n  hosts: ["https://elastic:changeme@es:9200"]\n  password: ${PB_PASS}\n  api_key: abc:def\n' +
      'procbeat.modules:\n- module: cfgtest\n  datasets: [alpha]\n',
      { env: { PB_PASS: 's3cret' } },
    );
    const yaml = effectiveConfigYaml(c);
    assert.ok(!yaml.includes('s3cret'));
    assert.ok(!yaml.includes('changeme'));
    assert.ok(!yaml.includes('abc:def'));
    const tree = parseYaml(yaml) as Record<string, any>;
    assert.equal(tree['output'].elasticsearch.password, 'xxxxx');
    assert.equal(tree['output'].elasticsearch.api_key, 'xxxxx');
    assert.deepEqual(tree['output'].elasticsearch.hosts, ['https://elastic:xxxxx@es:9200']);
    assert.equal(tree['queue'].mem.events, 3200);
    assert.equal(tree['path'].data, join(dir, 'data'));
    assert.deepEqual(tree['procbeat'].modules, [{ module: 'cfgtest', datasets: ['alpha'] }]);
    assert.deepEqual(effectiveConfig(c)['http'], { enabled: false, host: 'localhost', port: 5066 });
  });
});
