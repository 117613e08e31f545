import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toDocument, type BeatEvent } from '../../core/api/event.js';
import { isEncoded, type BatchResult, type EncodedEvent, type OutputEvent } from '../../core/api/output.js';
import { ndjsonLine } from '../../core/outputs/file/ndjson.js';
import { createFileOutput } from '../../core/outputs/file/output.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { FakeOutput, MemoryMetrics, event, invariantHolds, settle, silentLogger, testInfo, waitFor } from './publisher-support.js';

/** A fake output that encodes like the file output and keeps what it was handed. */
class EncodingOutput extends FakeOutput {
  readonly handed: OutputEvent[] = [];

  encode(e: BeatEvent): EncodedEvent {
    return { encoded: true, body: ndjsonLine(e) };
  }

  override publish(events: readonly BeatEvent[], signal?: AbortSignal): Promise<BatchResult> {
    this.handed.push(...(events as readonly OutputEvent[]));
    return super.publish(events, signal);
  }
}

describe('pipeline: queue.mem holds what the output sends', () => {
  it('an output with encode gets each event encoded once, after the processors', async () => {
    const metrics = new MemoryMetrics();
    const output = new EncodingOutput();
    const pipeline = createPipeline({
      processors: [{ name: 'mark', run: (e) => { e.fields.marked = true; return e; } }],
      logger: silentLogger, info: testInfo(), metrics, output,
      queue: { events: 100, flushMinEvents: 0, flushTimeoutMs: 0 },
    });
    for (let i = 0; i < 5; i++) await pipeline.publish(event({ seq: i }));
    await pipeline.close(1000);
    assert.equal(output.handed.length, 5);
    for (const [i, h] of output.handed.entries()) {
      assert.ok(isEncoded(h), 'the batch carries encoded events, not objects');
      const doc = JSON.parse(h.body) as Record<string, unknown>;
      assert.equal(doc.seq, i);
      assert.equal(doc.marked, true, 'encoded after the processors ran');
    }
  });

  it('queue.mem.bytes bounds queued + in-flight encoded events: producers wait at the bound', async () => {
    const metrics = new MemoryMetrics();
    const output = new EncodingOutput();
    const bound = 8 * 1024;
    const pipeline = createPipeline({
      processors: [], logger: silentLogger, info: testInfo(), metrics, output,
      queue: { events: 1000, bytes: bound, flushMinEvents: 0, flushTimeoutMs: 0 },
    });
    const p = metrics.namespace('pipeline');
    assert.equal(p.num('queue.max_bytes'), bound);
    output.hold();
    const big = 'x'.repeat(1000);
    let admitted = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) all.push(pipeline.publish(event({ seq: i, big })).then(() => { admitted++; }));
    await settle(30);
    // ~1.2 KB per event: 7 fit under 8 KiB, the one that crosses it still goes in.
    assert.ok(admitted >= 6 && admitted <= 9, `admitted ${admitted} of 100 events under an 8 KiB bound (events bound: 1000)`);
    assert.ok(p.num('queue.filled.bytes') <= bound + 1300, `queue.filled.bytes ${p.num('queue.filled.bytes')}`);
    await output.release();
    await waitFor(() => admitted === 100, 'every producer admitted once the output acked');
    await Promise.all(all);
    await pipeline.close(1000);
    assert.deepEqual(output.handed.map((h) => (JSON.parse((h as EncodedEvent).body) as { seq: number }).seq), [...Array(100).keys()]);
    assert.equal(p.num('queue.filled.bytes'), 0);
    assert.ok(invariantHolds(metrics));
  });

  it('the file output writes the same lines whether events reach it encoded or as objects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'procbeat-encoded-'));
    try {
      const events = Array.from({ length: 50 }, (_, i) => event({ seq: i, process: { pid: 1000 + i, args: ['/bin/true', `a${i}`] } }, new Date(1700000000000 + i)));
      const metrics = new MemoryMetrics();
      const out = await createFileOutput({ path: dir, filename: 'out', rotateEveryKb: 10240, numberOfFiles: 2, permissions: 0o600, rotateOnStartup: false },
        { metrics, logger: silentLogger });
      const pipeline = createPipeline({
        processors: [], logger: silentLogger, info: testInfo(), metrics, output: out,
        queue: { events: 100, flushMinEvents: 0, flushTimeoutMs: 0 },
      });
      for (const e of events) await pipeline.publish(e);
      await pipeline.close(2000);
      const lines = (await readFile(join(dir, 'out'), 'utf8')).split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 50);
      lines.forEach((l, i) => assert.equal(l, JSON.stringify(toDocument(events[i]!))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
