/**
 * Issue 4's done-when: 100,000 events through a server that throws every fault at once
 * (429 storms, 5xx, partial item failures, responses past the timeout, truncated responses,
 * a restart with refused connections). Every event must end indexed exactly once at the
 * server or counted as dropped by policy, and the counters must agree.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { BatchResult } from '../../core/api/output.js';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { FakeElasticsearch } from './fake-es.js';
import { MemoryMetrics, makeEvents, pipelineLikePublish, silentLogger } from './helpers.js';

const VERSION = '0.1.0';
const INDEX = `procbeat-${VERSION}`;

/** A small seeded generator so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function run(opts: {
  total: number;
  maxRetries: number;
  seed: number;
  /** Responses lost after indexing (timeouts, truncated items): re-sends then meet 409s. */
  lostResponses: boolean;
  restart: boolean;
}): Promise<{ es: FakeElasticsearch; metrics: MemoryMetrics; results: BatchResult[]; bad: Set<number> }> {
  const es = new FakeElasticsearch();
  await es.start();
  cleanups.push(() => es.stop());
  const rand = prng(opts.seed);
  const isBad = (seq: number): boolean => seq % 997 === 13;
  const bad = new Set<number>();
  for (let s = 0; s < opts.total; s++) if (isBad(s)) bad.add(s);

  es.faults.requestStatus = () => {
    const r = rand();
    if (r < 0.04) return 429;
    if (r < 0.07) return 503;
    if (r < 0.08) return 500;
    return 0;
  };
  es.faults.item = (_a, doc) => {
    if (doc['bad'] === true) return { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [bad]' };
    const r = rand();
    if (r < 0.03) return { status: 429, type: 'es_rejected_execution_exception', reason: 'queue full' };
    if (r < 0.05) return { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active' };
    return undefined;
  };
  if (opts.lostResponses) {
    // at fixed request numbers so that every run has some, whatever the timing
    es.faults.truncateItems = (n) => n % 50 === 10;
    es.faults.delayMs = (n) => (n % 40 === 7 ? 900 : 0);
  }
  if (opts.restart) {
    let restarted = false;
    const inner = es.faults.requestStatus;
    es.faults.requestStatus = (n) => {
      if (n === 25 && !restarted) {
        restarted = true;
        setImmediate(() => {
          void es.stop().then(() => new Promise((r) => setTimeout(r, 400))).then(() => es.start(es.port));
        });
      }
      return inner(n);
    };
  }

  const metrics = new MemoryMetrics();
  const config = validateElasticsearchConfig(
    {
      hosts: [es.url],
      worker: 2,
      max_retries: opts.maxRetries,
      backoff: { init: '5ms', max: '50ms' },
      timeout: '500ms',
    },
    { beatName: 'procbeat', beatVersion: VERSION },
  );
  const output = new ElasticsearchOutput(config, { logger: silentLogger(), metrics, userAgent: 'procbeat-test' });
  cleanups.push(() => output.close());
  const publish = pipelineLikePublish(output, metrics);

  // as the publisher does: batches of flush.min_events, a few in flight at once
  const batch = 1600;
  const results: BatchResult[] = [];
  let next = 0;
  const lanes = Array.from({ length: 3 }, async () => {
    while (next < opts.total) {
      const from = next;
      const count = Math.min(batch, opts.total - from);
      next += count;
      results.push(await publish(makeEvents(from, count, { withIds: true, bad: isBad })));
    }
  });
  await Promise.all(lanes);
  return { es, metrics, results, bad };
}

test('100,000 events through every fault at once: each indexed exactly once or dropped by policy', { timeout: 180_000 }, async () => {
  const total = 100_000;
  const started = Date.now();
  const { es, metrics, results, bad } = await run({ total, maxRetries: -1, seed: 42, lostResponses: true, restart: true });
  const elapsed = Date.now() - started;

  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let s = 0; s < total; s++) {
    const n = es.seqCount.get(s) ?? 0;
    if (bad.has(s)) assert.equal(n, 0, `bad seq ${s} must not be indexed`);
    else if (n === 0) missing.push(s);
    else if (n > 1) duplicated.push(s);
  }
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} events lost`);
  assert.deepEqual(duplicated.slice(0, 10), [], `${duplicated.length} events indexed twice`);
  assert.equal(es.docCount(INDEX), total - bad.size);

  const m = metrics.output();
  const acked = results.reduce((n, r) => n + r.acked, 0);
  const dropped = results.reduce((n, r) => n + r.dropped, 0);
  assert.equal(acked, total - bad.size);
  assert.equal(dropped, bad.size);
  assert.equal(m['events.total'], total);
  assert.equal(m['events.acked'], acked);
  assert.equal(m['events.dropped'], dropped);
  assert.equal(m['events.non_indexable'], bad.size, 'every refusal is counted');
  assert.equal(m['events.active'], 0);
  assert.equal(m['events.acked']! + m['events.dropped']!, m['events.total']);
  // the faults really happened
  assert.ok(m['events.failed']! > 1000, JSON.stringify(m));
  assert.ok(m['events.toomany']! > 0 && m['retries']! > 10 && m['read.errors']! > 0 && m['write.errors']! > 0, JSON.stringify(m));
  assert.ok(m['events.duplicates']! > 0, 're-sent documents came back 409');
  console.log(`# 100k fault run: ${elapsed} ms, ${es.bulkRequests} bulk requests, counters ${JSON.stringify(m)}`);
});

test('with max_retries 1 some events are given up: each is indexed once or counted dropped, never both', { timeout: 120_000 }, async () => {
  const total = 20_000;
  const { es, metrics, results, bad } = await run({ total, maxRetries: 1, seed: 7, lostResponses: false, restart: false });
  const m = metrics.output();
  const acked = results.reduce((n, r) => n + r.acked, 0);
  const dropped = results.reduce((n, r) => n + r.dropped, 0);
  let indexed = 0;
  for (let s = 0; s < total; s++) {
    const n = es.seqCount.get(s) ?? 0;
    assert.ok(n <= 1, `seq ${s} indexed ${n} times`);
    indexed += n;
  }
  assert.ok(dropped > bad.size, 'some events ran out of retries');
  assert.equal(indexed, acked, 'what the output acked is exactly what the server holds');
  assert.equal(acked + dropped, total);
  assert.equal(m['events.acked'], acked);
  assert.equal(m['events.dropped'], dropped);
  assert.equal(m['events.total'], total);
  // a bad event may run out of retries on whole-request failures before Elasticsearch refuses it
  assert.ok(m['events.non_indexable']! <= bad.size && m['events.non_indexable']! > 0);
  for (const s of bad) assert.equal(es.seqCount.get(s), undefined);
  assert.equal(m['events.active'], 0);
});
