/**
 * Memory is bounded: under a steady stream of short-lived processes the lineage table never
 * holds more than its configured size, exited processes stay only in its bounded grace set
 * (a quarter of the table by default), they leave once their grace time is over, and they
 * never push live processes out. First with synthetic events and a fake clock (20,000
 * processes), then end to end with the kernel_tracing backend and 4,000 real processes.
 * These assert sizes, never RSS or timings (bench/kernel-tracing.ts measures memory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { enrichmentFor, processDataset } from '../../modules/system/process/dataset.js';
import { INIT_PID_NS_INODE, LineageResolver } from '../../modules/system/process/enrich/lineage/index.js';
import { defaultMaxExited } from '../../modules/system/process/enrich/lineage/table.js';
import type { ProcessEvent } from '../../modules/system/process/event.js';
import { kernelTracingUnavailable } from '../quark-ffi/procbeat-run.js';
import { makeContext, MemoryMetrics } from './context.js';

const BOOT_WALL_MS = Date.UTC(2025, 0, 1);

class FakeClock {
  ms = 0;
  now(): number { return this.ms; }
}

/** A kernel_tracing event; `ran` is a whole life (fork, exec and exit merged). */
function ev(pid: number, ppid: number, startMs: number, name: string, ran: boolean): ProcessEvent {
  return {
    backend: 'kernel_tracing',
    action: ran ? 'process_ran' : 'process_started',
    types: ran ? ['start', 'change', 'end'] : ['start'],
    flags: { snapshot: false, fork: true, exec: true, exit: ran },
    time: new Date(BOOT_WALL_MS + startMs + 1),
    pid,
    ppid,
    vpid: pid,
    pgid: ppid === 0 ? pid : ppid,
    sid: 1,
    name,
    executable: `/usr/bin/${name}`,
    args: [name, String(pid)],
    start: new Date(BOOT_WALL_MS + startMs),
    startBootNs: BigInt(startMs) * 1_000_000n,
    creds: { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0 },
    tty: { major: 0, minor: 0 },
    namespaces: { pid: INIT_PID_NS_INODE },
    complete: true,
  };
}

test('20,000 short-lived processes: the table stays within its bound and keeps every live process', () => {
  const clock = new FakeClock();
  const metrics = new MemoryMetrics();
  const maxEntries = 1000;
  const maxExited = defaultMaxExited(maxEntries);
  assert.equal(maxExited, 250);
  const l = new LineageResolver({
    maxEntries, graceMs: 30_000, lookups: [], sshSource: () => undefined, perf: clock,
    metrics: metrics.namespace('system.process'),
  });
  l.enrich(ev(1, 0, 0, 'systemd', false));
  l.enrich(ev(100, 1, 10, 'sh', false));
  // Idle daemons: seen once, never asked about again, so the LRU would take them first.
  const daemons = 300;
  for (let i = 0; i < daemons; i++) l.enrich(ev(200 + i, 1, 20 + i, 'daemon', false));
  const live = 2 + daemons;

  let maxSize = 0;
  let maxExitedSeen = 0;
  for (let i = 0; i < 20_000; i++) {
    clock.ms = 1000 + i; // 1 ms apart: 20 s in all, inside the 30 s grace time
    // pids are reused four times, as on a busy host
    const child = ev(1000 + (i % 5000), 100, clock.ms, 'true', true);
    l.enrich(child);
    assert.equal(child.lineage?.parent?.pid, 100);
    maxSize = Math.max(maxSize, l.table.size);
    maxExitedSeen = Math.max(maxExitedSeen, l.table.exitedCount);
  }
  assert.ok(maxSize <= maxEntries, `table size reached ${maxSize}`);
  assert.equal(maxExitedSeen, maxExited, 'the grace set fills up to its bound, never past it');
  assert.ok(l.table.size <= live + maxExited, `table holds ${l.table.size} entries`);
  const ns = metrics.spaces.get('system.process')!;
  assert.equal(ns.get('lineage.evictions') ?? 0, 0, 'no live process was evicted');
  assert.equal(ns.get('lineage.exited'), maxExited);
  assert.ok(Number(ns.get('lineage.grace_evictions')) > 19_000, `grace_evictions ${String(ns.get('lineage.grace_evictions'))}`);

  // Every idle daemon is still known: a new child of each finds its parent in the table.
  for (let i = 0; i < daemons; i += 37) {
    const c = ev(30_000 + i, 200 + i, clock.ms, 'child', false);
    l.enrich(c);
    assert.equal(c.lineage?.parent?.name, 'daemon', `daemon ${200 + i} lost`);
  }

  // Once the grace time is over, the next event takes every exited process out.
  clock.ms += 31_000;
  const after = ev(40_000, 100, clock.ms, 'late', false);
  l.enrich(after);
  assert.equal(l.table.exitedCount, 0);
  assert.ok(l.table.size <= live + 10, `table still holds ${l.table.size} entries`);
});

test('pid reuse, late events and evictions never leave stale entries in the grace set', () => {
  const clock = new FakeClock();
  const l = new LineageResolver({ maxEntries: 50, graceMs: 1000, lookups: [], sshSource: () => undefined, perf: clock });
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let i = 0; i < 20_000; i++) {
    clock.ms += rnd(3);
    const pid = 2 + rnd(80);
    const kind = rnd(4);
    // 0: a new process that lives on; 1: one that ran and exited; 2: a late event of an older
    // generation of the pid; 3: the exit of whatever holds the pid now
    const start = kind === 2 ? Math.max(0, clock.ms - 5000) : clock.ms;
    const e = ev(pid, 1, start, `p${pid}`, kind !== 0);
    if (kind === 3) e.startBootNs = undefined;
    l.enrich(e);
    assert.ok(l.table.size <= 50, `size ${l.table.size}`);
    assert.ok(l.table.exitedCount <= defaultMaxExited(50), `exited ${l.table.exitedCount}`);
  }
  clock.ms += 1001;
  l.enrich(ev(99, 1, clock.ms, 'last', false));
  assert.equal(l.table.exitedCount, 0);
});


test('kernel_tracing, 4,000 real processes: the lineage table and its grace set stay within their bounds', async (t) => {
  const why = await kernelTracingUnavailable();
  if (why !== undefined) return t.skip(why);
  const PROCESSES = 4000;
  const cacheSize = 4000;
  const maxExited = defaultMaxExited(cacheSize);
  const ctx = makeContext();
  const v = processDataset.validate({
    process: {
      backend: 'kernel_tracing',
      hash: { hash_types: [] },
      kernel_tracing: { hold_time: '200ms', backends: ['ebpf'] },
      // a grace time far longer than the test, so only the bound can take exited processes out
      lineage: { cache_size: cacheSize, grace_period: '10m' },
    },
  });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, ctx.ctx);
  if (ds.kind !== 'push') {
    await ds.close?.();
    return t.skip('kernel_tracing fell back to procfs');
  }
  const table = enrichmentFor(ctx.ctx)?.lineage.table;
  assert.ok(table !== undefined, 'the dataset has a lineage table');
  const tag = `memory-bounds-${randomUUID()}`;
  let seen = 0;
  let maxSize = 0;
  let maxExitedSeen = 0;
  const abort = new AbortController();
  const loop = (async () => {
    for await (const e of ds.events(abort.signal)) {
      const args = (e.fields['process'] as { args?: unknown } | undefined)?.args;
      if (Array.isArray(args) && args[1] === tag) seen++;
      maxSize = Math.max(maxSize, table.size);
      maxExitedSeen = Math.max(maxExitedSeen, table.exitedCount);
    }
  })();
  try {
    await new Promise<void>((resolve, reject) => {
      const sh = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt ${PROCESSES} ]; do /bin/true "$0"; i=$((i+1)); done`, tag], { stdio: 'ignore' });
      sh.on('error', reject);
      sh.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`spawn loop exited ${code}`))));
    });
    const deadline = Date.now() + 120_000;
    while (seen < PROCESSES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen, PROCESSES, 'every process reached the output');
    assert.ok(maxSize <= cacheSize, `table size reached ${maxSize}`);
    assert.ok(maxExitedSeen <= maxExited, `grace set reached ${maxExitedSeen}`);
    assert.equal(maxExitedSeen, maxExited, 'the stream filled the grace set (the bound was exercised)');
    const ns = ctx.metrics.spaces.get('system.process');
    assert.equal(ns?.get('lineage.evictions') ?? 0, 0, 'no live process was evicted for an exited one');
    assert.ok(Number(ns?.get('lineage.grace_evictions')) >= PROCESSES - maxExited, `grace_evictions ${String(ns?.get('lineage.grace_evictions'))}`);
  } finally {
    abort.abort();
    ctx.abort.abort();
    await loop.catch(() => undefined);
    await ds.close?.();
  }
});
