/**
 * Issue 13's done-when, end to end through the real CLI: procbeat with queue.disk and the
 * Elasticsearch output pointed at a local bulk server that is down; 2,000 uniquely tagged
 * processes run; procbeat is killed with SIGKILL; the server comes up and procbeat starts
 * again: all 2,000 reach the server, none twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kernelTracingUnavailable, ProcbeatRun, writeKernelTracingConfig } from '../quark-ffi/procbeat-run.js';
import { FakeElasticsearch } from './fake-es.js';

const PROCESSES = 2000;

function writeConfig(dir: string, esPort: number): string {
  return writeKernelTracingConfig(dir, {
    top: `queue.disk:
  path: ${join(dir, 'diskqueue')}
  max_size: 100MB
logging.metrics.period: 5s`,
    output: `output.elasticsearch:
  hosts: ["127.0.0.1:${esPort}"]
  max_retries: -1
  backoff: {init: 100ms, max: 1s}
`,
  });
}

/** The tag numbers whose process_ran event is in the queue's segment files right now. */
function tagsOnDisk(queueDir: string, tag: string): Set<number> {
  const found = new Set<number>();
  if (!existsSync(queueDir)) return found;
  const re = new RegExp(`ran-${tag}-(\\d+)"\\]`, 'g');
  for (const name of readdirSync(queueDir)) {
    if (!name.endsWith('.seg')) continue;
    for (const m of readFileSync(join(queueDir, name), 'latin1').matchAll(re)) found.add(Number(m[1]));
  }
  return found;
}

type Doc = Record<string, unknown>;
const argsOf = (doc: Doc): unknown => (doc['process'] as Doc | undefined)?.['args'];

/** How many documents the server holds per tagged process. */
function tagsOnServer(es: FakeElasticsearch, tag: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const index of es.indices.keys()) {
    for (const d of es.docs(index)) {
      const args = argsOf(d.doc);
      if (!Array.isArray(args)) continue;
      const last = String(args[args.length - 1]);
      if (last.startsWith(`ran-${tag}-`)) counts.set(last, (counts.get(last) ?? 0) + 1);
    }
  }
  return counts;
}

async function until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(`queue.disk: ${PROCESSES} processes survive kill -9 while Elasticsearch is down, and arrive exactly once`, { timeout: 420_000 }, async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-dq-kill-'));
  const es = new FakeElasticsearch();
  await es.start();
  const port = es.port;
  await es.stop(); // down: connections are refused
  const config = writeConfig(dir, port);
  const queueDir = join(dir, 'diskqueue');
  const tag = randomUUID();
  let beat = new ProcbeatRun(config);
  try {
    await beat.waitForLog(/quark-ffi opened with the ebpf backend/, 60_000);
    const loop = spawn('/bin/bash', ['-c', `for i in $(seq 1 ${PROCESSES}); do /bin/true "ran-${tag}-$i"; done`], { stdio: 'ignore' });
    assert.equal(await new Promise<number | null>((res) => loop.on('exit', res)), 0);
    await until(() => tagsOnDisk(queueDir, tag).size === PROCESSES, 120_000,
      () => `${tagsOnDisk(queueDir, tag).size} of ${PROCESSES} on disk; last lines:\n${beat.tail()}`);
    assert.equal(statSync(queueDir).mode & 0o777, 0o700);
    for (const n of readdirSync(queueDir)) assert.equal(statSync(join(queueDir, n)).mode & 0o777, 0o600, n);

    beat.child.kill('SIGKILL');
    await new Promise((r) => beat.child.once('exit', r));
    assert.equal(tagsOnServer(es, tag).size, 0, 'the server was down');

    await es.start(port);
    beat = new ProcbeatRun(config);
    await beat.waitForLog(/unacknowledged event\(s\) found/, 60_000);
    await until(() => tagsOnServer(es, tag).size === PROCESSES, 180_000,
      () => `${tagsOnServer(es, tag).size} of ${PROCESSES} at the server; last lines:\n${beat.tail()}`);
    const code = await beat.stop();
    assert.equal(code, 0, `exit code; last lines:\n${beat.tail()}`);

    const counts = tagsOnServer(es, tag);
    const twice = [...counts].filter(([, n]) => n !== 1);
    assert.deepEqual(twice, [], 'each process exactly once');
    for (let i = 1; i <= PROCESSES; i++) assert.equal(counts.get(`ran-${tag}-${i}`), 1, `#${i}`);
    const m = beat.finalMetrics() ?? {};
    const key = (suffix: string): unknown => Object.entries(m).find(([k]) => k.endsWith(suffix))?.[1];
    assert.ok(Number(key('queue.disk.recovered')) >= PROCESSES, JSON.stringify(m));
    assert.equal(Number(key('queue.disk.corrupted.events') ?? 0), 0);
  } finally {
    await beat.stop();
    await es.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
