import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../core/config/errors.js';
import { createOutput, registeredOutputs, validateOutput } from '../../core/outputs/registry.js';
import { MemoryMetrics, silentLogger, testInfo } from './publisher-support.js';

const ctx = () => ({ file: 'procbeat.yml', logger: silentLogger, metrics: new MemoryMetrics(), info: testInfo() });

async function errorsOf(section: Record<string, unknown> | undefined): Promise<Array<{ key: string; problem: string; message: string }>> {
  try {
    const out = await createOutput(section, ctx());
    await out.close();
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${String(err)}`);
    return err.errors.map((e) => ({ key: e.key, problem: e.problem, message: e.message }));
  }
  assert.fail(`no error for ${JSON.stringify(section)}`);
}

describe('output registry', () => {
  it('knows console and file (and elasticsearch when it is built)', async () => {
    await validateOutput({ console: {} }, { info: testInfo() });
    const names = registeredOutputs();
    assert.ok(names.includes('console') && names.includes('file'), names.join(','));
  });

  it('exactly one output must be enabled', async () => {
    const two = await errorsOf({ console: {}, file: { path: '/tmp/x' } });
    assert.equal(two.length, 1);
    assert.equal(two[0]!.message, 'procbeat.yml: output: exactly one output must be enabled, found: console, file');
    const none = await errorsOf({});
    assert.equal(none[0]!.message, 'procbeat.yml: output: no output is enabled');
    const disabled = await errorsOf({ console: { enabled: false } });
    assert.equal(disabled[0]!.message, 'procbeat.yml: output: no output is enabled');
    assert.equal((await errorsOf(undefined))[0]!.problem, 'no output is enabled');
  });

  it('a disabled section does not count; `output.console: ~` is enabled with defaults', async () => {
    const out = await createOutput({ console: null, file: { enabled: false, path: '/nonexistent' } }, ctx());
    assert.equal(out.name, 'console');
    await out.close();
    const viaString = await createOutput({ console: { enabled: 'true', pretty: 'false' } }, ctx());
    assert.equal(viaString.name, 'console');
    await viaString.close();
  });

  it('an unknown output type is named', async () => {
    const errs = await errorsOf({ logstash: { hosts: ['x'] } });
    assert.equal(errs[0]!.key, 'output.logstash');
    assert.match(errs[0]!.problem, /unknown output type 'logstash'; available: .*console.*file/);
  });

  it('unknown and invalid settings are named by key', async () => {
    const errs = await errorsOf({ console: { pretty: 'very', colour: true } });
    const keys = errs.map((e) => e.key).sort();
    assert.deepEqual(keys, ['output.console.colour', 'output.console.pretty']);
    assert.match(errs.find((e) => e.key === 'output.console.colour')!.problem, /unknown setting; expected one of: pretty/);
    assert.match(errs.find((e) => e.key === 'output.console.pretty')!.problem, /must be boolean/);
    const en = await errorsOf({ console: { enabled: 'sometimes' } });
    assert.equal(en[0]!.key, 'output.console.enabled');
  });

  it('creates a file output with its defaults under path.data', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'procbeat-reg-'));
    try {
      const out = await createOutput({ file: {} }, { ...ctx(), info: testInfo(dir) });
      assert.equal(out.name, 'file');
      assert.equal((out as unknown as { path: string }).path, join(dir, 'procbeat'));
      await out.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
