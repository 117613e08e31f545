/**
 * quark-ffi/test/count_consumer.c, the yardstick of bench/side-by-side.ts: it must count
 * every tagged process as a complete record, and nothing else.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTracingUnavailable, REPO_ROOT } from './procbeat-run.js';

const BIN = join(REPO_ROOT, 'quark-ffi', 'build', 'count-consumer');

test('the count-only consumer counts each tagged process once, complete, and exits with totals on SIGTERM', async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  try {
    execFileSync('make', ['-s', '-C', join(REPO_ROOT, 'quark-ffi'), 'count-consumer'], { stdio: 'pipe' });
  } catch (e) {
    t.skip(`make count-consumer failed: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  assert.ok(existsSync(BIN), `${BIN} built`);
  const tag = `count-${process.hrtime.bigint()}`;
  const child = spawn(BIN, ['--tag', tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('ready ') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /^ready (ebpf|kprobe)$/m, `stderr: ${err}`);
    for (let i = 0; i < 5; i++) spawnSync('/bin/true', [tag]);
    spawnSync('/bin/true', [`${tag}-not`]);
    const until = Date.now() + 20_000;
    while (!/^tagged 5$/m.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `stderr: ${err}`);
  const totals = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  assert.equal(totals['tagged'], 5);
  assert.equal(totals['tagged_complete'], 5);
  assert.equal(totals['tagged_exit'], 5);
  assert.ok(totals['records']! >= 6, `records ${totals['records']}`);
});
