/**
 * What queue.disk costs: the same process documents through the publisher pipeline into the
 * file output, once with queue.mem and once with queue.disk (rounds alternate, medians
 * reported). Events/s is end to end (publish until the file output acknowledged the last
 * one); CPU per event is this process's user+system time divided by the events, so the
 * difference between the two rows is what the disk queue adds per event.
 *
 *   node dist/bench/disk-queue.js [--quick]      (or via npm run bench -- disk-queue)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { BeatInfo } from '../core/api/dataset.js';
import type { BeatEvent } from '../core/api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../core/api/metrics.js';
import { createOutput } from '../core/outputs/registry.js';
import { createPipeline } from '../core/publisher/pipeline.js';

type Log = (line: string) => void;

export interface DiskQueueBenchRow {
  queue: 'mem' | 'disk' | 'disk store alone';
  events: number;
  events_per_s: number;
  cpu_us_per_event: number;
  disk_bytes_per_event: number;
}

export interface DiskQueueBenchResult {
  rounds: number;
  results: DiskQueueBenchRow[];
  disk_adds_cpu_us_per_event: number;
  /** Of that, the store (frames, checksums, writes, reads, acks) without the event codec. */
  store_cpu_us_per_event: number;
  disk_vs_mem_events_per_s: number;
}

class Metrics implements MetricsRegistry {
  readonly spaces = new Map<string, Map<string, number | string>>();
  namespace(name: string): MetricsNamespace {
    let v = this.spaces.get(name);
    if (!v) this.spaces.set(name, (v = new Map()));
    const m = v;
    return {
      name,
      inc: (k, by = 1) => m.set(k, ((m.get(k) as number | undefined) ?? 0) + by),
      set: (k, val) => m.set(k, val),
      get: (k) => m.get(k),
    };
  }
  num(space: string, key: string): number {
    const v = this.spaces.get(space)?.get(key);
    return typeof v === 'number' ? v : 0;
  }
}

const info: BeatInfo = {
  name: 'procbeat', version: '0.1.0', uuid: '00000000-0000-4000-8000-000000000000', hostname: 'bench', hostId: 'bench', paths: { data: '/tmp', logs: '/tmp' },
};

/**
 * A process_ran document with leaders, host and agent fields (about 2.3 KB as JSON; real
 * kernel_tracing documents measured 1-6 KB, the initial snapshot's the largest).
 */
function makeEvent(i: number): BeatEvent {
  const pid = 10_000 + (i % 50_000);
  return {
    timestamp: new Date(),
    fields: {
      event: { kind: 'event', category: ['process'], type: ['start', 'change', 'end'], action: 'process_ran', module: 'system', dataset: 'process' },
      process: {
        pid, name: 'true', executable: '/usr/bin/true', args: ['/usr/bin/true', `arg-${i}`], args_count: 2, working_directory: '/root',
        entity_id: `e${i.toString(36)}`, exit_code: 0, start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:00.001Z',
        user: { id: '0', name: 'root' }, group: { id: '0', name: 'root' },
        parent: { pid: 999, name: 'bash', executable: '/usr/bin/bash', args: ['/bin/bash', '-c', 'loop'], entity_id: 'parent-1' },
        session_leader: { pid: 900, name: 'sshd', executable: '/usr/sbin/sshd', entity_id: 'sess-1' },
        group_leader: { pid: 999, name: 'bash', executable: '/usr/bin/bash', entity_id: 'parent-1' },
        hash: { sha256: 'a'.repeat(64) },
        entry_leader: {
          pid: 900, name: 'sshd', executable: '/usr/sbin/sshd', args: ['sshd: root@pts/0'], entity_id: 'sess-1', working_directory: '/',
          entry_meta: { type: 'sshd', source: { ip: '10.0.0.1' } }, user: { id: '0', name: 'root' }, start: '2026-01-01T00:00:00.000Z',
          parent: { pid: 1, entity_id: 'init-1' },
        },
        previous: [{ args: ['/bin/bash', '-c', `for i in $(seq 1 100000); do /usr/bin/true arg-$i; done`], executable: '/usr/bin/bash' }],
      },
      agent: { type: 'procbeat', name: 'bench-host', id: '00000000-0000-4000-8000-000000000000', version: '0.1.0', ephemeral_id: '11111111-2222-4333-8444-555555555555' },
      ecs: { version: '8.17.0' },
      host: {
        name: 'bench-host', hostname: 'bench-host', architecture: 'x86_64', id: 'f'.repeat(32), containerized: false,
        ip: ['10.0.0.5', 'fe80::1', '172.17.0.1'], mac: ['02-42-AC-11-00-02', '52-54-00-12-34-56'],
        os: { type: 'linux', platform: 'debian', name: 'Debian GNU/Linux', family: 'debian', version: '12 (bookworm)', kernel: '6.12.0-amd64', codename: 'bookworm' },
      },
      procbeat: { process: { exe: { ctime_to_exec_ms: 123456789, mtime_to_exec_ms: 123456789, writable_by_user: false, owner: { id: '0' } }, duration_ms: 1 } },
      message: `Process true (PID: ${pid}) by user root RAN`,
    },
  };
}

async function round(queue: 'mem' | 'disk', events: number, dir: string): Promise<DiskQueueBenchRow> {
  const metrics = new Metrics();
  const logger = pino({ level: 'silent' });
  const out = join(dir, `out-${queue}-${Date.now()}`);
  const output = await createOutput({ file: { path: out, filename: 'bench', rotate_every_kb: 1024 * 1024 } }, { logger, metrics, info });
  const qdir = join(dir, `q-${Date.now()}`);
  const pipeline = createPipeline({
    queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 1 },
    ...(queue === 'disk'
      ? { disk: { path: qdir, maxSize: 10e9, segmentSize: 100 << 20, readAhead: 512, writeAhead: 2048, retryIntervalMs: 1000, maxRetryIntervalMs: 30_000 } }
      : {}),
    processors: [], output, metrics, logger, info,
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < events; i++) await pipeline.publish(makeEvent(i));
  while (metrics.num('pipeline', 'events.acked') < events) await new Promise((r) => setImmediate(r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await pipeline.close(10_000);
  rmSync(out, { recursive: true, force: true });
  rmSync(qdir, { recursive: true, force: true });
  return {
    queue,
    events,
    events_per_s: Math.round(events / secs),
    cpu_us_per_event: (cpu.user + cpu.system) / events,
    disk_bytes_per_event: queue === 'disk' ? diskBytesPerEvent() : 0,
  };
}

/**
 * The byte store on its own, with opaque items the size of an encoded benchmark event:
 * append, write, read back, acknowledge in batches of read_ahead (512). This is what stays
 * once the queue carries encoded documents instead of events (no JSON encode/decode here).
 */
async function storeRound(events: number, dir: string): Promise<DiskQueueBenchRow> {
  const { DiskStore } = await import('../core/publisher/diskqueue/store.js');
  const payload = Buffer.from(JSON.stringify({ t: 0, f: makeEvent(1).fields }));
  const qdir = join(dir, `s-${Date.now()}`);
  const store = new DiskStore({
    path: qdir, maxSize: 10e9, segmentSize: 100 << 20, writeAhead: 2048, retryIntervalMs: 1000, maxRetryIntervalMs: 30_000, logger: pino({ level: 'silent' }),
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let acked = 0;
  for (let i = 0; i < events; i++) {
    if (!store.append(payload)) throw new Error('store refused');
    if (i % 512 === 511) {
      store.flush();
      const items = store.read(512);
      store.ackThrough(items.at(-1)!, items.length);
      acked += items.length;
    }
  }
  store.flush();
  for (let items = store.read(512); items.length > 0; items = store.read(512)) {
    store.ackThrough(items.at(-1)!, items.length);
    acked += items.length;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  store.close();
  rmSync(qdir, { recursive: true, force: true });
  if (acked !== events) throw new Error(`store bench: ${acked} of ${events} read back`);
  return { queue: 'disk store alone', events, events_per_s: Math.round(events / secs), cpu_us_per_event: (cpu.user + cpu.system) / events, disk_bytes_per_event: 28 + payload.length };
}

/** Bytes one benchmark event takes in a segment (frame header + its encoding). */
function diskBytesPerEvent(): number {
  return 28 + Buffer.byteLength(JSON.stringify({ t: 0, f: makeEvent(1).fields }));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function runDiskQueueBench(opts: { quick?: boolean; log?: Log } = {}): Promise<DiskQueueBenchResult> {
  const log = opts.log ?? (() => undefined);
  const events = opts.quick ? 20_000 : 100_000;
  const rounds = opts.quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-bench-dq-'));
  try {
    await round('mem', 2000, dir); // warm up the JIT for both paths
    await round('disk', 2000, dir);
    const rows: Record<DiskQueueBenchRow['queue'], DiskQueueBenchRow[]> = { mem: [], disk: [], 'disk store alone': [] };
    for (let r = 0; r < rounds; r++) {
      for (const q of ['mem', 'disk', 'disk store alone'] as const) {
        const row = q === 'disk store alone' ? await storeRound(events, dir) : await round(q, events, dir);
        log(`round ${r + 1} ${q}: ${row.events_per_s} events/s, ${row.cpu_us_per_event.toFixed(2)} µs CPU per event`);
        rows[q].push(row);
      }
    }
    const pick = (q: DiskQueueBenchRow['queue']): DiskQueueBenchRow => ({
      queue: q,
      events,
      events_per_s: median(rows[q].map((x) => x.events_per_s)),
      cpu_us_per_event: median(rows[q].map((x) => x.cpu_us_per_event)),
      disk_bytes_per_event: rows[q][0]!.disk_bytes_per_event,
    });
    const mem = pick('mem');
    const disk = pick('disk');
    const store = pick('disk store alone');
    return {
      rounds,
      results: [mem, disk, store],
      disk_adds_cpu_us_per_event: disk.cpu_us_per_event - mem.cpu_us_per_event,
      store_cpu_us_per_event: store.cpu_us_per_event,
      disk_vs_mem_events_per_s: disk.events_per_s / mem.events_per_s,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runDiskQueueBench({ quick: process.argv.includes('--quick'), log: (l) => console.error(l) });
  console.log(JSON.stringify(result, null, 2));
}
