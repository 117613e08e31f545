/**
 * The judge of the event path's cost: one fork storm, measured side by side in one run.
 * N fork + execve(/bin/true <tag>) + exit, split over F forkers (a small C loop each), runs
 *  - alone,
 *  - under procbeat with the README's run config (config.example.yml: kernel_tracing, sha1
 *    hashing, add_host_metadata) writing to a file output instead of the console,
 *  - under the same procbeat without hashing,
 *  - under quark-ffi's count-only C consumer (quark-ffi/test/count_consumer.c: opens the
 *    library with procbeat's options, polls, counts records and nothing else),
 * in that order, repeated R times; each cell is the median of the R runs. For each:
 *  - spawn rate (N / the workload's wall time) and slowdown (alone's rate / this rate),
 *  - CPU per process: the consumer's utime + stime from the start of the workload until
 *    every tagged process was seen in its output (or the output was quiet for 5 s), / N,
 *  - peak RSS (VmHWM since the consumer started) and RSS at rest (VmRSS 10 s after drain),
 *  - processes captured complete (a document carrying the process's own argv; for the C
 *    consumer a record flagged COMPLETE), and events lost (process@quark.lost / ring lost).
 * Then (not with --quick) one procbeat sees 100,000 processes in steps of 20,000: RSS after
 * each step shows whether memory stays flat.
 *
 * Runnable alone: `node dist/bench/side-by-side.js [--quick] [--n=20000] [--forkers=2]
 * [--repeats=3] [--flat=100000] [--no-flat] [--baseline=<another built checkout>]`; bench/run.ts
 * calls runSideBySideBench(). `--baseline` adds that checkout's procbeat to every repeat, so a
 * change is measured against the code before it in the same run (this machine is noisy).
 * Needs root and a built quark-ffi; builds quark-ffi/build/count-consumer with make when needed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProcbeatRun, REPO_ROOT } from '../test/quark-ffi/procbeat-run.js';
import { compileSpawnLoop, cpuSeconds, median, spawnFor, statusMiB } from './kernel-tracing.js';

type Log = (line: string) => void;
type Scenario = 'workload alone' | 'procbeat' | 'procbeat without hashing' | 'count-only C consumer' | 'procbeat (baseline)';

export interface SideBySideRun {
  scenario: Scenario;
  spawnPerSec: number;
  cpuUsPerProcess: number;
  peakRssMiB: number;
  restRssMiB: number;
  capturedComplete: number;
  lost: number;
}

export interface SideBySideRow {
  scenario: Scenario;
  spawnPerSec: number;
  slowdown: number;
  cpuUsPerProcess: number;
  /** CPU per process / the C consumer's, same run. */
  cpuVsC: number;
  peakRssMiB: number;
  restRssMiB: number;
  capturedComplete: number;
  lost: number;
}

export interface FlatStep {
  processes: number;
  rssMiB: number;
  peakRssMiB: number;
  capturedComplete: number;
}

export interface SideBySideResult {
  n: number;
  forkers: number;
  repeats: number;
  command: string;
  /** Medians of the repeats. */
  table: SideBySideRow[];
  /** Every run, for the noise. */
  runs: SideBySideRun[];
  flat: FlatStep[];
}

const COUNT_CONSUMER = join(REPO_ROOT, 'quark-ffi', 'build', 'count-consumer');
const QUIET_MS = 5000;
/**
 * When RSS at rest is read, after the output drained: past procbeat's `memory.release_after`
 * (6 s), as a user looking a little after a burst would see it.
 */
const REST_AFTER_MS = 10_000;
const DRAIN_TIMEOUT_MS = 300_000;

/**
 * Counts, in a file output's NDJSON, the documents of the tagged processes themselves:
 * the line holds their own argv `["/bin/true","<tag>"]` (a parent's args hold the tag too,
 * after the forker's path). Byte search only, so the bench takes little CPU from procbeat.
 */
class TagCounter {
  private readonly offsets = new Map<string, number>();
  private readonly needle: Buffer;
  count = 0;

  constructor(private readonly dir: string, tag: string) {
    this.needle = Buffer.from(`"args":["/bin/true","${tag}"]`);
  }

  poll(): number {
    if (!existsSync(this.dir)) return this.count;
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      const size = statSync(path).size;
      const from = this.offsets.get(path) ?? 0;
      if (size <= from) continue;
      const buf = Buffer.alloc(size - from);
      const fd = openSync(path, 'r');
      try { readSync(fd, buf, 0, buf.length, from); } finally { closeSync(fd); }
      // Only whole lines: the rest is read again next time.
      const end = buf.lastIndexOf(0x0a) + 1;
      this.offsets.set(path, from + end);
      for (let i = buf.indexOf(this.needle); i >= 0 && i < end; i = buf.indexOf(this.needle, i + this.needle.length)) this.count++;
    }
    return this.count;
  }
}

/** Polls `count()` until it reaches `target` or stops growing for `quietMs`. */
async function waitDrained(count: () => number, target: number, quietMs: number): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = count();
    if (now >= target) return;
    if (now !== last) { last = now; since = Date.now(); } else if (Date.now() - since >= quietMs) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The README's run config (config.example.yml) with a file output in `dir`. */
export function readmeConfigWithFileOutput(dir: string, hashing: boolean, root = REPO_ROOT): string {
  // A baseline checkout runs its own README config (it may not know newer settings).
  let text = readFileSync(join(root, 'config.example.yml'), 'utf8');
  const swap = (from: string | RegExp, to: string): void => {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`config.example.yml changed: cannot find ${String(from)}`);
    text = next;
  };
  swap(/^output\.console:\n {2}pretty: false\n/m,
    `output.file:\n  path: ${join(dir, 'out')}\n  filename: procbeat\n  rotate_every_kb: 16777216\n`);
  swap(/^path\.data: .*$/m, `path.data: ${join(dir, 'data')}`);
  swap(/^path\.logs: .*$/m, `path.logs: ${join(dir, 'logs')}`);
  swap(/^ {2}process\.backend: .*$/m, '  process.backend: kernel_tracing');
  if (!hashing) swap(/^ {2}process\.hash\.hash_types: .*$/m, '  process.hash.hash_types: []');
  const path = join(dir, 'procbeat.yml');
  writeFileSync(path, text);
  return path;
}

async function timedWorkload(bin: string, n: number, forkers: number, tag: string): Promise<{ processes: number; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const per = Math.ceil(n / forkers);
  const r = await spawnFor(bin, forkers, 3600, tag, per);
  return { processes: r.processes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function runAlone(bin: string, n: number, forkers: number): Promise<SideBySideRun> {
  const w = await timedWorkload(bin, n, forkers, `alone-${randomUUID()}`);
  return { scenario: 'workload alone', spawnPerSec: w.processes / w.seconds, cpuUsPerProcess: Number.NaN, peakRssMiB: Number.NaN, restRssMiB: Number.NaN, capturedComplete: Number.NaN, lost: Number.NaN };
}

async function runProcbeat(bin: string, n: number, forkers: number, hashing: boolean, log: Log, baseline?: string): Promise<SideBySideRun> {
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-sbs-'));
  const beat = new ProcbeatRun(readmeConfigWithFileOutput(dir, hashing, baseline), baseline !== undefined ? { root: baseline } : {});
  try {
    await beat.waitForLog(/quark-ffi opened with the (ebpf|kprobe) backend/, 180_000);
    // The /proc snapshot goes out first; measure from a quiet output.
    await waitDrained(() => dirBytes(join(dir, 'out')), Number.POSITIVE_INFINITY, 2000);
    const tag = `sbs-${randomUUID()}`;
    const counter = new TagCounter(join(dir, 'out'), tag);
    const cpu0 = cpuSeconds(beat.pid);
    const w = await timedWorkload(bin, n, forkers, tag);
    await waitDrained(() => counter.poll(), w.processes, QUIET_MS);
    const cpu = cpuSeconds(beat.pid) - cpu0;
    const peak = statusMiB(beat.pid, 'VmHWM');
    await sleep(REST_AFTER_MS);
    const rest = statusMiB(beat.pid, 'VmRSS');
    await beat.stop();
    counter.poll();
    const m = beat.finalMetrics() ?? {};
    const lost = Number(m['process@quark.lost'] ?? Number.NaN) + Number(m['pipeline.events.dropped'] ?? 0);
    const run: SideBySideRun = {
      scenario: baseline !== undefined ? 'procbeat (baseline)' : hashing ? 'procbeat' : 'procbeat without hashing',
      spawnPerSec: w.processes / w.seconds, cpuUsPerProcess: (cpu / w.processes) * 1e6,
      peakRssMiB: peak, restRssMiB: rest, capturedComplete: counter.count, lost,
    };
    log(`${run.scenario}: ${JSON.stringify(run)}`);
    return run;
  } finally {
    await beat.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((a, name) => a + statSync(join(dir, name)).size, 0);
}

/** `make -C quark-ffi count-consumer` (not part of `all`: a bench tool must never cost procbeat its library). */
export function buildCountConsumer(): string {
  execFileSync('make', ['-s', '-C', join(REPO_ROOT, 'quark-ffi'), 'count-consumer'], { stdio: 'pipe' });
  if (!existsSync(COUNT_CONSUMER)) throw new Error(`make did not produce ${COUNT_CONSUMER}`);
  return COUNT_CONSUMER;
}

/** quark-ffi/test/count_consumer.c, started with procbeat's quark options (the defaults). */
class CountConsumer {
  readonly child: ChildProcess;
  tagged = 0;
  private out = '';
  readonly done: Promise<Record<string, unknown>>;

  constructor(tag: string) {
    buildCountConsumer();
    this.child = spawn(COUNT_CONSUMER, ['--tag', tag], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('exit', (code) => {
        const last = this.out.trim().split('\n').pop() ?? '';
        if (code !== 0 || !last.startsWith('{')) reject(new Error(`count-consumer exited ${code}: ${last}`));
        else resolve(JSON.parse(last) as Record<string, unknown>);
      });
    });
    this.child.stdout?.on('data', (c: Buffer) => {
      this.out += c.toString();
      const m = /tagged (\d+)\n(?![\s\S]*tagged)/.exec(this.out);
      if (m) this.tagged = Number(m[1]);
    });
  }

  async ready(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!this.out.includes('ready ')) {
      if (this.child.exitCode !== null) throw new Error(`count-consumer exited ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error('count-consumer did not open quark-ffi within 60 s');
      await sleep(50);
    }
  }
}

async function runCountConsumer(bin: string, n: number, forkers: number, log: Log): Promise<SideBySideRun> {
  const tag = `sbs-${randomUUID()}`;
  const c = new CountConsumer(tag);
  try {
    await c.ready();
    await sleep(2000); // the snapshot's records go out after the hold time
    const pid = c.child.pid ?? -1;
    const cpu0 = cpuSeconds(pid);
    const w = await timedWorkload(bin, n, forkers, tag);
    await waitDrained(() => c.tagged, w.processes, QUIET_MS);
    const cpu = cpuSeconds(pid) - cpu0;
    const peak = statusMiB(pid, 'VmHWM');
    await sleep(REST_AFTER_MS);
    const rest = statusMiB(pid, 'VmRSS');
    c.child.kill('SIGTERM');
    const totals = await c.done;
    const run: SideBySideRun = {
      scenario: 'count-only C consumer',
      spawnPerSec: w.processes / w.seconds, cpuUsPerProcess: (cpu / w.processes) * 1e6,
      peakRssMiB: peak, restRssMiB: rest, capturedComplete: Number(totals['tagged_complete']), lost: Number(totals['lost']),
    };
    log(`${run.scenario}: ${JSON.stringify(run)}`);
    return run;
  } finally {
    if (c.child.exitCode === null) c.child.kill('SIGKILL');
  }
}

/** One procbeat (README config, hashing on) through `total` processes in steps: RSS after each. */
async function runFlat(bin: string, total: number, step: number, forkers: number, log: Log): Promise<FlatStep[]> {
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-sbs-flat-'));
  const beat = new ProcbeatRun(readmeConfigWithFileOutput(dir, true));
  try {
    await beat.waitForLog(/quark-ffi opened with the (ebpf|kprobe) backend/, 180_000);
    await sleep(3000);
    const tag = `flat-${randomUUID()}`;
    const counter = new TagCounter(join(dir, 'out'), tag);
    const out: FlatStep[] = [{ processes: 0, rssMiB: statusMiB(beat.pid, 'VmRSS'), peakRssMiB: statusMiB(beat.pid, 'VmHWM'), capturedComplete: 0 }];
    let spawned = 0;
    while (spawned < total) {
      const w = await timedWorkload(bin, Math.min(step, total - spawned), forkers, tag);
      spawned += w.processes;
      await waitDrained(() => counter.poll(), spawned, QUIET_MS);
      await sleep(REST_AFTER_MS);
      const s = { processes: spawned, rssMiB: statusMiB(beat.pid, 'VmRSS'), peakRssMiB: statusMiB(beat.pid, 'VmHWM'), capturedComplete: counter.poll() };
      out.push(s);
      log(`flat: ${JSON.stringify(s)}`);
    }
    return out;
  } finally {
    await beat.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSideBySideBench(opts: {
  quick?: boolean; n?: number; forkers?: number; repeats?: number; flat?: number; log?: Log;
  /** Another checkout (built) whose procbeat runs the same storm in each repeat: before/after in one run. */
  baseline?: string;
} = {}): Promise<SideBySideResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (process.getuid?.() !== 0) throw new Error('the side-by-side bench needs root (eBPF)');
  const n = opts.n ?? (opts.quick ? 5000 : 20_000);
  const forkers = opts.forkers ?? 2;
  const repeats = opts.repeats ?? (opts.quick ? 1 : 3);
  const flatTotal = opts.flat ?? (opts.quick ? 0 : 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-sbs-bin-'));
  try {
    const bin = compileSpawnLoop(dir);
    await timedWorkload(bin, 2000, forkers, `warm-${randomUUID()}`);
    const runs: SideBySideRun[] = [];
    for (let i = 0; i < repeats; i++) {
      log(`repeat ${i + 1} of ${repeats}: N=${n}, ${forkers} forkers`);
      runs.push(await runAlone(bin, n, forkers));
      runs.push(await runProcbeat(bin, n, forkers, true, log));
      runs.push(await runProcbeat(bin, n, forkers, false, log));
      runs.push(await runCountConsumer(bin, n, forkers, log));
      if (opts.baseline !== undefined) runs.push(await runProcbeat(bin, n, forkers, true, log, opts.baseline));
    }
    const scenarios: Scenario[] = ['workload alone', 'procbeat', 'procbeat without hashing', 'count-only C consumer'];
    if (opts.baseline !== undefined) scenarios.push('procbeat (baseline)');
    const med = (s: Scenario, k: keyof Omit<SideBySideRun, 'scenario'>): number => median(runs.filter((r) => r.scenario === s).map((r) => r[k]));
    const alone = med('workload alone', 'spawnPerSec');
    const cCpu = med('count-only C consumer', 'cpuUsPerProcess');
    const table: SideBySideRow[] = scenarios.map((s) => ({
      scenario: s,
      spawnPerSec: med(s, 'spawnPerSec'),
      slowdown: alone / med(s, 'spawnPerSec'),
      cpuUsPerProcess: med(s, 'cpuUsPerProcess'),
      cpuVsC: med(s, 'cpuUsPerProcess') / cCpu,
      peakRssMiB: med(s, 'peakRssMiB'),
      restRssMiB: med(s, 'restRssMiB'),
      capturedComplete: med(s, 'capturedComplete'),
      lost: med(s, 'lost'),
    }));
    for (const r of table) log(`| ${r.scenario} | ${r.spawnPerSec.toFixed(0)} | ${r.slowdown.toFixed(2)}x | ${r.cpuUsPerProcess.toFixed(0)} us | ${r.cpuVsC.toFixed(2)}x | ${r.peakRssMiB.toFixed(0)} MiB | ${r.restRssMiB.toFixed(0)} MiB | ${r.capturedComplete} | ${r.lost} |`);
    const flat = flatTotal > 0 ? await runFlat(bin, flatTotal, 20_000, forkers, log) : [];
    const command = `node dist/bench/side-by-side.js --n=${n} --forkers=${forkers} --repeats=${repeats} --flat=${flatTotal}${opts.baseline !== undefined ? ` --baseline=${opts.baseline}` : ''}`;
    return { n, forkers, repeats, command, table, runs, flat };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const num = (name: string): number | undefined => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a === undefined ? undefined : Number(a.slice(name.length + 3));
  };
  const flat = process.argv.includes('--no-flat') ? 0 : num('flat');
  const n = num('n'); const forkers = num('forkers'); const repeats = num('repeats');
  const baseline = process.argv.find((x) => x.startsWith('--baseline='))?.slice('--baseline='.length);
  runSideBySideBench({
    quick: process.argv.includes('--quick'),
    ...(n !== undefined ? { n } : {}), ...(forkers !== undefined ? { forkers } : {}),
    ...(repeats !== undefined ? { repeats } : {}), ...(flat !== undefined ? { flat } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
  }).then((r) => { process.stdout.write(`${JSON.stringify(r, null, 1)}\n`); }, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
