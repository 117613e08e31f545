import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { PipelineClosedError, createPipeline, type PipelineOptions } from '../../core/publisher/pipeline.js';
import { ECS_VERSION } from '../../core/publisher/beat-fields.js';
import { buildProcessors, type Processor } from '../../core/processors/index.js';
import {
  FakeOutput,
  MemoryMetrics,
  captureLogger,
  event,
  invariantHolds,
  pipelineCounts,
  settle,
  silentLogger,
  testInfo,
  waitFor,
} from './publisher-support.js';

function setup(over: Omit<Partial<PipelineOptions>, 'queue'> & { queue?: Partial<PipelineOptions['queue']> } = {}) {
  const metrics = new MemoryMetrics();
  const output = (over.output as FakeOutput | undefined) ?? new FakeOutput();
  const pipeline = createPipeline({
    processors: [],
    logger: silentLogger,
    info: testInfo(),
    ...over,
    queue: { events: 100, flushMinEvents: 0, flushTimeoutMs: 0, ...over.queue },
    output,
    metrics,
  });
  const p = metrics.namespace('pipeline');
  const o = metrics.namespace('output');
  return { metrics, output, pipeline, p, o };
}

const seqOf = (e: BeatEvent): number => e.fields.seq as number;

describe('pipeline: queue and backpressure', () => {
  it('publish waits while the queue is full and resumes in FIFO order as the output acks', async () => {
    const { output, pipeline, p } = setup({ queue: { events: 10 } });
    output.hold();
    for (let i = 0; i < 10; i++) await pipeline.publish(event({ seq: i }));
    assert.equal(p.num('events.active'), 10);
    assert.equal(p.num('queue.filled.events'), 10);

    const resolved: number[] = [];
    const waiting = [10, 11, 12].map((i) => pipeline.publish(event({ seq: i })).then(() => resolved.push(i)));
    await settle(20);
    assert.deepEqual(resolved, [], 'publish must wait while 10 of 10 slots are used');

    // The first batch (one event: flush.timeout 0 sends as soon as there is one) is acked:
    // one slot frees up, the oldest waiter gets it.
    assert.equal(output.pending.length, 1);
    await output.releaseOne();
    await waitFor(() => resolved.length === 1, 'first waiter admitted');
    assert.deepEqual(resolved, [10]);

    await output.release();
    await Promise.all(waiting);
    assert.deepEqual(resolved, [10, 11, 12]);
    const r = await pipeline.close(10_000);
    assert.equal(r.undelivered, 0);
    assert.deepEqual(output.batches.flat().map(seqOf), Array.from({ length: 13 }, (_, i) => i), 'delivered in publish order');
    assert.equal(p.num('events.acked'), 13);
  });

  it('tryPublish drops and counts when the queue is full', async () => {
    const { output, pipeline, p, metrics } = setup({ queue: { events: 5 } });
    output.hold();
    const accepted = Array.from({ length: 8 }, (_, i) => pipeline.tryPublish(event({ seq: i })));
    assert.deepEqual(accepted, [true, true, true, true, true, false, false, false]);
    assert.equal(p.num('events.dropped'), 3);
    assert.equal(p.num('events.total'), 8);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    await output.release();
    await pipeline.close(10_000);
    assert.equal(p.num('events.acked'), 5);
    assert.ok(invariantHolds(metrics));
  });

  it('hands a batch over once flush.min_events are queued', async () => {
    const { output, pipeline } = setup({ queue: { events: 100, flushMinEvents: 10, flushTimeoutMs: 600_000 } });
    for (let i = 0; i < 9; i++) await pipeline.publish(event({ seq: i }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(output.batches.length, 0, '9 of 10 events: nothing is sent yet');
    await pipeline.publish(event({ seq: 9 }));
    await waitFor(() => output.batches.length === 1, 'a batch');
    assert.equal(output.batches[0]!.length, 10);
    await pipeline.close(10_000);
  });

  it('hands a smaller batch over once the oldest event waited flush.timeout', async () => {
    const { output, pipeline } = setup({ queue: { events: 100, flushMinEvents: 50, flushTimeoutMs: 300 } });
    const start = performance.now();
    for (let i = 0; i < 3; i++) await pipeline.publish(event({ seq: i }));
    await waitFor(() => output.batches.length === 1, 'the timeout flush');
    const waited = performance.now() - start;
    assert.ok(waited >= 280, `sent after ${waited} ms, before flush.timeout`);
    assert.equal(output.batches[0]!.length, 3);
    await pipeline.close(10_000);
  });

  it('flush.timeout 0 sends as soon as an event is there; later events batch up behind the one in flight', async () => {
    const { output, pipeline } = setup({ queue: { events: 100, flushMinEvents: 1600, flushTimeoutMs: 0 } });
    output.hold();
    await pipeline.publish(event({ seq: 0 }));
    assert.equal(output.batches.length, 1);
    for (let i = 1; i < 20; i++) await pipeline.publish(event({ seq: i }));
    assert.equal(output.batches.length, 1, 'one batch in flight at a time');
    await output.releaseOne();
    await waitFor(() => output.batches.length === 2, 'second batch');
    assert.equal(output.batches[1]!.length, 19);
    await output.release();
    await pipeline.close(10_000);
  });

  it('keeps batches at most batchMaxEvents long and allows `worker` batches in flight', async () => {
    const { output, pipeline } = setup({ queue: { events: 100, flushMinEvents: 10, flushTimeoutMs: 60_000 }, batchMaxEvents: 10, worker: 2 });
    output.hold();
    for (let i = 0; i < 35; i++) await pipeline.publish(event({ seq: i }));
    assert.deepEqual(output.batches.map((b) => b.length), [10, 10], 'two workers busy');
    await output.release();
    await waitFor(() => output.delivered === 30, 'third batch');
    const r = await pipeline.close(10_000);
    assert.equal(r.undelivered, 0);
    assert.equal(output.delivered, 35);
    assert.ok(output.batches.every((b) => b.length <= 10));
  });
});

describe('pipeline: accounting', () => {
  it('counters add up after a mixed run (filtered, dropped, acked, failed)', async () => {
    const processors = await buildProcessors([{ drop_event: { when: { equals: { kind: 'noise' } } } }], {
      key: 'processors',
      logger: silentLogger,
      info: testInfo(),
    });
    const { output, pipeline, p, o, metrics } = setup({ processors, queue: { events: 50, flushMinEvents: 20, flushTimeoutMs: 50 } });
    // The output gives up on every event whose seq is a multiple of 7.
    output.decide = async (events) => {
      await new Promise((r) => setTimeout(r, 1));
      const failed = events.filter((e) => seqOf(e) % 7 === 0).length;
      return { acked: events.length - failed, dropped: failed };
    };
    let expectFiltered = 0;
    let expectDropped = 0;
    const delivered: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const noise = i % 10 === 3;
      if (noise) expectFiltered++;
      const e = event({ seq: i, kind: noise ? 'noise' : 'signal' });
      if (i % 3 === 0) {
        if (!pipeline.tryPublish(e)) expectDropped++;
        else if (!noise) delivered.push(i);
      } else {
        await pipeline.publish(e);
        if (!noise) delivered.push(i);
      }
      if (i % 100 === 0) assert.ok(invariantHolds(metrics), `invariant at ${i}: ${JSON.stringify(pipelineCounts(metrics))}`);
    }
    const r = await pipeline.close(30_000);
    assert.equal(r.undelivered, 0);
    const expectFailed = delivered.filter((s) => s % 7 === 0).length;
    const c = pipelineCounts(metrics);
    assert.equal(c['events.total'], 2000);
    assert.equal(c['events.filtered'], expectFiltered);
    assert.equal(c['events.dropped'], expectDropped);
    assert.equal(c['events.active'], 0);
    assert.equal(c['events.failed'], expectFailed);
    assert.equal(c['events.acked'], delivered.length - expectFailed);
    assert.equal(c['events.published'], delivered.length);
    assert.ok(invariantHolds(metrics), JSON.stringify(c));
    assert.equal(o.num('events.total'), delivered.length);
    assert.equal(o.num('events.acked'), c['events.acked']);
    assert.equal(o.num('events.dropped'), expectFailed);
    assert.equal(o.num('events.batches'), output.batches.length);
    assert.equal(p.num('queue.max_events'), 50);
    assert.ok(expectDropped > 0, 'the run exercised queue-full drops');
    assert.ok(output.closed);
  });

  it('close() drains everything queued (ignoring flush.timeout) within the timeout', async () => {
    const { output, pipeline, metrics } = setup({ queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 600_000 } });
    for (let i = 0; i < 500; i++) await pipeline.publish(event({ seq: i }));
    assert.equal(output.batches.length, 0);
    const r = await pipeline.close(10_000);
    assert.equal(r.undelivered, 0);
    assert.equal(output.delivered, 500);
    assert.ok(output.closed);
    assert.equal(pipelineCounts(metrics)['events.acked'], 500);
  });

  it('close() gives up after the timeout and counts queued, in-flight and waiting events as dropped', async () => {
    const { logger, records } = captureLogger();
    const { output, pipeline, metrics, p } = setup({ logger, queue: { events: 10, flushMinEvents: 4, flushTimeoutMs: 600_000 }, batchMaxEvents: 4 });
    output.hold(); // the output never answers
    for (let i = 0; i < 10; i++) await pipeline.publish(event({ seq: i }));
    const waiter = pipeline.publish(event({ seq: 10 }));
    const waiterOutcome = waiter.then(
      () => 'resolved',
      (e: unknown) => (e instanceof PipelineClosedError ? 'closed' : String(e)),
    );
    const r = await pipeline.close(300);
    assert.equal(r.undelivered, 11, '4 in flight + 6 queued + 1 waiting');
    assert.equal(await waiterOutcome, 'closed');
    assert.equal(p.num('events.dropped'), 11);
    assert.equal(p.num('events.active'), 0);
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    assert.ok(output.closed, 'the output is closed even after a timeout');
    assert.ok(output.signals[0]?.aborted, 'the output was told to stop');
    assert.ok(records.some((rec) => String(rec.msg).includes('were not delivered')));
    // A late answer for the abandoned batch changes nothing.
    await output.release();
    await settle();
    assert.equal(p.num('events.acked'), 0);
    assert.ok(invariantHolds(metrics));
  });

  it('close() does not hang on an output whose close() never returns', async () => {
    const { logger, records } = captureLogger();
    const { output, pipeline } = setup({ logger });
    output.close = () => new Promise<void>(() => undefined);
    await pipeline.publish(event({ seq: 1 }));
    const r = await pipeline.close(100);
    assert.equal(r.undelivered, 0);
    assert.ok(records.some((rec) => String(rec.msg).includes('did not close in time')));
  });

  it('after close(), publish rejects and tryPublish returns false; both count the event as dropped', async () => {
    const { pipeline, p, metrics } = setup();
    await pipeline.close(1000);
    await assert.rejects(pipeline.publish(event({ seq: 1 })), PipelineClosedError);
    assert.equal(pipeline.tryPublish(event({ seq: 2 })), false);
    assert.equal(p.num('events.dropped'), 2);
    assert.ok(invariantHolds(metrics));
    assert.deepEqual(await pipeline.close(1000), { undelivered: 0 }, 'close is idempotent');
  });

  it('a BatchResult that does not add up is logged and the difference counted as dropped', async () => {
    const { logger, records } = captureLogger();
    const { output, pipeline, metrics, o } = setup({ logger });
    output.decide = (events) => ({ acked: events.length, dropped: 1 });
    await pipeline.publish(event({ seq: 1 }));
    await pipeline.close(5000);
    assert.ok(records.some((r) => r.level === 50 && String(r.msg).includes('acked+dropped')));
    assert.ok(invariantHolds(metrics), JSON.stringify(pipelineCounts(metrics)));
    assert.equal(o.num('events.acked') + o.num('events.dropped'), 1);

    const second = setup({ logger });
    second.output.decide = () => ({ acked: -3, dropped: Number.NaN });
    await second.pipeline.publish(event({ seq: 1 }));
    await second.pipeline.publish(event({ seq: 2 }));
    await second.pipeline.close(5000);
    assert.equal(second.p.num('events.failed'), 2);
    assert.ok(invariantHolds(second.metrics));
  });

  it('an output whose publish rejects has the whole batch counted as failed', async () => {
    const { output, pipeline, p, metrics } = setup();
    output.decide = () => {
      throw new Error('boom');
    };
    for (let i = 0; i < 5; i++) await pipeline.publish(event({ seq: i }));
    await pipeline.close(5000);
    assert.equal(p.num('events.failed'), 5);
    assert.ok(invariantHolds(metrics));
  });
});

describe('pipeline: beat fields and processors', () => {
  it('adds agent.*, ecs.version and host.name before the processors, plus global fields and tags', async () => {
    const seen: BeatEvent[] = [];
    const spy: Processor = { name: 'spy', run: (e) => (seen.push(structuredClone(e)), e) };
    const drop = await buildProcessors([{ drop_fields: { fields: ['agent.ephemeral_id'] } }], { key: 'processors', logger: silentLogger, info: testInfo() });
    const { output, pipeline } = setup({
      processors: [spy, ...drop],
      fields: { env: 'staging' },
      tags: ['a', 'b'],
    });
    await pipeline.publish(event({ seq: 1, tags: ['b', 'x'], agent: { name: 'custom' } }));
    await pipeline.close(5000);
    const before = seen[0]!.fields;
    const agent = before.agent as Record<string, unknown>;
    assert.equal(agent.type, 'procbeat');
    assert.equal(agent.name, 'custom', 'a value the dataset set wins over the agent default');
    assert.equal(agent.id, testInfo().uuid);
    assert.equal(agent.version, testInfo().version);
    assert.match(String(agent.ephemeral_id), /^[0-9a-f-]{36}$/);
    assert.deepEqual(before.ecs, { version: ECS_VERSION });
    assert.deepEqual(before.host, { name: 'testhost' });
    assert.deepEqual(before.fields, { env: 'staging' });
    assert.deepEqual(before.tags, ['b', 'x', 'a']);
    const sent = output.batches[0]![0]!.fields;
    assert.equal((sent.agent as Record<string, unknown>).ephemeral_id, undefined, 'processors can drop agent fields');

    const under = setup({ fields: { env: 'prod' }, fieldsUnderRoot: true, name: 'shipper-1', ephemeralId: 'run-42' });
    await under.pipeline.publish(event({ seq: 1 }));
    await under.pipeline.close(5000);
    const doc = under.output.batches[0]![0]!.fields;
    assert.equal(doc.env, 'prod');
    assert.deepEqual(doc.agent, { type: 'procbeat', name: 'shipper-1', id: testInfo().uuid, version: testInfo().version, ephemeral_id: 'run-42' });
    assert.deepEqual(doc.host, { name: 'shipper-1' });
  });

  it('a processor that throws is logged and counted; the event goes on unchanged', async () => {
    const { logger, records } = captureLogger();
    const bad: Processor = {
      name: 'bad',
      run: () => {
        throw new Error('kaput');
      },
    };
    const tag: Processor = { name: 'tag', run: (e) => ((e.fields.tagged = true), e) };
    const { output, pipeline, p, metrics } = setup({ logger, processors: [bad, tag] });
    for (let i = 0; i < 3; i++) await pipeline.publish(event({ seq: i }));
    await pipeline.close(5000);
    assert.equal(p.num('processors.errors'), 3);
    assert.equal(output.delivered, 3);
    assert.ok(output.batches.flat().every((e) => e.fields.tagged === true && e.fields.seq !== undefined));
    assert.equal(records.filter((r) => String(r.msg).includes('processor bad failed')).length, 1, 'logged once, not per event');
    assert.ok(invariantHolds(metrics));
  });

  it('a malformed event is counted as dropped, not thrown at the dataset', async () => {
    const { pipeline, p, metrics } = setup();
    await pipeline.publish({ timestamp: 'yesterday', fields: {} } as unknown as BeatEvent);
    assert.equal(p.num('events.dropped'), 1);
    assert.ok(invariantHolds(metrics));
    await pipeline.close(1000);
  });
});
