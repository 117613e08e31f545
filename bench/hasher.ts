/**
 * The hasher's cost, in documents per second with hashing on:
 *  - 1,000 distinct executables (copies of /usr/bin programs, each with a unique trailer so
 *    every one is a cache miss and is read and hashed);
 *  - one executable 10,000 times (cache hits), by path (a process already gone, the usual
 *    kernel_tracing case) and through /proc/<pid>/exe of a live process.
 * Each workload runs one document at a time ("serial": the latency a document sees) and 64
 * at a time ("concurrent": what a pipeline that overlaps documents gets). The event loop's
 * p99 delay is measured across each run.
 *
 * Runnable alone: `node dist/bench/hasher.js [--quick]`; bench/run.ts calls runHasherBench().
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createHasher, type HashType, type HasherOptions } from '../modules/system/process/enrich/hasher/index.js';

export interface HasherBenchRow {
  workload: string;
  hashTypes: string;
  mode: 'serial' | 'concurrent';
  documents: number;
  docsPerSec: number;
  /** MiB/s of executables read and hashed (misses only). */
  mibPerSec: number;
  loopDelayP99Ms: number;
  hits: number;
  misses: number;
}

export interface HasherBenchResult {
  rows: HasherBenchRow[];
  distinctFiles: number;
  distinctBytes: number;
  /** 1-minute load average when the run started: numbers from a busy machine are lower. */
  loadAverage: number;
}

const CONCURRENCY = 64;
const NO_SUCH_PID = 2 ** 30; // above pid_max: behaves as a process that already exited

/** Copies of real programs, 20 KiB to 4 MiB, each made unique by a trailer. */
function makeExecutables(dir: string, count: number): { paths: string[]; bytes: number } {
  const sources = readdirSync('/usr/bin')
    .map((n) => join('/usr/bin', n))
    .filter((p) => {
      try {
        const st = statSync(p);
        return st.isFile() && st.size >= 20 * 1024 && st.size <= 4 * 1024 * 1024;
      } catch {
        return false;
      }
    })
    .sort();
  if (sources.length === 0) throw new Error('bench: no programs in /usr/bin to copy');
  const paths: string[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length] as string;
    const dst = join(dir, `exe-${String(i).padStart(4, '0')}`);
    copyFileSync(src, dst);
    const fd = openSync(dst, 'a');
    writeSync(fd, `\nprocbeat-bench ${i}\n`);
    closeSync(fd);
    bytes += statSync(dst).size;
    paths.push(dst);
  }
  return { paths, bytes };
}

async function runDocs(
  requests: Array<() => Promise<unknown>>,
  mode: 'serial' | 'concurrent',
): Promise<{ seconds: number; p99Ms: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  if (mode === 'serial') {
    for (const r of requests) await r();
  } else {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < requests.length) {
        const r = requests[next++] as () => Promise<unknown>;
        await r();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  }
  const seconds = (performance.now() - t0) / 1000;
  delay.disable();
  return { seconds, p99Ms: delay.percentile(99) / 1e6 };
}

export async function runHasherBench(opts: { quick?: boolean; log?: (line: string) => void } = {}): Promise<HasherBenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const distinct = opts.quick ? 200 : 1000;
  const repeats = opts.quick ? 2000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-bench-hasher-'));
  const rows: HasherBenchRow[] = [];
  const sleeper = spawn('/usr/bin/sleep', ['600'], { stdio: 'ignore' });
  try {
    const load = loadavg()[0] as number;
    const { paths, bytes } = makeExecutables(dir, distinct);
    log(
      `hasher bench: ${distinct} distinct executables, ${(bytes / 2 ** 20).toFixed(1)} MiB (page cache warm); ` +
        `${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    const mntNs = statSync('/proc/self/ns/mnt').ino;
    const base: Omit<HasherOptions, 'hashTypes'> = { maxFileSize: 100 * 2 ** 20, maxWaitMs: 0 };

    const variants: Array<{ types: HashType[]; inlineMaxBytes?: number; label?: string }> = [
      { types: ['sha1'] },
      { types: ['sha1'], inlineMaxBytes: 0, label: 'all on workers' },
      { types: ['sha1'], inlineMaxBytes: 64 * 2 ** 20, label: 'all inline' },
      { types: ['sha256', 'md5', 'sha1'] },
    ];
    for (const v of variants) {
      for (const mode of ['serial', 'concurrent'] as const) {
        const hasher = createHasher({ ...base, hashTypes: v.types, ...(v.inlineMaxBytes !== undefined ? { inlineMaxBytes: v.inlineMaxBytes } : {}) });
        try {
          const reqs = paths.map((p) => () => hasher.hashProcessExecutable(NO_SUCH_PID, p, { mntNs }));
          const { seconds, p99Ms } = await runDocs(reqs, mode);
          const s = hasher.stats();
          rows.push({
            workload: `${distinct} distinct executables${v.label ? ` (${v.label})` : ''}`,
            hashTypes: v.types.join('+'),
            mode,
            documents: reqs.length,
            docsPerSec: reqs.length / seconds,
            mibPerSec: s.bytes_hashed / 2 ** 20 / seconds,
            loopDelayP99Ms: p99Ms,
            hits: s.hits,
            misses: s.misses,
          });
        } finally {
          await hasher.close();
        }
      }
    }

    const one = paths[0] as string;
    const live = sleeper.pid as number;
    for (const [workload, req] of [
      [`one executable x${repeats} (by path, process gone)`, (h: ReturnType<typeof createHasher>) => () => h.hashProcessExecutable(NO_SUCH_PID, one, { mntNs })],
      [`one executable x${repeats} (live process, /proc/<pid>/exe)`, (h: ReturnType<typeof createHasher>) => () => h.hashProcessExecutable(live, '/usr/bin/sleep')],
    ] as const) {
      for (const mode of ['serial', 'concurrent'] as const) {
        const hasher = createHasher({ ...base, hashTypes: ['sha1'] });
        try {
          const reqs = Array.from({ length: repeats }, () => req(hasher));
          const { seconds, p99Ms } = await runDocs(reqs, mode);
          const s = hasher.stats();
          rows.push({
            workload,
            hashTypes: 'sha1',
            mode,
            documents: reqs.length,
            docsPerSec: reqs.length / seconds,
            mibPerSec: s.bytes_hashed / 2 ** 20 / seconds,
            loopDelayP99Ms: p99Ms,
            hits: s.hits,
            misses: s.misses,
          });
        } finally {
          await hasher.close();
        }
      }
    }

    log('| workload | hash types | mode | docs/s | MiB/s hashed | loop p99 ms | hits/misses |');
    log('|---|---|---|---:|---:|---:|---|');
    for (const r of rows) {
      log(
        `| ${r.workload} | ${r.hashTypes} | ${r.mode} | ${r.docsPerSec.toFixed(0)} | ${r.mibPerSec.toFixed(0)} | ${r.loopDelayP99Ms.toFixed(1)} | ${r.hits}/${r.misses} |`,
      );
    }
    return { rows, distinctFiles: distinct, distinctBytes: bytes, loadAverage: load };
  } finally {
    sleeper.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runHasherBench({ quick: process.argv.includes('--quick') }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
