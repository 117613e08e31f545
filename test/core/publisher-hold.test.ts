/**
 * A processor may hold one event (it returns a Promise) while everything else flows: what
 * add_docker_metadata does while it looks up a container it has not seen yet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { ProcessorError, type Processor } from '../../core/processors/index.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { FakeOutput, MemoryMetrics, event, invariantHolds, pipelineCounts, settle, silentLogger, testInfo, waitFor } from './publisher-support.js';

/** Holds events whose `hold` field is set until release(key) is called. */
class Holder implements Processor {
  readonly name = 'holder';
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();
  run(e: BeatEvent): BeatEvent | null | Promise<BeatEvent | null> {
    const key = e.fields.hold;
    if (typeof key !== 'string') return e;
    let gate = this.gates.get(key);
    if (gate === undefined) {
      let open!: () => void;
      const promise = new Promise<void>((r) => { open = r; });
      gate = { promise, open };
      this.gates.set(key, gate);
    }
    return gate.promise.then(() => {
      e.fields.released = key;
      if (e.fields.drop === true) return null;
      if (e.fields.fail === true) throw new ProcessorError('partly failed', e);
      return e;
    });
  }
  release(key: string): void {
    this.gates.get(key)?.open();
  }
}

/** Marks every event it sees: shows that the chain goes on after the hold. */
const after: Processor = { name: 'after', run: (e) => { e.fields.after = true; return e; } };

function setup(queueEvents = 100) {
  const metrics = new MemoryMetrics();
  const output = new FakeOutput();
  const holder = new Holder();
  const pipeline = createPipeline({
    processors: [holder, after],
    logger: silentLogger,
    info: testInfo(),
    queue: { events: queueEvents, flushMinEvents: 0, flushTimeoutMs: 0 },
    output,
    metrics,
  });
  const seqs = (): number[] => output.batches.flat().map((e) => e.fields.seq as number);
  return { metrics, output, holder, pipeline, seqs, p: metrics.namespace('pipeline') };
}

describe('pipeline: processors that hold an event', () => {
  it('a held event waits alone; others flow past it; it lands (rest of the chain applied) when released', async () => {
    const { holder, pipeline, seqs, p, output, metrics } = setup();
    await pipeline.publish(event({ seq: 1, hold: 'a' }));
    await pipeline.publish(event({ seq: 2, hold: 'a' }));
    await pipeline.publish(event({ seq: 3 }));
    await pipeline.publish(event({ seq: 4, hold: 'b' }));
    await pipeline.publish(event({ seq: 5 }));
    await settle();
    assert.deepEqual(seqs(), [3, 5], 'only the not-held events are delivered');
    assert.equal(p.num('events.held'), 3);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    holder.release('b');
    await waitFor(() => seqs().length === 3, 'b lands');
    assert.deepEqual(seqs(), [3, 5, 4]);
    holder.release('a');
    await waitFor(() => seqs().length === 5, 'a lands');
    assert.deepEqual(seqs(), [3, 5, 4, 1, 2], 'held events of one key keep their order');
    assert.ok(output.batches.flat().every((e) => e.fields.after === true), 'the processors after the holder ran on every event');
    assert.equal(p.num('events.held'), 0);
    assert.equal(p.num('events.total'), 5);
    assert.equal(p.num('events.acked'), 5);
    assert.ok(invariantHolds(metrics));
  });

  it('a held event that a processor filters or partly fails is counted like a synchronous one', async () => {
    const { holder, pipeline, p, seqs, metrics } = setup();
    await pipeline.publish(event({ seq: 1, hold: 'x', drop: true }));
    await pipeline.publish(event({ seq: 2, hold: 'x', fail: true }));
    holder.release('x');
    await waitFor(() => seqs().length === 1, 'the failed one lands');
    assert.deepEqual(seqs(), [2]);
    assert.equal(p.num('events.filtered'), 1);
    assert.equal(p.num('processors.errors'), 1);
    assert.equal(p.num('events.total'), 2);
    assert.ok(invariantHolds(metrics));
  });

  it('close() waits for held events and delivers them', async () => {
    const { holder, pipeline, seqs } = setup();
    await pipeline.publish(event({ seq: 1, hold: 'c' }));
    const closing = pipeline.close(10_000);
    setTimeout(() => holder.release('c'), 50);
    assert.deepEqual(await closing, { undelivered: 0 });
    assert.deepEqual(seqs(), [1]);
  });

  it('close() gives up on an event held past the timeout and counts it as dropped when it lands', async () => {
    const { holder, pipeline, p, metrics } = setup();
    await pipeline.publish(event({ seq: 1, hold: 'd' }));
    assert.deepEqual(await pipeline.close(50), { undelivered: 1 });
    holder.release('d');
    await waitFor(() => p.num('events.dropped') === 1, 'the late event is counted');
    assert.equal(p.num('events.total'), 1);
    assert.ok(invariantHolds(metrics));
  });

  it('tryPublish: a held event that lands on a full queue is dropped and counted', async () => {
    const { holder, pipeline, p, output, metrics } = setup(1);
    output.hold();
    assert.equal(pipeline.tryPublish(event({ seq: 1, hold: 'e' })), true);
    assert.equal(pipeline.tryPublish(event({ seq: 2 })), true, 'the queue has room for the one not held');
    holder.release('e');
    await waitFor(() => p.num('events.dropped') === 1, 'dropped on landing');
    await output.release();
    await waitFor(() => p.num('events.acked') === 1, 'seq 2 acked');
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
  });
});
