/**
 * The procfs backend's cost on this machine: CPU time (user + system, of this process) per
 * scrape and per process, for
 *  - the per-period diff (one /proc/<pid>/stat read per process, nothing changed),
 *  - a full state report (every process read in full and mapped to ECS, hashing off: the
 *    hasher has its own bench),
 * with the host's normal process count and again with 5,000 extra idle processes. It also
 * times the diff pass done with async fs/promises reads (16 at a time) to justify reading
 * synchronously, and records the longest event-loop stall.
 *
 * Runnable alone: `node dist/bench/procfs.js [--quick] [--extra=N]`; bench/run.ts calls runProcfsBench().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { DatasetContext } from '../core/api/dataset.js';
import type { MetricsNamespace, MetricsRegistry } from '../core/api/metrics.js';
import { ProcfsBackend } from '../modules/system/process/backends/procfs/procfs-backend.js';
import { listPids, readStatKey } from '../modules/system/process/backends/procfs/reader.js';
import { parseStatKey } from '../modules/system/process/backends/procfs/parse.js';
import { createEcsMapper } from '../modules/system/process/dataset.js';

export interface ProcfsBenchRow {
  scenario: string;
  processes: number;
  pass: 'diff (sync)' | 'diff (async x16)' | 'state report';
  runs: number;
  cpuMsPerScrape: number;
  cpuUsPerProcess: number;
  wallMsPerScrape: number;
  loopStallMaxMs: number;
}

export interface ProcfsBenchResult {
  rows: ProcfsBenchRow[];
}

class NullMetrics implements MetricsRegistry {
  namespace(name: string): MetricsNamespace {
    const m = new Map<string, number | string>();
    return { name, inc: (k, by = 1) => { m.set(k, Number(m.get(k) ?? 0) + by); }, set: (k, v) => { m.set(k, v); }, get: (k) => m.get(k) };
  }
}

function context(signal: AbortSignal): DatasetContext {
  return {
    logger: pino({ level: 'silent' }),
    metrics: new NullMetrics(),
    info: { name: 'procbeat', version: 'bench', uuid: 'bench', hostname: 'bench', hostId: 'bench-host', paths: { data: '/tmp', logs: '/tmp' } },
    signal,
  };
}

async function asyncDiffPass(): Promise<number> {
  const pids = listPids();
  let seen = 0;
  let next = 0;
  const buf = () => Buffer.allocUnsafe(1024);
  const worker = async (): Promise<void> => {
    const b = buf();
    while (next < pids.length) {
      const pid = pids[next++]!;
      try {
        const fh = await open(`/proc/${pid}/stat`, 'r');
        try {
          const { bytesRead } = await fh.read(b, 0, b.length, 0);
          if (parseStatKey(b.subarray(0, bytesRead), pid)) seen++;
        } finally {
          await fh.close();
        }
      } catch {
        // gone
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return seen;
}

async function measure(
  scenario: string, pass: ProcfsBenchRow['pass'], runs: number, processes: number, fn: () => Promise<unknown>,
): Promise<ProcfsBenchRow> {
  await fn(); // warm up (JIT, dentry cache)
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  return {
    scenario, pass, runs, processes,
    cpuMsPerScrape: cpuMs,
    cpuUsPerProcess: (cpuMs * 1000) / processes,
    wallMsPerScrape: wallMs / runs,
    loopStallMaxMs: loop.max / 1e6,
  };
}

async function scenario(name: string, quick: boolean): Promise<ProcfsBenchRow[]> {
  const abort = new AbortController();
  const ctx = context(abort.signal);
  const processes = listPids().filter((pid) => { const k = readStatKey(pid); return k !== undefined && !k.kernelThread; }).length;
  const rows: ProcfsBenchRow[] = [];
  // Diff pass: a backend whose state period never comes round again.
  const diff = new ProcfsBackend({ periodMs: 10_000, statePeriodMs: 1e15, includeSelf: true, toBeatEvent: createEcsMapper(ctx, undefined) }, ctx);
  await diff.fetch(abort.signal);
  rows.push(await measure(name, 'diff (sync)', quick ? 5 : 30, processes, () => diff.fetch(abort.signal)));
  rows.push(await measure(name, 'diff (async x16)', quick ? 5 : 30, processes, asyncDiffPass));
  // State report every fetch.
  const state = new ProcfsBackend({ periodMs: 10_000, statePeriodMs: 0, includeSelf: true, toBeatEvent: createEcsMapper(ctx, undefined) }, ctx);
  rows.push(await measure(name, 'state report', quick ? 2 : 8, processes, () => state.fetch(abort.signal)));
  abort.abort();
  return rows;
}

/** Starts `count` idle `sleep` processes in their own process group. */
async function spawnIdle(count: number): Promise<ChildProcess> {
  const before = readdirSync('/proc').length;
  const child = spawn('/bin/bash', ['-c', `for i in $(seq ${count}); do /usr/bin/sleep 3600 & done; wait`], { stdio: 'ignore', detached: true });
  const deadline = Date.now() + 120_000;
  while (readdirSync('/proc').length < before + count) {
    if (Date.now() > deadline) throw new Error(`only ${readdirSync('/proc').length - before} of ${count} idle processes started`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return child;
}

async function killGroup(child: ChildProcess): Promise<void> {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  const deadline = Date.now() + 60_000;
  const alive = (): boolean => { try { process.kill(-child.pid!, 0); return true; } catch { return false; } };
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

export async function runProcfsBench(opts: { quick?: boolean; extra?: number; log?: (line: string) => void } = {}): Promise<ProcfsBenchResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const quick = opts.quick ?? false;
  const extra = opts.extra ?? 5000;
  const rows: ProcfsBenchRow[] = [];
  rows.push(...(await scenario('normal', quick)));
  const idle = await spawnIdle(extra);
  try {
    rows.push(...(await scenario(`+${extra} idle`, quick)));
  } finally {
    await killGroup(idle);
  }
  log('## procfs backend cost (CPU = user + system of procbeat)');
  log('');
  log('| scenario | processes | pass | CPU ms/scrape | CPU µs/process | wall ms/scrape | max loop stall ms |');
  log('|---|---:|---|---:|---:|---:|---:|');
  for (const r of rows) {
    log(`| ${r.scenario} | ${r.processes} | ${r.pass} | ${r.cpuMsPerScrape.toFixed(2)} | ${r.cpuUsPerProcess.toFixed(1)} | ${r.wallMsPerScrape.toFixed(2)} | ${r.loopStallMaxMs.toFixed(1)} |`);
  }
  return { rows };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const extraArg = process.argv.find((a) => a.startsWith('--extra='));
  runProcfsBench({ quick: process.argv.includes('--quick'), ...(extraArg ? { extra: Number(extraArg.slice(8)) } : {}) }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
