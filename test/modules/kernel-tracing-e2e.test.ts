/**
 * The kernel_tracing backend end to end, through the real CLI: procbeat runs with file
 * output while 5,000 short-lived processes (each with a unique argument) come and go; every
 * one must be in the output as a `process_ran` document with the right executable, args,
 * exit code and parent, and quark-ffi must have lost nothing. Then the same config as an
 * unprivileged user must fall back to procfs and say so in the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkoutUnreadableByNobody } from './unprivileged.js';
import { kernelTracingUnavailable, OutputReader, ProcbeatRun, writeKernelTracingConfig } from '../quark-ffi/procbeat-run.js';

const writeConfig = (dir: string): string => writeKernelTracingConfig(dir, { top: 'logging.metrics.period: 5s' });

const PROCESSES = 5000;



/** Runs a command to its end; resolves with its pid. */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid ?? -1));
  });
}

type Doc = Record<string, unknown>;
const get = (doc: Doc, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Doc)[k] : undefined), doc);

test(`kernel_tracing reports each of ${PROCESSES} short-lived processes as process_ran, losing none`, { timeout: 600_000 }, async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-kt-e2e-'));
  const beat = new ProcbeatRun(writeConfig(dir));
  try {
    await beat.waitForLog(/quark-ffi opened with the ebpf backend/, 60_000);
    const tag = randomUUID();
    // One shell forks and execs them all, so their parent is known.
    const loop = spawn('/bin/bash', ['-c', `for i in $(seq 1 ${PROCESSES}); do /bin/true "ran-${tag}-$i"; done`], { stdio: 'ignore' });
    const loopPid = loop.pid!;
    const loopDone = new Promise<number | null>((res) => loop.on('exit', (code) => res(code)));
    const exit3Pid = await run('/bin/sh', ['-c', 'exit 3', `exit3-${tag}`]);
    const killedPid = await run('/bin/sh', ['-c', 'kill -9 $$', `killed-${tag}`]);
    assert.equal(await loopDone, 0);

    const reader = new OutputReader(join(dir, 'out'));
    const ran = new Map<string, Doc[]>();
    const special = new Map<string, Doc>();
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline && (ran.size < PROCESSES || special.size < 2)) {
      for (const doc of reader.readNew()) {
        const args = get(doc, 'process.args');
        if (!Array.isArray(args)) continue;
        const last = String(args[args.length - 1]);
        if (last.startsWith(`ran-${tag}-`)) ran.set(last, [...(ran.get(last) ?? []), doc]);
        else if (last === `exit3-${tag}` || last === `killed-${tag}`) special.set(last, doc);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const exitCode = await beat.stop();
    assert.equal(exitCode, 0, `procbeat exit code; last lines:\n${beat.tail()}`);

    const missing: string[] = [];
    for (let i = 1; i <= PROCESSES; i++) if (!ran.has(`ran-${tag}-${i}`)) missing.push(String(i));
    assert.equal(missing.length, 0, `${missing.length} processes missing, e.g. #${missing.slice(0, 10).join(', #')}`);
    const trueExe = realpathSync('/bin/true');
    for (const [arg, docs] of ran) {
      assert.equal(docs.length, 1, `${arg} reported ${docs.length} times`);
      const doc = docs[0]!;
      assert.equal(get(doc, 'event.action'), 'process_ran', arg);
      assert.deepEqual(get(doc, 'event.type'), ['start', 'change', 'end'], arg);
      assert.equal(get(doc, 'process.executable'), trueExe, arg);
      assert.deepEqual(get(doc, 'process.args'), ['/bin/true', arg]);
      assert.equal(get(doc, 'process.exit_code'), 0, arg);
      assert.equal(get(doc, 'process.parent.pid'), loopPid, arg);
    }

    const exit3 = special.get(`exit3-${tag}`);
    assert.ok(exit3, 'the exit 3 process is missing');
    assert.equal(get(exit3, 'process.pid'), exit3Pid);
    assert.equal(get(exit3, 'process.exit_code'), 3);
    assert.equal(get(exit3, 'procbeat.process.exit.signal'), undefined);
    const killed = special.get(`killed-${tag}`);
    assert.ok(killed, 'the SIGKILLed process is missing');
    assert.equal(get(killed, 'process.pid'), killedPid);
    assert.equal(get(killed, 'process.exit_code'), 128 + 9);
    assert.equal(get(killed, 'procbeat.process.exit.signal'), 9);
    assert.equal(get(killed, 'process.parent.pid'), process.pid);

    const metrics = beat.finalMetrics();
    assert.ok(metrics, `no final metrics line; last lines:\n${beat.tail()}`);
    assert.equal(metrics['process@quark.backend'], 'ebpf');
    assert.equal(metrics['process@quark.lost'], 0, 'quark-ffi lost events');
    assert.equal(metrics['process@quark.decode_errors'], 0);
    assert.ok(Number(metrics['process@quark.records']) >= PROCESSES);
  } finally {
    await beat.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('as an unprivileged user kernel_tracing falls back to procfs and logs why', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to switch to the unprivileged user'); return; }
  const unreadable = checkoutUnreadableByNobody();
  if (unreadable) { t.skip(unreadable); return; }
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-kt-nobody-'));
  chmodSync(dir, 0o777);
  const beat = new ProcbeatRun(writeConfig(dir), { asUser: { uid: 65534, gid: 65534 } });
  try {
    const fallback = await beat.waitForLog(/^can't use kernel_tracing, falling back to procfs: /, 60_000);
    const tried = beat.logs.find((l) => /^quark ebpf backend failed \(.+\), trying kprobes$/.test(String(l.message)));
    assert.ok(tried, `no "quark ebpf backend failed (...), trying kprobes" line; last lines:\n${beat.tail()}`);
    assert.ok(beat.logs.indexOf(tried) < beat.logs.indexOf(fallback), 'the ebpf failure must be logged before the fallback');
    assert.match(String(fallback.message), /kprobe/);
    // And the procfs backend does run (as nobody it may read no other process: this VM
    // hides them), and the backend in use is published as a metric.
    await beat.waitForLog(/running with the procfs backend/, 60_000);
    assert.equal(await beat.stop(), 0);
    assert.equal(beat.finalMetrics()?.['system.process.backend'], 'procfs');
    assert.equal(beat.finalMetrics()?.['process@quark.backend'], undefined);
  } finally {
    await beat.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
