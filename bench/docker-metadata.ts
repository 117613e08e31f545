/**
 * add_docker_metadata's cost on the event path, in nanoseconds per event and as pipeline
 * throughput, for: no processor (the baseline), the processor enabled on a host process
 * (no container: the common case on a host with no containers running), and on a process
 * inside a known container (plain labels; kubelet labels adding kubernetes.* and
 * orchestrator.*). The cache is filled directly (no daemon needed): what is measured is
 * the per-event work, a field read and a map lookup plus copying the container's fields.
 * Each scenario runs ROUNDS times and reports the median.
 *
 * Runnable alone: `node dist/bench/docker-metadata.js [--quick]`; bench/run.ts calls runDockerMetadataBench().
 */
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { pino } from 'pino';
import type { BeatEvent, Fields } from '../core/api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../core/api/metrics.js';
import type { BatchResult, Output } from '../core/api/output.js';
import { DockerMetadataProcessor } from '../core/processors/add-docker-metadata/processor.js';
import { factsOf, makeMeta } from '../core/processors/add-docker-metadata/metadata.js';
import { readSettings } from '../core/processors/add-docker-metadata/settings.js';
import { Problems, Section } from '../core/processors/options.js';
import type { Processor } from '../core/processors/types.js';
import { createPipeline } from '../core/publisher/pipeline.js';

const ROUNDS = 7;
const ID = 'a'.repeat(64);
const POD_ID = 'b'.repeat(64);

export interface DockerMetadataBenchRow {
  scenario: string;
  events: number;
  /** processor.run alone: the steady cost (median chunk), median over rounds. */
  runNsPerEvent: number;
  /** processor.run alone including the garbage collections it causes (mean), median over rounds. */
  runNsPerEventMean: number;
  /** Whole pipeline (beat fields, processors, queue, an output that acks at once). */
  pipelineEventsPerSec: number;
  pipelineNsPerEvent: number;
}

class Metrics implements MetricsRegistry {
  private readonly spaces = new Map<string, MetricsNamespace>();
  namespace(name: string): MetricsNamespace {
    let ns = this.spaces.get(name);
    if (!ns) {
      const values = new Map<string, number | string>();
      ns = {
        name,
        inc: (k, by = 1) => { const v = values.get(k); values.set(k, (typeof v === 'number' ? v : 0) + by); },
        set: (k, v) => { values.set(k, v); },
        get: (k) => values.get(k),
      };
      this.spaces.set(name, ns);
    }
    return ns;
  }
}

const ackAll: Output = {
  name: 'null',
  publish: (events: readonly BeatEvent[]): Promise<BatchResult> => Promise.resolve({ acked: events.length, dropped: 0 }),
  close: () => Promise.resolve(),
};

/** A process document shaped like procbeat's (the fields the processor looks at, and some bulk). */
function doc(containerId: string | undefined, i: number): Fields {
  const f: Fields = {
    event: { kind: 'event', category: ['process'], type: ['start'], action: 'process_started', dataset: 'system.process' },
    process: { pid: 1000 + i, name: 'true', executable: '/bin/true', args: ['/bin/true', String(i)], parent: { pid: 1, name: 'sh' } },
    user: { id: '0', name: 'root' },
  };
  if (containerId !== undefined) f.container = { id: containerId, runtime: 'docker' };
  return f;
}

function makeProcessor(): DockerMetadataProcessor {
  const problems = new Problems(undefined);
  const settings = readSettings(new Section({}, 'processors[0].add_docker_metadata', problems));
  if (problems.errors.length > 0) throw new Error(problems.errors.map((e) => e.message).join('; '));
  const p = new DockerMetadataProcessor(settings, new Metrics().namespace('add_docker_metadata'), pino({ level: 'silent' }), Docker);
  p.cache.set(ID, factsOf(makeMeta(ID, '/web', 'nginx:1.25', { 'com.example.team': 'shop', 'com.example.tier': 'front' }), 'docker', false));
  p.cache.set(POD_ID, factsOf(makeMeta(POD_ID, '/k8s_app_web-0', 'registry:5000/shop/app:7', {
    'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.uid': '5f0c3f4e-1111-2222-3333-444455556666', 'io.kubernetes.container.name': 'app',
  }), 'docker', false));
  return p;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const CHUNK = 1000;

/**
 * processor.run over n fresh events, made and timed CHUNK at a time (so the heap stays the
 * size a pipeline has): the median chunk is the steady per-event cost, the mean includes
 * the garbage collections that land in the timed part.
 */
function runNs(proc: Processor | undefined, containerId: string | undefined, n: number): { median: number; mean: number } {
  const chunks: number[] = [];
  let total = 0;
  const events: BeatEvent[] = new Array<BeatEvent>(CHUNK);
  for (let done = 0; done < n; done += CHUNK) {
    for (let i = 0; i < CHUNK; i++) events[i] = { timestamp: new Date(), fields: doc(containerId, done + i) };
    const t0 = process.hrtime.bigint();
    if (proc) for (let i = 0; i < CHUNK; i++) proc.run(events[i]!);
    const ns = Number(process.hrtime.bigint() - t0);
    total += ns;
    chunks.push(ns / CHUNK);
  }
  return { median: median(chunks), mean: total / n };
}

async function pipelineNs(proc: Processor | undefined, containerId: string | undefined, n: number): Promise<number> {
  const pipeline = createPipeline({
    queue: { events: 4096, flushMinEvents: 1600, flushTimeoutMs: 1 },
    processors: proc ? [proc] : [],
    output: ackAll,
    metrics: new Metrics(),
    logger: pino({ level: 'silent' }),
    info: { name: 'procbeat', version: 'bench', uuid: '00000000-0000-4000-8000-000000000000', hostname: 'bench', hostId: 'bench', paths: { data: '/tmp', logs: '/tmp' } },
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await pipeline.publish({ timestamp: new Date(), fields: doc(containerId, i) });
  await pipeline.close(60_000);
  return Number(process.hrtime.bigint() - t0) / n;
}

export async function runDockerMetadataBench(opts: { quick?: boolean; log?: (line: string) => void } = {}): Promise<{ rows: DockerMetadataBenchRow[]; rounds: number }> {
  const n = opts.quick ? 20_000 : 200_000;
  const proc = makeProcessor();
  const scenarios: Array<{ scenario: string; proc: Processor | undefined; id: string | undefined }> = [
    { scenario: 'no processor, host process', proc: undefined, id: undefined },
    { scenario: 'no processor, process in a container', proc: undefined, id: ID },
    { scenario: 'enabled, host process (no container)', proc, id: undefined },
    { scenario: 'enabled, process in a container (2 labels)', proc, id: ID },
    { scenario: 'enabled, process in a pod (kubelet labels)', proc, id: POD_ID },
  ];
  const rows: DockerMetadataBenchRow[] = [];
  for (const s of scenarios) {
    runNs(s.proc, s.id, Math.min(n, 20_000)); // warm-up
    const run: number[] = [];
    const runMean: number[] = [];
    const pipe: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const one = runNs(s.proc, s.id, n);
      run.push(one.median);
      runMean.push(one.mean);
      pipe.push(await pipelineNs(s.proc, s.id, n));
    }
    const pipelineNsPerEvent = median(pipe);
    rows.push({
      scenario: s.scenario,
      events: n,
      runNsPerEvent: s.proc ? median(run) : 0,
      runNsPerEventMean: s.proc ? median(runMean) : 0,
      pipelineEventsPerSec: Math.round(1e9 / pipelineNsPerEvent),
      pipelineNsPerEvent,
    });
    opts.log?.(`${s.scenario}: run ${median(run).toFixed(0)} ns/event (mean ${median(runMean).toFixed(0)}), pipeline ${pipelineNsPerEvent.toFixed(0)} ns/event`);
  }
  return { rows, rounds: ROUNDS };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDockerMetadataBench({ quick: process.argv.includes('--quick'), log: (l) => process.stderr.write(`${l}\n`) })
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
