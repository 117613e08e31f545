import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { main } from '../../core/cli/main.js';
import type { CommandIO } from '../../core/cli/command.js';
import { BIN, FIXTURE, REPO, runProcbeat } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** main() in-process, with stdout/stderr collected. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { stdout: { write: (s: string) => { stdout += s; } }, stderr: { write: (s: string) => { stderr += s; } } };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const packageVersion = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('help', () => {
  test('procbeat --help lists the commands and the global flags', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    for (const text of ['run', 'test config', 'export config', 'version', '-c, --config FILE', '-E KEY=VALUE', '-e ', '--path.data DIR', '--path.logs DIR', '--path.home DIR', '-h, --help']) {
      assert.ok(r.stdout.includes(text), `help lacks ${text}:\n${r.stdout}`);
    }
    assert.equal((await cli(['-h'])).stdout, r.stdout);
  });

  test('every command has --help', async () => {
    for (const argv of [['run'], ['test', 'config'], ['export', 'config'], ['version']]) {
      const r = await cli([...argv, '--help']);
      assert.equal(r.code, 0, argv.join(' '));
      assert.ok(r.stdout.startsWith(`Usage:\n  procbeat ${argv.join(' ')} [flags]\n`), r.stdout);
      assert.ok(r.stdout.includes('Global flags:'));
    }
    const group = await cli(['test', '--help']);
    assert.equal(group.code, 0);
    assert.ok(group.stdout.includes('test config'));
    assert.equal((await cli(['export'])).code, 0, 'a parent word alone shows its subcommands');
  });

  test('usage errors exit 1 with a hint', async () => {
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const flag = await cli(['run', '--bogus']);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /unknown flag: --bogus/);
    const missing = await cli(['-c']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /flag -c needs a value/);
    const extra = await cli(['version', 'now']);
    assert.equal(extra.code, 1);
  });
});

describe('version', () => {
  test('the real binary prints the package version', async () => {
    const r = await runProcbeat(['version'], dir);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^procbeat version ${packageVersion.replace(/\./g, '\\.')} \\(\\w+\\), linux, node v\\d+`));
  });
});

describe('test config', () => {
  const good = 'procbeat.modules:\n- module: fake\n  datasets: [burst]\n  count: 5\noutput.file:\n  path: ${PB_OUT:/tmp/pb-never-written}\n';

  test('a good config: "Config OK", exit 0, nothing created', async () => {
    const file = write('good.yml', good);
    const r = await runProcbeat(['test', 'config', '-c', file, '--path.data', join(dir, 'data-testconfig')], dir, FIXTURE);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'Config OK\n');
    assert.equal(r.code, 0);
    assert.ok(!existsSync(join(dir, 'data-testconfig')), 'test config does not create path.data');
  });

  test('flags before the command work too; -c is relative to --path.config', async () => {
    write('rel.yml', good);
    const r = await runProcbeat(['--path.config', dir, '-c', 'rel.yml', 'test', 'config'], '/', FIXTURE);
    assert.equal(r.stdout, 'Config OK\n');
    assert.equal(r.code, 0);
  });

  test('every problem is printed with file and key, exit 1', async () => {
    const file = write('bad.yml', 'nmae: x\nqueue.mem.flush.timeout: soon\nprocbeat.modules:\n- module: fake\n  datasets: [burst, blast]\n  colour: red\noutput.file: {path: /tmp/x}\noutput.console: {}\n');
    const r = await runProcbeat(['test', 'config', '-c', file], dir, FIXTURE);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), [
      `${file}: nmae: unknown setting (did you mean 'name'?)`,
      `${file}: queue.mem.flush.timeout: must be a duration such as 500ms, 10s, 1m or 12h, got "soon"`,
    ]);
    // Global settings are checked first; fix them and the modules and output are checked.
    const file2 = write('bad2.yml', 'procbeat.modules:\n- module: fake\n  datasets: [burst, blast]\n  colour: red\noutput.file: {path: /tmp/x}\noutput.console: {}\n');
    const r2 = await runProcbeat(['test', 'config', '-c', file2], dir, FIXTURE);
    assert.equal(r2.code, 1);
    assert.deepEqual(r2.stderr.trim().split('\n'), [
      `${file2}: procbeat.modules[0]: unknown setting 'colour'`,
      `${file2}: procbeat.modules[0].datasets[1]: unknown dataset 'blast' in module 'fake' (known: burst)`,
      `${file2}: output: exactly one output must be enabled, found: file, console`,
    ]);
  });

  test('-E overrides fix or break a config', async () => {
    const file = write('e.yml', good);
    const broken = await runProcbeat(['test', 'config', '-c', file, '-E', 'procbeat.modules.0.count=-1'], dir, FIXTURE);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /procbeat\.modules\[0\]: invalid count '-1'/);
    const fixed = await runProcbeat(['test', 'config', '-c', write('e2.yml', `${good}http.port: nope\n`), '-E', 'http.port=0'], dir, FIXTURE);
    assert.equal(fixed.stdout, 'Config OK\n');
  });

  test('a missing file', async () => {
    const r = await runProcbeat(['test', 'config', '-c', join(dir, 'absent.yml')], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${join(dir, 'absent.yml')}: cannot read the config file: no such file\n`);
  });

  test('the default config file is procbeat.yml in the working directory', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(home, 'procbeat.yml'), good);
    const r = await runProcbeat(['test', 'config'], home, FIXTURE);
    assert.equal(r.stdout, 'Config OK\n');
  });

  test('an Auditbeat modules block works unchanged with the real binary', async (t) => {
    if (!existsSync(join(REPO, 'dist/modules/index.js'))) {
      t.skip('the process module is not built (dist/modules/index.js missing)');
      return;
    }
    const file = write('audit.yml', 'auditbeat.modules:\n- module: system\n  datasets: [process]\n  process.backend: procfs\noutput.console: {}\n');
    const r = await runProcbeat(['test', 'config', '-c', file], dir);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'Config OK\n');
    assert.equal(r.code, 0);
  });
});

describe('export config', () => {
  test('prints the effective config as YAML with secrets masked', async () => {
    const file = write('export.yml', 'output.elasticsearch:\n  hosts: [localhost]\n  username: elastic\n  password: ${PB_SECRET:hunter2}\nprocbeat.modules:\n- {module: fake, datasets: [burst]}\n');
    const r = await cli(['export', 'config', '-c', file, '-E', 'http.port=6000']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('hunter2'));
    const tree = parseYaml(r.stdout) as any;
    assert.equal(tree.output.elasticsearch.password, 'xxxxx');
    assert.equal(tree.output.elasticsearch.username, 'elastic');
    assert.equal(tree.http.port, 6000);
    assert.equal(tree.queue.mem.events, 3200);
    assert.deepEqual(tree.procbeat.modules, [{ module: 'fake', datasets: ['burst'] }]);
  });
});

describe('beat info', () => {
  test('run creates <path.data>/meta.json (mode 0600) once and keeps the uuid', async () => {
    const { loadBeatInfo } = await import('../../core/beat/info.js');
    const data = join(dir, 'meta-data');
    const first = loadBeatInfo({ paths: { data, logs: join(dir, 'logs') } });
    const second = loadBeatInfo({ paths: { data, logs: join(dir, 'logs') } });
    assert.equal(first.uuid, second.uuid);
    assert.equal(statSync(join(data, 'meta.json')).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(join(data, 'meta.json'), 'utf8')) as { uuid: string }).uuid, first.uuid);
    assert.equal(first.name, 'procbeat');
    assert.equal(first.version, packageVersion);
    assert.match(first.hostId, /^[0-9a-f]{32}$|^[0-9a-f-]{36}$/);
    const noMachineId = loadBeatInfo({ paths: { data, logs: data }, machineIdFile: join(dir, 'absent') });
    assert.equal(noMachineId.hostId, first.uuid, 'without /etc/machine-id the host id is the uuid');
    writeFileSync(join(data, 'meta.json'), '{broken');
    assert.throws(() => loadBeatInfo({ paths: { data, logs: data } }), /meta\.json: not valid JSON/);
  });

  test('the bin script is executable', () => {
    assert.ok(statSync(BIN).mode & 0o100);
  });
});
