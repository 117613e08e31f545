/**
 * `npm run bench`: runs every benchmark and writes BENCHMARKS.md with the command, the
 * machine and the results. `npm run bench -- --quick` runs smaller workloads;
 * `npm run bench -- procfs hasher` runs only those.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

type Log = (line: string) => void;
type BenchFn = (opts: { quick?: boolean; log?: Log }) => Promise<unknown>;

interface BenchEntry {
  id: string;
  title: string;
  module: string;
  fn: string;
}

const BENCHES: BenchEntry[] = [
  { id: 'side-by-side', title: 'The event path side by side: workload alone, under procbeat, under a count-only C consumer', module: './side-by-side.js', fn: 'runSideBySideBench' },
  { id: 'procfs', title: 'procfs backend: CPU per scrape and per process', module: './procfs.js', fn: 'runProcfsBench' },
  { id: 'kernel-tracing', title: 'kernel_tracing backend: spawn rate, capture, CPU, memory', module: './kernel-tracing.js', fn: 'runKernelTracingBench' },
  { id: 'hasher', title: 'executable hasher: documents per second', module: './hasher.js', fn: 'runHasherBench' },
  { id: 'docker-metadata', title: 'add_docker_metadata: cost per event on the event path', module: './docker-metadata.js', fn: 'runDockerMetadataBench' },
  { id: 'es-output', title: 'Elasticsearch output: throughput into a local bulk server', module: './es-output.js', fn: 'runEsOutputBench' },
  { id: 'disk-queue', title: 'queue.disk: events/s and CPU per event into the file output, against queue.mem', module: './disk-queue.js', fn: 'runDiskQueueBench' },
];

function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1);
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/\|/g, '\\|');
}

/** Renders any result: arrays of flat objects as tables, other values as a list. */
function render(result: unknown): string {
  if (result === null || typeof result !== 'object') return `- result: ${cell(result)}\n`;
  const out: string[] = [];
  const scalars: string[] = [];
  for (const [key, value] of Object.entries(result as Record<string, unknown>)) {
    if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' && value[0] !== null) {
      const cols = [...new Set(value.flatMap((r) => Object.keys(r as object)))];
      out.push(`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`);
      for (const row of value as Record<string, unknown>[]) out.push(`| ${cols.map((c) => cell(row[c])).join(' | ')} |`);
      out.push('');
    } else {
      scalars.push(`- ${key}: ${cell(value)}`);
    }
  }
  return [...scalars, scalars.length ? '' : '', ...out].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const only = argv.filter((a) => !a.startsWith('--'));
  const selected = BENCHES.filter((b) => only.length === 0 || only.includes(b.id));
  const started = new Date();
  const sections: string[] = [];
  let failed = 0;
  for (const b of selected) {
    const log: Log = (line) => process.stderr.write(`[${b.id}] ${line}\n`);
    log(`starting (load average ${loadavg()[0].toFixed(2)})`);
    let body: string;
    try {
      const mod = (await import(b.module)) as Record<string, unknown>;
      const fn = mod[b.fn];
      if (typeof fn !== 'function') throw new Error(`${b.module} has no ${b.fn}()`);
      const t0 = process.hrtime.bigint();
      const result = await (fn as BenchFn)({ quick, log });
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      body = `${render(result)}\n_took ${secs.toFixed(1)} s_\n`;
    } catch (err) {
      failed++;
      body = `**did not run**: ${err instanceof Error ? err.message : String(err)}\n`;
      log(body.trim());
    }
    sections.push(`## ${b.title}\n\n${body}`);
  }
  const cmd = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const md = [
    '# Benchmarks',
    '',
    `Made by \`${cmd}\` on ${started.toISOString()}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}),`,
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}, load average at start ${loadavg()[0].toFixed(2)}.`,
    'Numbers from a loaded machine are lower; each section says how it was measured in its bench/*.ts file.',
    '',
    ...sections,
  ].join('\n');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  writeFileSync(join(root, 'BENCHMARKS.md'), md);
  process.stderr.write(`wrote BENCHMARKS.md (${selected.length - failed} of ${selected.length} benchmarks ran)\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
