/**
 * quark-ffi under what an unprivileged user controls, and at stop, through the real CLI
 * (issue 10): a process whose argv area spans 64 TiB must not stall `procbeat run`, and a
 * stop must deliver the records still inside their hold time instead of dropping them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hugeArgvVictimOrSkip, TIB } from './huge-argv-victim.js';
import { docField as get, kernelTracingUnavailable, OutputReader, ProcbeatRun, writeKernelTracingConfig } from './procbeat-run.js';

type Doc = Record<string, unknown>;

async function waitForDoc(reader: OutputReader, docs: Doc[], pred: (d: Doc) => boolean, timeoutMs: number): Promise<Doc | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    docs.push(...reader.readNew());
    const hit = docs.find(pred);
    if (hit || Date.now() > deadline) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a 64 TiB argv area set up by an unprivileged user does not stall procbeat run', { timeout: 180_000 }, async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  const made = await hugeArgvVictimOrSkip(t, 'procbeat-hostile-', 64 * TIB);
  if (made === undefined) return;
  const { dir, victim } = made;
  let beat: ProcbeatRun | undefined;
  try {
    const started = Date.now();
    beat = new ProcbeatRun(writeKernelTracingConfig(dir));
    // Without the fix qf_open reads the whole 64 TiB area and never gets here.
    await beat.waitForLog(/quark-ffi opened with the ebpf backend/, 60_000);
    const openedMs = Date.now() - started;
    const reader = new OutputReader(join(dir, 'out'));
    const docs: Doc[] = [];
    const pid = victim.pid;
    const mine = await waitForDoc(reader, docs, (d) => get(d, 'process.pid') === pid, 60_000);
    t.diagnostic(`quark-ffi opened ${openedMs} ms after procbeat started; the victim's document came after ${Date.now() - started} ms`);
    assert.ok(mine, `no document for the victim (pid ${pid}) within 60 s; last lines:\n${beat.tail()}`);
    assert.equal(get(mine, 'user.id'), '65534');
    // The bound is 5 s; the margin is for a loaded machine (the stall was unbounded).
    assert.ok(openedMs < 15_000, `quark-ffi took ${openedMs} ms to open beside a 64 TiB argv area`);
  } finally {
    await beat?.stop();
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stopping procbeat delivers the records still inside their hold time', { timeout: 180_000 }, async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-stop-'));
  const beat = new ProcbeatRun(writeKernelTracingConfig(dir, { module: '    process.kernel_tracing.hold_time: 30s' }));
  try {
    await beat.waitForLog(/quark-ffi opened with the ebpf backend/, 60_000);
    const tag = randomUUID();
    await new Promise<void>((resolve, reject) => {
      const c = spawn('/bin/true', [tag], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', () => resolve());
    });
    // The exit is held for 30 s; stop long before that.
    await new Promise((r) => setTimeout(r, 500));
    const code = await beat.stop();
    assert.equal(code, 0, `procbeat exited with ${code}; last lines:\n${beat.tail()}`);
    const docs = new OutputReader(join(dir, 'out')).readNew();
    const hit = docs.find((d) => {
      const args = get(d, 'process.args');
      return Array.isArray(args) && args.includes(tag);
    });
    assert.ok(hit, `the process that ran just before the stop is not in the output (${docs.length} documents)`);
    assert.ok(!beat.logs.some((l) => /not reported/.test(String(l.message))), 'procbeat says it dropped held records');
  } finally {
    await beat.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
