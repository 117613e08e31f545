/**
 * Throughput of output.elasticsearch into a local bulk endpoint, compression on and off.
 * The endpoint runs in a worker thread (its own event loop and core) and answers every item
 * 201 after reading the whole body (gunzipping it when compressed), so the number is what the
 * output itself can push: serialisation, gzip, HTTP, response parsing, per-item bookkeeping.
 *
 *   node dist/bench/es-output.js [--quick]      (or via npm run bench -- es-output)
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import type { BeatEvent } from '../core/api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../core/api/metrics.js';
import { validateElasticsearchConfig } from '../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../core/outputs/elasticsearch/output.js';

type Log = (line: string) => void;

export interface EsOutputBenchRow {
  compression_level: number;
  events: number;
  seconds: number;
  events_per_s: number;
  bytes_per_event_sent: number;
  bulk_requests: number;
}

export interface EsOutputBenchResult {
  document_bytes: number;
  batch_size: number;
  results: EsOutputBenchRow[];
}

// A bulk sink: counts the action lines and says 201 to each; nothing else.
const SINK = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const zlib = require('node:zlib');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    let lines = 0;
    for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) lines++;
    const n = lines / 2;
    const item = '{"create":{"_index":"procbeat-bench","status":201,"result":"created"}}';
    const out = '{"took":1,"errors":false,"items":[' + new Array(n).fill(item).join(',') + ']}';
    res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => process.exit(0)));
`;

class CountingMetrics implements MetricsRegistry {
  readonly values = new Map<string, number | string>();
  namespace(name: string): MetricsNamespace {
    return {
      name,
      inc: (k, by = 1) => this.values.set(`${name}.${k}`, ((this.values.get(`${name}.${k}`) as number | undefined) ?? 0) + by),
      set: (k, v) => this.values.set(`${name}.${k}`, v),
      get: (k) => this.values.get(`${name}.${k}`),
    };
  }
}

/**
 * A process_started document of a typical size (~1.2 KB as JSON), with per-event hash, ids and
 * arguments random enough that gzip sees a realistic ratio, not a repeated template.
 */
function event(i: number): BeatEvent {
  const pid = 10_000 + ((i * 7919) % 50_000);
  const noise = randomBytes(24).toString('hex');
  return {
    timestamp: new Date(1_700_000_000_000 + i),
    fields: {
      event: { kind: 'event', category: ['process'], type: ['start', 'change'], action: 'process_started', module: 'system', dataset: 'process' },
      message: `Process curl (PID: ${pid}) by user deploy STARTED`,
      process: {
        pid,
        parent: { pid: pid - 1, entity_id: `P${(pid - 1).toString(36)}`, name: 'bash', executable: '/usr/bin/bash' },
        entity_id: noise.slice(0, 16),
        name: 'curl',
        executable: '/usr/bin/curl',
        args: ['curl', '-sS', '--retry', '3', `https://example.internal/api/v1/items/${noise.slice(16, 28)}`, '-o', `/tmp/out-${noise.slice(28, 36)}.json`],
        args_count: 7,
        working_directory: '/home/deploy/app',
        start: new Date(1_700_000_000_000 + i - 3).toISOString(),
        interactive: false,
        hash: { sha1: randomBytes(20).toString('hex') },
        thread: { capabilities: { effective: [], permitted: [] } },
      },
      user: { id: '1001', name: 'deploy', group: { id: '1001', name: 'deploy' }, effective: { id: '1001', group: { id: '1001' } }, saved: { id: '1001', group: { id: '1001' } } },
      host: { name: 'web-01', hostname: 'web-01', architecture: 'x86_64', os: { type: 'linux', family: 'debian', name: 'Debian GNU/Linux', version: '12 (bookworm)', kernel: '6.1.0-18-amd64' } },
      agent: { type: 'procbeat', version: '0.1.0', name: 'web-01', id: '6f9c7d0e-3b1a-4e2f-9a41-2c1d8e7f6a5b' },
      ecs: { version: '8.11.0' },
      service: { type: 'system' },
    },
  };
}

async function startSink(): Promise<{ port: number; stop: () => Promise<void> }> {
  const worker = new Worker(SINK, { eval: true });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (p: number) => resolve(p));
    worker.once('error', reject);
  });
  return {
    port,
    stop: async () => {
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      worker.postMessage('stop');
      await exited;
    },
  };
}

async function runOnce(port: number, level: number, total: number, batch: number): Promise<EsOutputBenchRow> {
  const metrics = new CountingMetrics();
  const config = validateElasticsearchConfig(
    { hosts: [`127.0.0.1:${port}`], compression_level: level, bulk_max_size: batch },
    { beatName: 'procbeat', beatVersion: '0.1.0' },
  );
  const output = new ElasticsearchOutput(config, { logger: pino({ level: 'silent' }), metrics, userAgent: 'procbeat-bench' });
  // events are built before the clock starts: the bench measures the output, not the generator
  const batches: BeatEvent[][] = [];
  for (let i = 0; i < total; i += batch) batches.push(Array.from({ length: Math.min(batch, total - i) }, (_, k) => event(i + k)));
  await output.publish(batches[0]!.slice(0, 10)); // connection and JIT warm-up, not timed
  const start = process.hrtime.bigint();
  let acked = 0;
  for (const b of batches) acked += (await output.publish(b)).acked;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await output.close();
  if (acked !== total) throw new Error(`only ${acked} of ${total} events acked`);
  const sent = (metrics.values.get('output.write.bytes') as number) ?? 0;
  return {
    compression_level: level,
    events: total,
    seconds: Math.round(seconds * 1000) / 1000,
    events_per_s: Math.round(total / seconds),
    bytes_per_event_sent: Math.round(sent / (total + 10)),
    bulk_requests: ((metrics.values.get('output.bulk.requests') as number) ?? 0) - 1,
  };
}

export async function runEsOutputBench(opts: { quick?: boolean; log?: Log } = {}): Promise<EsOutputBenchResult> {
  const log = opts.log ?? (() => undefined);
  const total = opts.quick ? 20_000 : 200_000;
  const batch = 1600;
  const sink = await startSink();
  try {
    const results: EsOutputBenchRow[] = [];
    for (const level of [1, 0]) {
      const row = await runOnce(sink.port, level, total, batch);
      log(`compression_level ${level}: ${row.events_per_s} events/s (${row.bytes_per_event_sent} bytes/event on the wire)`);
      results.push(row);
    }
    return { document_bytes: Buffer.byteLength(JSON.stringify(event(1).fields)), batch_size: batch, results };
  } finally {
    await sink.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runEsOutputBench({ quick: process.argv.includes('--quick'), log: (l) => console.log(l) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
