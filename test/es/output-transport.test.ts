/**
 * The Elasticsearch output against a real HTTP server on 127.0.0.1 that speaks `_bulk` and
 * injects faults. Every test checks that no event is lost: each one is indexed exactly once
 * at the server or counted as dropped, and the output's counters add up.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import type { BatchResult } from '../../core/api/output.js';
import { FakeElasticsearch, freePort } from './fake-es.js';
import { MemoryMetrics, captureLogs, makeEvents, pipelineLikePublish, silentLogger, type CapturedLog } from './helpers.js';

const VERSION = '0.1.0';
const INDEX = `procbeat-${VERSION}`;

interface Harness {
  output: ElasticsearchOutput;
  metrics: MemoryMetrics;
  /** output.publish, counted the way the publisher pipeline counts it. */
  publish: ReturnType<typeof pipelineLikePublish>;
}

const outputs: ElasticsearchOutput[] = [];
const servers: FakeElasticsearch[] = [];
after(async () => {
  for (const o of outputs) await o.close().catch(() => undefined);
  for (const s of servers) await s.stop();
});

async function server(): Promise<FakeElasticsearch> {
  const s = new FakeElasticsearch();
  await s.start();
  servers.push(s);
  return s;
}

function makeOutput(settings: Record<string, unknown>, opts: { log?: CapturedLog; closeTimeoutMs?: number } = {}): Harness {
  const config = validateElasticsearchConfig(
    { backoff: { init: '10ms', max: '80ms' }, timeout: '5s', ...settings },
    { beatName: 'procbeat', beatVersion: VERSION },
  );
  const metrics = new MemoryMetrics();
  const deps: ConstructorParameters<typeof ElasticsearchOutput>[1] = {
    logger: opts.log?.logger ?? silentLogger(),
    metrics,
    userAgent: `procbeat/${VERSION}`,
    formatFallbacks: { 'agent.version': VERSION },
  };
  if (opts.closeTimeoutMs !== undefined) deps.closeTimeoutMs = opts.closeTimeoutMs;
  const output = new ElasticsearchOutput(config, deps);
  outputs.push(output);
  return { output, metrics, publish: pipelineLikePublish(output, metrics) };
}

/** The bookkeeping every test ends with: the counters add up and match the batch results. */
function assertBalanced(h: Harness, total: number, results: BatchResult[]): void {
  const m = h.metrics.output();
  const acked = results.reduce((n, r) => n + r.acked, 0);
  const dropped = results.reduce((n, r) => n + r.dropped, 0);
  assert.equal(acked + dropped, total, `results settle every event: ${JSON.stringify({ acked, dropped, total })}`);
  assert.equal(m['events.total'], total, JSON.stringify(m));
  assert.equal(m['events.acked'], acked, JSON.stringify(m));
  assert.equal(m['events.dropped'], dropped, JSON.stringify(m));
  assert.equal(m['events.active'], 0, JSON.stringify(m));
  assert.equal(m['events.acked']! + m['events.dropped']! + m['events.active']!, m['events.total'], JSON.stringify(m));
}

function assertExactlyOnce(es: FakeElasticsearch, seqs: Iterable<number>): void {
  const missing: number[] = [];
  const twice: number[] = [];
  for (const s of seqs) {
    const n = es.seqCount.get(s) ?? 0;
    if (n === 0) missing.push(s);
    else if (n > 1) twice.push(s);
  }
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} events never indexed`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} events indexed more than once`);
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

describe('elasticsearch output over HTTP', () => {
  test('indexes every event with op_type create into the procbeat data stream, gzip at level 1', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [`127.0.0.1:${es.port}`], bulk_max_size: 1000 });
    const events = makeEvents(0, 4500);
    const r = await h.publish(events);
    assert.deepEqual(r, { acked: 4500, dropped: 0 });
    assert.equal(es.docCount(INDEX), 4500);
    assert.equal(es.bulkRequests, 5, 'bulk_max_size splits the batch');
    assert.equal(es.gzipRequests, 5);
    const doc = es.docs(INDEX)[0]!.doc;
    assert.equal(doc['@timestamp'], events[0]!.timestamp.toISOString());
    assert.equal((doc['process'] as Record<string, unknown>)['name'], 'sleep');
    assertExactlyOnce(es, range(0, 4500));
    assertBalanced(h, 4500, [r]);
    const m = h.metrics.output();
    assert.equal(m['bulk.requests'], 5);
    assert.ok(m['write.bytes']! > 0 && m['write.bytes']! < es.bytesReceived + 1);
  });

  test('compression_level 0 sends plain NDJSON', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], compression_level: 0 });
    const r = await h.publish(makeEvents(0, 100));
    assert.equal(r.acked, 100);
    assert.equal(es.gzipRequests, 0);
    assert.equal(es.bulkRequests, 1);
  });

  test('partial failures: 201, 400 dropped by policy, 409 duplicate, 429 and 500 retried', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url] });
    // ids 0..49 already exist at the server: those come back 409 and count as acked duplicates
    assert.equal((await h.publish(makeEvents(0, 50, { withIds: true }))).acked, 50);
    const failedOnce = new Set<number>();
    es.faults.item = (_a, doc) => {
      const seq = doc['seq'] as number;
      if (doc['bad'] === true) return { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [bad]' };
      if (seq % 10 === 3 && !failedOnce.has(seq)) {
        failedOnce.add(seq);
        return { status: 429, type: 'es_rejected_execution_exception' };
      }
      if (seq % 10 === 7 && !failedOnce.has(seq)) {
        failedOnce.add(seq);
        return { status: 500, type: 'internal_error' };
      }
      return undefined;
    };
    const events = makeEvents(0, 1000, { withIds: true, bad: (s) => s % 50 === 25 });
    const r = await h.publish(events);
    const bad = events.filter((e) => e.fields['bad'] === true).length;
    assert.equal(bad, 20);
    assert.deepEqual(r, { acked: 1000 - bad, dropped: bad });
    const m = h.metrics.output();
    assert.equal(m['events.non_indexable'], bad);
    assert.equal(m['events.duplicates'], 49, 'ids 0..49 minus the bad seq 25');
    assert.equal(m['events.toomany'], 100, '429 items are counted');
    assert.equal(m['events.failed'], 200, 'each 429/500 item failed once');
    assert.equal(m['retries'], 1);
    assertExactlyOnce(es, range(0, 1000).filter((s) => s % 50 !== 25 || s === 25));
    // seq 25 was indexed by the first publish; the later bad ones never
    for (let s = 75; s < 1000; s += 50) assert.equal(es.seqCount.get(s), undefined);
    assertBalanced(h, 1050, [r, { acked: 50, dropped: 0 }]);
  });

  test('dead_letter_index: refused documents go to that index with the error attached', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], non_indexable_policy: { dead_letter_index: { index: 'procbeat-dlq' } } });
    es.faults.item = (a, doc) =>
      a.index === INDEX && doc['bad'] === true ? { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [bad] of type [long]' } : undefined;
    const events = makeEvents(0, 300, { bad: (s) => s % 30 === 0 });
    const r = await h.publish(events);
    assert.deepEqual(r, { acked: 300, dropped: 0 });
    assert.equal(es.docCount(INDEX), 290);
    const dead = es.docs('procbeat-dlq');
    assert.equal(dead.length, 10);
    const d = dead[0]!.doc;
    assert.equal(typeof d['message'], 'string');
    const original = JSON.parse(d['message'] as string) as Record<string, unknown>;
    assert.equal(original['seq'], 0);
    assert.equal(original['bad'], true);
    assert.equal(dead[0]!.pipeline, '_none', 'no pipeline runs on a dead letter, not even the default one');
    assert.deepEqual((d['error'] as Record<string, unknown>)['type'], 400);
    assert.match((d['error'] as Record<string, unknown>)['message'] as string, /mapper_parsing_exception/);
    assert.equal(d['@timestamp'], events[0]!.timestamp.toISOString());
    const m = h.metrics.output();
    assert.equal(m['events.non_indexable'], 10);
    assert.equal(m['events.dead_letter'], 10);
    assertBalanced(h, 300, [r]);
  });

  test('a document the dead-letter index refuses too is dropped and counted', async () => {
    const es = await server();
    const log = captureLogs('warn');
    const h = makeOutput({ hosts: [es.url], non_indexable_policy: { dead_letter_index: { index: 'dlq' } } }, { log });
    es.faults.item = (_a, doc) => (doc['bad'] === true || typeof doc['message'] === 'string' && doc['error'] !== undefined ? { status: 400 } : undefined);
    const r = await h.publish(makeEvents(0, 20, { bad: (s) => s < 5 }));
    assert.deepEqual(r, { acked: 15, dropped: 5 });
    assert.equal(h.metrics.output()['events.non_indexable'], 5);
    assert.equal(h.metrics.output()['events.dead_letter'], 0);
    assert.match(log.text(), /dead-letter index refused 5 document/);
    assertBalanced(h, 20, [r]);
  });

  test('a 429 storm on whole requests is retried with backoff until it passes', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], max_retries: -1 });
    es.faults.requestStatus = (n) => (n <= 6 ? 429 : 0);
    const r = await h.publish(makeEvents(0, 200));
    assert.deepEqual(r, { acked: 200, dropped: 0 });
    const m = h.metrics.output();
    assert.equal(m['events.toomany'], 6 * 200);
    assert.equal(m['retries'], 6);
    assert.equal(m['bulk.requests'], 7);
    assertExactlyOnce(es, range(0, 200));
    assertBalanced(h, 200, [r]);
  });

  test('5xx responses are retried; after max_retries the events are dropped and counted', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], max_retries: 2 });
    es.faults.requestStatus = () => 503;
    const log = captureLogs();
    void log;
    const r = await h.publish(makeEvents(0, 100));
    assert.deepEqual(r, { acked: 0, dropped: 100 });
    const m = h.metrics.output();
    assert.equal(m['bulk.requests'], 3, 'one attempt plus max_retries');
    assert.equal(m['events.failed'], 300);
    assert.equal(m['write.errors'], 3);
    assertBalanced(h, 100, [r]);

    es.faults.requestStatus = (n) => (n <= 4 ? 500 : 0);
    const r2 = await h.publish(makeEvents(100, 100));
    assert.deepEqual(r2, { acked: 100, dropped: 0 }, 'a request that succeeds on the last allowed attempt');
    assertBalanced(h, 200, [r, r2]);
  });

  test('an unreachable cluster does not use up max_retries: with the default 3, an outage of many attempts loses nothing', async () => {
    const port = await freePort();
    const h = makeOutput({ hosts: [`127.0.0.1:${port}`] });
    const pending = h.publish(makeEvents(0, 500));
    const es = new FakeElasticsearch();
    servers.push(es);
    // twice the attempts max_retries allows fail on the closed port
    while (h.metrics.output()['write.errors']! < 8) await new Promise((r) => setTimeout(r, 10));
    await es.start(port);
    const r = await pending;
    assert.deepEqual(r, { acked: 500, dropped: 0 });
    assertExactlyOnce(es, range(0, 500));
    assertBalanced(h, 500, [r]);
  });

  test('refused connections: retried until the server comes up (max_retries < 0)', async () => {
    const port = await freePort();
    const h = makeOutput({ hosts: [`127.0.0.1:${port}`], max_retries: -1 });
    const pending = h.publish(makeEvents(0, 500));
    const es = new FakeElasticsearch();
    servers.push(es);
    // let a few attempts fail on the closed port first
    while (h.metrics.output()['write.errors']! < 3) await new Promise((r) => setTimeout(r, 10));
    await es.start(port);
    const r = await pending;
    assert.deepEqual(r, { acked: 500, dropped: 0 });
    assertExactlyOnce(es, range(0, 500));
    assert.ok(h.metrics.output()['retries']! >= 3);
    assertBalanced(h, 500, [r]);
  });

  test('slow responses past the timeout are re-sent; documents with ids land once (409 on the re-send)', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], timeout: '300ms', max_retries: -1 });
    es.faults.delayMs = (n) => (n <= 2 ? 1500 : 0);
    const r = await h.publish(makeEvents(0, 400, { withIds: true }));
    assert.deepEqual(r, { acked: 400, dropped: 0 });
    const m = h.metrics.output();
    assert.equal(m['events.duplicates'], 400, 'the timed-out request had been indexed');
    assert.ok(m['write.errors']! >= 2);
    assertExactlyOnce(es, range(0, 400));
    assertBalanced(h, 400, [r]);
  });

  test('a server restart mid-run loses nothing', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], max_retries: -1, bulk_max_size: 200, worker: 2 });
    let restarted = false;
    es.faults.delayMs = (n) => {
      if (n === 6 && !restarted) {
        restarted = true;
        // crash while requests are in flight, come back a little later
        setImmediate(() => {
          void es.stop().then(() => new Promise((res) => setTimeout(res, 300))).then(() => es.start(es.port));
        });
      }
      return 20;
    };
    const batches = [];
    for (let b = 0; b < 10; b++) batches.push(h.publish(makeEvents(b * 1000, 1000, { withIds: true })));
    const results = await Promise.all(batches);
    assert.ok(restarted);
    assertExactlyOnce(es, range(0, 10_000));
    assertBalanced(h, 10_000, results);
    assert.equal(results.reduce((n, r) => n + r.dropped, 0), 0);
  });

  test('HTTP 413 splits the request until it fits', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], bulk_max_size: 0 });
    es.faults.maxContentLength = 40_000;
    const r = await h.publish(makeEvents(0, 1000));
    assert.deepEqual(r, { acked: 1000, dropped: 0 });
    assert.ok(es.bulkRequests > 8);
    assertExactlyOnce(es, range(0, 1000));
    assertBalanced(h, 1000, [r]);
  });

  test('a response whose items do not match the request is a read error and is retried', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url] });
    es.faults.truncateItems = (n) => n === 1;
    const r = await h.publish(makeEvents(0, 50, { withIds: true }));
    assert.deepEqual(r, { acked: 50, dropped: 0 });
    assert.equal(h.metrics.output()['read.errors'], 1);
    assert.equal(h.metrics.output()['events.duplicates'], 50);
    assertExactlyOnce(es, range(0, 50));
  });

  test('events that cannot be serialised or routed are dropped and counted', async () => {
    const es = await server();
    const log = captureLogs('warn');
    const h = makeOutput({ hosts: [es.url], index: 'p-%{[service.name]}' }, { log });
    const events = makeEvents(0, 4);
    events[0]!.fields['service'] = { name: 'a' };
    events[1]!.fields['service'] = { name: 'b' };
    events[2]!.fields['service'] = { name: 'c' };
    // a BigInt cannot be written as JSON
    (events[2]!.fields as Record<string, unknown>)['huge'] = 10n;
    const r = await h.publish(events);
    assert.deepEqual(r, { acked: 2, dropped: 2 });
    assert.equal(es.docCount('p-a'), 1);
    assert.equal(es.docCount('p-b'), 1);
    assert.match(log.text(), /cannot/);
    assertBalanced(h, 4, [r]);
  });

  test('index and pipeline settings, event meta overrides, headers and parameters reach the server', async () => {
    const es = await server();
    const h = makeOutput({
      hosts: [es.url],
      index: 'procbeat-%{[agent.version]}-%{+yyyy.MM.dd}',
      pipeline: 'MyPipe',
      headers: { 'X-Team': 'sec' },
      parameters: { refresh: 'false' },
    });
    const events = makeEvents(0, 3);
    events[1]!.meta = { index: 'special', pipeline: '' };
    events[2]!.meta = { op_type: 'index', _id: 'fixed' };
    const r = await h.publish(events);
    assert.equal(r.acked, 3);
    const daily = `procbeat-${VERSION}-2024.01.02`;
    assert.equal(es.docCount(daily), 2);
    assert.equal(es.docs(daily)[0]!.pipeline, 'mypipe', 'pipeline names are lower-cased as beats does');
    assert.equal(es.docs('special')[0]!.pipeline, '_none', 'meta pipeline "" skips the default pipeline too');
    assert.equal(es.docs(daily).find((d) => d.id === 'fixed')?.doc['seq'], 2);
    const bulkHeaders = es.requestHeaders.at(-1)!;
    assert.equal(bulkHeaders['x-team'], 'sec');
    assert.match(String(bulkHeaders['user-agent']), /procbeat\/0\.1\.0/);
    assert.equal(bulkHeaders['content-type'], 'application/x-ndjson');
  });

  test('index names are lower-cased: a host named with capitals still ships every event (no 400 invalid_index_name_exception)', async () => {
    const es = await server();
    const h = makeOutput({
      hosts: [es.url],
      index: 'procbeat-%{[host.name]}',
      non_indexable_policy: { dead_letter_index: { index: 'Procbeat-DLQ' } },
    });
    es.faults.item = (_a, doc) => (doc['bad'] === true ? { status: 400, type: 'mapper_parsing_exception' } : undefined);
    const events = makeEvents(0, 20, { bad: (s) => s === 7 });
    for (const ev of events) ev.fields['host'] = { name: 'Web-01' };
    events[3]!.meta = { index: 'Special-Index' };
    const r = await h.publish(events);
    assert.deepEqual(r, { acked: 20, dropped: 0 });
    assert.equal(h.metrics.output()['events.non_indexable'], 1, 'only the bad document is refused');
    assert.equal(es.docCount('procbeat-web-01'), 18);
    assert.equal(es.docCount('special-index'), 1);
    assert.equal(es.docCount('procbeat-dlq'), 1, 'the dead-letter index is lower-cased too');
    assertBalanced(h, 20, [r]);
  });

  test('path: a host without a path gets the prefix in front of /_bulk', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [`127.0.0.1:${es.port}`], path: '/proxied' });
    assert.equal((await h.publish(makeEvents(0, 2))).acked, 2);
    assert.equal(es.calls.get('POST /proxied/_bulk'), 1);
    assert.equal(es.docCount(INDEX), 2, 'the action names the index; the prefix is only routing');
  });

  test('several hosts share the load round robin; one down, the other takes everything', async () => {
    const a = await server();
    const b = await server();
    const h = makeOutput({ hosts: [a.url, b.url], max_retries: -1, bulk_max_size: 100 });
    const r1 = await h.publish(makeEvents(0, 1000));
    assert.equal(r1.acked, 1000);
    assert.ok(a.bulkRequests >= 3 && b.bulkRequests >= 3, `a=${a.bulkRequests} b=${b.bulkRequests}`);
    await a.stop();
    const r2 = await h.publish(makeEvents(1000, 1000));
    assert.deepEqual(r2, { acked: 1000, dropped: 0 });
    const both = new Map<number, number>();
    for (const s of [a, b]) for (const [k, v] of s.seqCount) both.set(k, (both.get(k) ?? 0) + v);
    for (let s = 0; s < 2000; s++) assert.equal(both.get(s), 1, `seq ${s}`);
    assertBalanced(h, 2000, [r1, r2]);
  });

  test('credentials are sent but never logged, even from a failing cluster', async () => {
    const es = await server();
    const log = captureLogs('debug');
    const h = makeOutput(
      { hosts: [`http://admin:hunter2-url@127.0.0.1:${es.port}`], username: 'elastic', password: 's3cret-pass', max_retries: 1 },
      { log },
    );
    es.faults.requestStatus = () => 401;
    const r = await h.publish(makeEvents(0, 5));
    assert.deepEqual(r, { acked: 0, dropped: 5 });
    const auth = String(es.requestHeaders.at(-1)!['authorization']);
    assert.equal(auth, `Basic ${Buffer.from('elastic:s3cret-pass').toString('base64')}`);
    const text = log.text();
    assert.ok(text.includes('bulk request failed'), 'the failure is logged');
    for (const secret of ['s3cret-pass', 'hunter2-url', Buffer.from('elastic:s3cret-pass').toString('base64')]) {
      assert.ok(!text.includes(secret), `log leaks ${secret}`);
    }
    assert.ok(!JSON.stringify([...h.metrics.spaces]).includes('s3cret'), 'metrics leak the password');
  });

  test('api_key is sent as ApiKey authorization', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], api_key: 'myid:mykey' });
    await h.publish(makeEvents(0, 1));
    assert.equal(es.requestHeaders.at(-1)!['authorization'], `ApiKey ${Buffer.from('myid:mykey').toString('base64')}`);
  });

  test('close() waits for in-flight batches, then gives up on them and reports what was lost', async () => {
    const es = await server();
    const log = captureLogs('info');
    const h = makeOutput({ hosts: [es.url], max_retries: -1 }, { log, closeTimeoutMs: 300 });
    es.faults.requestStatus = () => 503;
    const pending = h.publish(makeEvents(0, 70));
    while (h.metrics.output()['bulk.requests']! < 2) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await h.output.close();
    assert.ok(Date.now() - started < 5000, 'close is bounded by its timeout');
    const r = await pending;
    assert.deepEqual(r, { acked: 0, dropped: 70 });
    assert.match(log.text(), /could not deliver 70 event\(s\) before shutdown/);
    assertBalanced(h, 70, [r]);
    await assert.rejects(h.publish(makeEvents(0, 1)), /closed/);
  });

  test('close() lets a healthy in-flight batch finish', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url] }, { closeTimeoutMs: 10_000 });
    es.faults.delayMs = () => 200;
    const pending = h.publish(makeEvents(0, 100));
    while (es.bulkRequests < 1) await new Promise((r) => setTimeout(r, 5));
    await h.output.close();
    assert.deepEqual(await pending, { acked: 100, dropped: 0 });
  });

  test('an aborted publish settles its events as dropped', async () => {
    const es = await server();
    const h = makeOutput({ hosts: [es.url], max_retries: -1 });
    es.faults.requestStatus = () => 503;
    const ac = new AbortController();
    const pending = h.publish(makeEvents(0, 30), ac.signal);
    while (h.metrics.output()['bulk.requests']! < 1) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    assert.deepEqual(await pending, { acked: 0, dropped: 30 });
    assertBalanced(h, 30, [await pending]);
  });
});
