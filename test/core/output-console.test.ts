import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toDocument } from '../../core/api/event.js';
import { createConsoleOutput } from '../../core/outputs/console.js';
import { ndjsonLine } from '../../core/outputs/file/ndjson.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { MemoryMetrics, captureLogger, event, invariantHolds, silentLogger, testInfo } from './publisher-support.js';

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return () => text;
}

describe('output.console', () => {
  it('writes one JSON document per line, @timestamp first', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const metrics = new MemoryMetrics();
    const out = createConsoleOutput({ pretty: false }, { stream, metrics, logger: silentLogger });
    const ts = new Date('2024-05-06T07:08:09.123Z');
    const r = await out.publish([event({ message: 'a', n: 1 }, ts), event({ message: 'b\nc', nested: { x: [1, 2] } }, ts)]);
    assert.deepEqual(r, { acked: 2, dropped: 0 });
    const lines = text().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '', 'ends with a newline');
    const docs = lines.slice(0, 2).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(docs[0], { '@timestamp': '2024-05-06T07:08:09.123Z', message: 'a', n: 1 });
    assert.equal(Object.keys(docs[1]!)[0], '@timestamp');
    assert.equal(docs[1]!.message, 'b\nc');
    assert.equal(metrics.namespace('output').num('write.bytes'), Buffer.byteLength(text()));
    await out.close();
  });

  it('the NDJSON encoder gives exactly JSON.stringify(toDocument(event))', () => {
    const ts = new Date(1234);
    for (const fields of [{}, { a: 1, b: { c: [1, 'x', null] }, u: undefined }, { '@timestamp': 'own', z: 1 }, { 'k"q': '\u2028\n' }]) {
      const e = event(fields, ts);
      assert.equal(ndjsonLine(e), `${JSON.stringify(toDocument(e))}\n`);
    }
  });

  it('pretty: indented documents', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const out = createConsoleOutput({ pretty: true }, { stream, metrics: new MemoryMetrics(), logger: silentLogger });
    await out.publish([event({ a: { b: 1 } }, new Date(0))]);
    assert.equal(text(), '{\n  "@timestamp": "1970-01-01T00:00:00.000Z",\n  "a": {\n    "b": 1\n  }\n}\n');
  });

  it('acks a batch only once the stream took it, waiting for drain', async () => {
    const chunks: string[] = [];
    let inFlight = false;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        inFlight = true;
        setTimeout(() => {
          chunks.push(chunk.toString('utf8'));
          inFlight = false;
          cb();
        }, 20);
      },
    });
    const out = createConsoleOutput({ pretty: false }, { stream: slow, metrics: new MemoryMetrics(), logger: silentLogger });
    for (let b = 0; b < 5; b++) {
      const r = await out.publish(Array.from({ length: 10 }, (_, i) => event({ seq: b * 10 + i, pad: 'x'.repeat(100) })));
      assert.deepEqual(r, { acked: 10, dropped: 0 });
      assert.equal(inFlight, false, 'publish resolved while the stream was still writing');
    }
    const seqs = chunks.join('').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i));
  });

  it('a failing stream drops the batch and counts it (no crash on EPIPE-like errors)', async () => {
    const { logger, records } = captureLogger();
    const broken = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const metrics = new MemoryMetrics();
    const out = createConsoleOutput({ pretty: false }, { stream: broken, metrics, logger });
    const pipeline = createPipeline({
      queue: { events: 100, flushMinEvents: 0, flushTimeoutMs: 0 },
      processors: [],
      output: out,
      metrics,
      logger,
      info: testInfo(),
    });
    for (let i = 0; i < 5; i++) await pipeline.publish(event({ seq: i }));
    await pipeline.close(5000);
    const p = metrics.namespace('pipeline');
    assert.equal(p.num('events.failed'), 5);
    assert.equal(p.num('events.acked'), 0);
    assert.ok(metrics.namespace('output').num('write.errors') >= 1);
    assert.ok(invariantHolds(metrics));
    assert.ok(records.some((r) => String(r.msg).includes('writing to stdout failed')));
  });

  it('a procbeat process writes every event to its real stdout, in order, even when the reader is slow', async (t) => {
    const dist = (rel: string): string => pathToFileURL(fileURLToPath(new URL(rel, import.meta.url))).href;
    const N = 20_000;
    const child = `
      import { pino } from 'pino';
      import { createOutput } from ${JSON.stringify(dist('../../core/outputs/registry.js'))};
      import { createPipeline } from ${JSON.stringify(dist('../../core/publisher/pipeline.js'))};
      const values = new Map();
      const ns = (name) => ({ name,
        inc: (k, by = 1) => values.set(name + '.' + k, (values.get(name + '.' + k) ?? 0) + by),
        set: (k, v) => values.set(name + '.' + k, v),
        get: (k) => values.get(name + '.' + k) });
      const metrics = { namespace: ns };
      const logger = pino({ level: 'warn' }, pino.destination(2));
      const info = { name: 'procbeat', version: 't', uuid: 'u', hostname: 'h', hostId: 'i', paths: { data: '/tmp', logs: '/tmp' } };
      const output = await createOutput({ console: { pretty: false } }, { logger, metrics, info });
      const pipeline = createPipeline({ queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 200 },
        processors: [], output, metrics, logger, info });
      for (let i = 0; i < ${N}; i++) {
        await pipeline.publish({ timestamp: new Date(), fields: { seq: i, message: 'm'.repeat(i % 700) } });
      }
      const r = await pipeline.close(60000);
      process.stderr.write('RESULT ' + JSON.stringify({ r, acked: values.get('pipeline.events.acked') }) + '\\n');
    `;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', child], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const chunks: Buffer[] = [];
    // Do not read for a while: the pipe fills up and the child has to wait.
    proc.stdout.pause();
    await new Promise((r) => setTimeout(r, 500));
    proc.stdout.on('data', (c: Buffer) => chunks.push(c));
    proc.stdout.resume();
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    assert.equal(code, 0, stderr);
    const result = JSON.parse(/RESULT (.*)/.exec(stderr)![1]!) as { r: { undelivered: number }; acked: number };
    assert.equal(result.r.undelivered, 0);
    assert.equal(result.acked, N);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, N);
    lines.forEach((line, i) => {
      const doc = JSON.parse(line) as Record<string, unknown>;
      assert.equal(doc.seq, i);
      assert.equal(Object.keys(doc)[0], '@timestamp');
      assert.equal((doc.agent as Record<string, unknown>).type, 'procbeat');
    });
  });
});
