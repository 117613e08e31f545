/**
 * Every event gets a document id as it enters the queue, so a bulk request that timed out
 * after Elasticsearch indexed it is answered 409 when re-sent, and no process is indexed
 * twice (issue 13: exactly once together with the document `_id`).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { MemoryMetrics, testInfo } from '../core/publisher-support.js';
import { FakeElasticsearch } from './fake-es.js';
import { makeEvents, silentLogger, waitFor } from './helpers.js';

const servers: FakeElasticsearch[] = [];
after(async () => { for (const s of servers) await s.stop(); });

test('events without an _id are indexed once although the first requests time out after indexing', async () => {
  const es = new FakeElasticsearch();
  await es.start();
  servers.push(es);
  // The first two bulk requests are indexed, then answered after the client gave up.
  es.faults.delayMs = (n) => (n <= 2 ? 1500 : 0);
  const metrics = new MemoryMetrics();
  const config = validateElasticsearchConfig(
    { hosts: [es.url], timeout: '300ms', max_retries: -1, backoff: { init: '10ms', max: '80ms' } },
    { beatName: 'procbeat', beatVersion: '0.1.0' },
  );
  const output = new ElasticsearchOutput(config, { logger: silentLogger(), metrics, userAgent: 'procbeat/0.1.0', formatFallbacks: { 'agent.version': '0.1.0' } });
  const pipeline = createPipeline({
    processors: [], logger: silentLogger(), info: testInfo(), output, metrics,
    queue: { events: 1000, flushMinEvents: 200, flushTimeoutMs: 10 },
  });
  for (const ev of makeEvents(0, 400)) await pipeline.publish(ev);
  await waitFor(() => Number(metrics.namespace('pipeline').get('events.acked') ?? 0) >= 400, 20_000, '400 events acked');
  await pipeline.close(5_000);
  const twice = [...es.seqCount.entries()].filter(([, n]) => n > 1).map(([s]) => s);
  assert.equal(es.seqCount.size, 400, 'every event indexed');
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} events indexed twice`);
  assert.ok(Number(metrics.namespace('output').get('events.duplicates') ?? 0) > 0, 'the re-sent documents came back 409');
});
