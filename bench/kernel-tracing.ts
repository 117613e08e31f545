/**
 * What the kernel_tracing backend costs and catches at the highest spawn rate this machine
 * reaches. A small C program runs a tight fork + execve(/bin/true <tag>) + waitpid loop for
 * N seconds (one loop, and one per CPU; the faster setting wins). Then procbeat runs (the
 * real CLI, kernel_tracing, file output, default hashing) while the same loops run again,
 * and we measure:
 *  - the spawn rate with and without procbeat,
 *  - the fraction of those processes found in the output, and events lost (process@quark),
 *  - procbeat's CPU seconds (utime + stime from /proc/<pid>/stat) per 1,000 processes,
 *  - procbeat's peak RSS (VmHWM).
 * Then memory under a steady stream: a fresh procbeat (no hashing, so only the process
 * path is measured) sees 5,000, 15,000, 20,000 and 30,000 processes (--quick: 5,000 and
 * 10,000), and after each step, once its output is quiet, we read its RSS (VmRSS) and
 * V8 heap (/stats memstats) and the sizes of its bounded tables. Memory must level off:
 * nothing is kept per process beyond the lineage table's bounded grace set.
 *
 * Runnable alone: `node dist/bench/kernel-tracing.js [--quick] [--seconds=N] [--no-hash]`;
 * bench/run.ts calls runKernelTracingBench(). Needs root and a built quark-ffi.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OutputReader, ProcbeatRun } from '../test/quark-ffi/procbeat-run.js';

export interface SpawnRate {
  loops: number;
  seconds: number;
  processes: number;
  perSecond: number;
}

export interface KernelTracingBenchResult {
  /** Fastest setting without procbeat. */
  baseline: SpawnRate;
  /** Every setting tried without procbeat. */
  baselineTried: SpawnRate[];
  withProcbeat: SpawnRate;
  /** Processes of the loops found as documents in procbeat's output. */
  captured: number;
  capturedFraction: number;
  /** process@quark.lost at the end (ring buffer + C-side decode). */
  lost: number;
  ringLost: number;
  decodeErrors: number;
  heldAtClose: number;
  pipelineDropped: number;
  cpuSecondsPer1000: number;
  peakRssMiB: number;
  backend: string;
  /** Memory of a fresh procbeat at start and after each step of processes (see MemoryStep). */
  memory: MemoryStep[];
}

/**
 * One memory sample, taken once the output is quiet: the median of five readings 1 s
 * apart. heap_used includes garbage not yet collected; heap_total is what V8 reserved.
 */
export interface MemoryStep {
  processes: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** system.process.lineage.entries / .exited: the lineage table and its grace set. */
  lineageEntries: number;
  lineageExited: number;
  /** process@quark.cache_entries: quark-ffi's process cache. */
  quarkCacheEntries: number;
  queueEvents: number;
}

const SPAWN_LOOP_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  double secs = atof(argv[1]);
  long max = argc > 3 ? atol(argv[3]) : -1;
  char *args[] = { "/bin/true", argv[2], NULL };
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long n = 0;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs) break;
    if (max >= 0 && n >= max) break;
    pid_t pid = fork();
    if (pid < 0) continue;
    if (pid == 0) { execve(args[0], args, environ); _exit(127); }
    int st;
    waitpid(pid, &st, 0);
    n++;
  }
  printf("%ld\n", n);
  return 0;
}
`;

export function compileSpawnLoop(dir: string): string {
  const src = join(dir, 'spawn-loop.c');
  const bin = join(dir, 'spawn-loop');
  writeFileSync(src, SPAWN_LOOP_C);
  execFileSync('cc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
  return bin;
}

/**
 * Runs `loops` spawn loops in parallel for `seconds` (each stopping early after `maxEach`
 * processes when given); returns the processes they spawned.
 */
export async function spawnFor(bin: string, loops: number, seconds: number, tag: string, maxEach?: number): Promise<SpawnRate> {
  const runs = Array.from({ length: loops }, () => new Promise<number>((resolve, reject) => {
    const args = [String(seconds), tag, ...(maxEach !== undefined ? [String(maxEach)] : [])];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`spawn loop exited ${code}`))));
  }));
  const processes = (await Promise.all(runs)).reduce((a, b) => a + b, 0);
  return { loops, seconds, processes, perSecond: processes / seconds };
}

/** utime + stime of a process in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm) ": state is index 0, utime is 11, stime 12 (stat fields 14 and 15).
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks / hz;
}

export function statusMiB(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Waits until `count()` stops growing for `quietMs`, or `timeoutMs` passes. */
async function waitQuiet(count: () => number, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = count();
    if (now !== last) { last = now; since = Date.now(); }
    else if (Date.now() - since >= quietMs) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const MEMORY_STEPS = [5_000, 15_000, 20_000, 30_000];
const MEMORY_STEPS_QUICK = [5_000, 10_000];

/** A value inside /stats by its path (namespaces such as `system.process` are one key). */
function statsValue(stats: unknown, path: readonly string[]): number {
  let node = stats;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === 'number' ? node : Number.NaN;
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? Number.NaN;
}

/** Five readings of RSS, /stats memstats and table sizes, 1 s apart; the median of each. */
async function sampleMemory(pid: number, url: string, processes: number): Promise<MemoryStep> {
  const rows: Array<Omit<MemoryStep, 'processes'>> = [];
  const mib = (bytes: number): number => bytes / (1024 * 1024);
  for (let i = 0; i < 5; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    const stats = (await (await fetch(`${url}/stats`)).json()) as unknown;
    rows.push({
      rssMiB: statusMiB(pid, 'VmRSS'),
      heapUsedMiB: mib(statsValue(stats, ['beat', 'memstats', 'heap_used'])),
      heapTotalMiB: mib(statsValue(stats, ['beat', 'memstats', 'heap_total'])),
      externalMiB: mib(statsValue(stats, ['beat', 'memstats', 'external'])),
      lineageEntries: statsValue(stats, ['system.process', 'lineage', 'entries']),
      lineageExited: statsValue(stats, ['system.process', 'lineage', 'exited']),
      quarkCacheEntries: statsValue(stats, ['process@quark', 'cache_entries']),
      queueEvents: statsValue(stats, ['libbeat', 'pipeline', 'queue', 'filled', 'events']),
    });
  }
  const m = (k: keyof Omit<MemoryStep, 'processes'>): number => median(rows.map((r) => r[k]));
  return {
    processes,
    rssMiB: m('rssMiB'), heapUsedMiB: m('heapUsedMiB'), heapTotalMiB: m('heapTotalMiB'), externalMiB: m('externalMiB'),
    lineageEntries: m('lineageEntries'), lineageExited: m('lineageExited'), quarkCacheEntries: m('quarkCacheEntries'),
    queueEvents: m('queueEvents'),
  };
}

/**
 * A fresh procbeat (kernel_tracing, no hashing, monitoring on a free port) and one spawn
 * loop feeding it steps of processes; memory is sampled at start and after each step.
 */
async function measureMemory(bin: string, dir: string, steps: readonly number[], log: (line: string) => void): Promise<MemoryStep[]> {
  const config = join(dir, 'memory.yml');
  writeFileSync(config, `procbeat.modules:
  - module: system
    datasets: [process]
    process.backend: kernel_tracing
    process.hash.hash_types: []
output.file:
  path: ${join(dir, 'mem-out')}
  filename: procbeat
  rotate_every_kb: 16777216
path.data: ${join(dir, 'mem-data')}
path.logs: ${join(dir, 'mem-logs')}
queue.mem.flush.timeout: 1s
http.enabled: true
http.host: 127.0.0.1
http.port: 0
`);
  const beat = new ProcbeatRun(config);
  try {
    await beat.waitForLog(/quark-ffi opened with the (ebpf|kprobe) backend/, 60_000);
    const listening = await beat.waitForLog(/monitoring endpoint listening on /, 60_000);
    const url = /listening on (\S+)/.exec(String(listening.message))?.[1];
    if (url === undefined) throw new Error(`no monitoring URL in: ${String(listening.message)}`);
    const reader = new OutputReader(join(dir, 'mem-out'));
    let docs = 0;
    await waitQuiet(() => (docs += reader.readNew().length), 2000, 60_000);
    const out: MemoryStep[] = [await sampleMemory(beat.pid, url, 0)];
    const tag = `mem-${randomUUID()}`;
    let captured = 0;
    const countNew = (): number => {
      for (const d of reader.readNew()) {
        const args = (d['process'] as { args?: unknown } | undefined)?.args;
        if (Array.isArray(args) && args[1] === tag) captured++;
      }
      return captured;
    };
    let spawned = 0;
    for (const target of steps) {
      spawned += (await spawnFor(bin, 1, 3600, tag, target - spawned)).processes;
      await waitQuiet(countNew, 3000, 180_000);
      const step = await sampleMemory(beat.pid, url, spawned);
      out.push(step);
      log(`memory after ${spawned} processes (${captured} documents): RSS ${step.rssMiB.toFixed(0)} MiB, heap ${step.heapUsedMiB.toFixed(0)}/${step.heapTotalMiB.toFixed(0)} MiB`);
    }
    return out;
  } finally {
    await beat.stop();
  }
}

export async function runKernelTracingBench(
  opts: { quick?: boolean; seconds?: number; hashing?: boolean; log?: (line: string) => void } = {},
): Promise<KernelTracingBenchResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (process.getuid?.() !== 0) throw new Error('the kernel_tracing bench needs root (eBPF)');
  const seconds = opts.seconds ?? (opts.quick ? 3 : 10);
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-kt-bench-'));
  try {
    const bin = compileSpawnLoop(dir);
    const cpus = availableParallelism();
    const settings = [...new Set([1, cpus])];
    const baselineTried: SpawnRate[] = [];
    for (const loops of settings) baselineTried.push(await spawnFor(bin, loops, seconds, `warm-${randomUUID()}`));
    const baseline = baselineTried.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

    const config = join(dir, 'procbeat.yml');
    writeFileSync(config, `procbeat.modules:
  - module: system
    datasets: [process]
    process.backend: kernel_tracing
${opts.hashing === false ? '    process.hash.hash_types: []\n' : ''}output.file:
  path: ${join(dir, 'out')}
  filename: procbeat
  rotate_every_kb: 16777216
path.data: ${join(dir, 'data')}
path.logs: ${join(dir, 'logs')}
# A batch waits for 1,600 events or this long: short, so "no new documents" means drained.
queue.mem.flush.timeout: 1s
`);
    const beat = new ProcbeatRun(config);
    let result: KernelTracingBenchResult;
    try {
      await beat.waitForLog(/quark-ffi opened with the (ebpf|kprobe) backend/, 60_000);
      const reader = new OutputReader(join(dir, 'out'));
      let docs = 0;
      // Let the snapshot drain before measuring.
      await waitQuiet(() => (docs += reader.readNew().length), 2000, 60_000);
      const cpuBefore = cpuSeconds(beat.pid);
      const tag = `bench-${randomUUID()}`;
      const withProcbeat = await spawnFor(bin, baseline.loops, seconds, tag);
      let captured = 0;
      const countNew = (): number => {
        for (const d of reader.readNew()) {
          const args = (d['process'] as { args?: unknown } | undefined)?.args;
          if (Array.isArray(args) && args[1] === tag) captured++;
        }
        return captured;
      };
      await waitQuiet(countNew, 5000, 180_000);
      const cpu = cpuSeconds(beat.pid) - cpuBefore;
      const rss = peakRssMiB(beat.pid);
      await beat.stop();
      countNew(); // whatever the drain at stop wrote
      const m = beat.finalMetrics() ?? {};
      if (process.env.PROCBEAT_BENCH_DEBUG) {
        log(JSON.stringify(Object.fromEntries(Object.entries(m).filter(([k]) => /quark|pipeline|output|runner/.test(k)))));
      }
      const num = (k: string): number => Number(m[k] ?? Number.NaN);
      result = {
        baseline, baselineTried, withProcbeat, captured,
        capturedFraction: captured / withProcbeat.processes,
        lost: num('process@quark.lost'),
        ringLost: num('process@quark.ring_lost'),
        decodeErrors: num('process@quark.decode_errors'),
        heldAtClose: num('process@quark.dropped.held_at_close'),
        pipelineDropped: num('pipeline.events.dropped'),
        cpuSecondsPer1000: (cpu / captured) * 1000,
        peakRssMiB: rss,
        backend: String(m['process@quark.backend'] ?? '?'),
        memory: [],
      };
    } finally {
      await beat.stop();
    }
    result.memory = await measureMemory(bin, dir, opts.quick ? MEMORY_STEPS_QUICK : MEMORY_STEPS, log);

    const r = result;
    log(`## kernel_tracing backend at the highest spawn rate (${seconds} s runs, ${cpus} CPUs, hashing ${opts.hashing === false ? 'off' : 'on (sha1)'})`);
    log('');
    log('| measure | value |');
    log('|---|---:|');
    for (const b of r.baselineTried) log(`| spawn rate without procbeat, ${b.loops} loop(s) | ${b.perSecond.toFixed(0)} /s |`);
    log(`| spawn rate with procbeat (${r.backend}), ${r.withProcbeat.loops} loop(s) | ${r.withProcbeat.perSecond.toFixed(0)} /s |`);
    log(`| processes spawned with procbeat | ${r.withProcbeat.processes} |`);
    log(`| captured as documents | ${r.captured} (${(r.capturedFraction * 100).toFixed(2)} %) |`);
    log(`| lost (process@quark.lost / ring_lost / decode errors) | ${r.lost} / ${r.ringLost} / ${r.decodeErrors} |`);
    log(`| pipeline dropped | ${r.pipelineDropped} |`);
    log(`| procbeat CPU seconds per 1,000 processes | ${r.cpuSecondsPer1000.toFixed(3)} |`);
    log(`| procbeat peak RSS (VmHWM) | ${r.peakRssMiB.toFixed(1)} MiB |`);
    log('');
    log('### memory under a steady stream of processes (fresh procbeat, no hashing; medians of 5 readings once the output is quiet)');
    log('');
    log('| processes seen | RSS | heap used / total | external | lineage entries (exited) | quark cache | queue |');
    log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of r.memory) {
      log(`| ${s.processes} | ${s.rssMiB.toFixed(0)} MiB | ${s.heapUsedMiB.toFixed(0)} / ${s.heapTotalMiB.toFixed(0)} MiB | ${s.externalMiB.toFixed(1)} MiB | ${s.lineageEntries} (${s.lineageExited}) | ${s.quarkCacheEntries} | ${s.queueEvents} |`);
    }
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secondsArg = process.argv.find((a) => a.startsWith('--seconds='));
  runKernelTracingBench({
    quick: process.argv.includes('--quick'),
    hashing: !process.argv.includes('--no-hash'),
    ...(secondsArg ? { seconds: Number(secondsArg.slice(10)) } : {}),
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
