/**
 * The output at the client level, with Elastic's @elastic/elasticsearch-mock standing in for
 * the HTTP layer: the exact bulk request it builds, and its reading of per-item statuses.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { BaseConnection } from '@elastic/elasticsearch';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { MemoryMetrics, makeEvents, silentLogger } from './helpers.js';

interface Params {
  method: string;
  path: string;
  querystring: Record<string, string>;
  body?: unknown;
}
interface ClientMock {
  add(pattern: { method: string; path: string }, resolver: (params: Params) => unknown): ClientMock;
  getConnection(): typeof BaseConnection;
}
const require = createRequire(import.meta.url);
const Mock = require('@elastic/elasticsearch-mock') as new () => ClientMock;

function output(mock: ClientMock, settings: Record<string, unknown> = {}): { out: ElasticsearchOutput; metrics: MemoryMetrics } {
  const metrics = new MemoryMetrics();
  const config = validateElasticsearchConfig(
    { hosts: ['http://mock:9200'], backoff: { init: '1ms', max: '4ms' }, ...settings },
    { beatName: 'procbeat', beatVersion: '0.1.0' },
  );
  const out = new ElasticsearchOutput(config, { logger: silentLogger(), metrics, userAgent: 'procbeat/0.1.0', Connection: mock.getConnection() });
  return { out, metrics };
}

/** The action/document pairs of a bulk body the mock parsed from NDJSON. */
function pairs(body: unknown): Array<[Record<string, Record<string, string>>, Record<string, unknown>]> {
  const lines = body as Array<Record<string, unknown>>;
  const out: Array<[Record<string, Record<string, string>>, Record<string, unknown>]> = [];
  for (let i = 0; i < lines.length; i += 2) out.push([lines[i] as Record<string, Record<string, string>>, lines[i + 1]!]);
  return out;
}

describe('elasticsearch output through the client mock', () => {
  test('one POST /_bulk per batch: create actions into the data stream, gzip body, pipeline and parameters', async () => {
    const mock = new Mock();
    const seen: Params[] = [];
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
      seen.push(p);
      return { errors: false, took: 1, items: pairs(p.body).map(() => ({ create: { _index: 'procbeat-0.1.0', status: 201 } })) };
    });
    const { out } = output(mock, { pipeline: 'p1', parameters: { timeout: '2m' } });
    const events = makeEvents(0, 3);
    events[2]!.meta = { _id: 'abc' };
    assert.deepEqual(await out.publish(events), { acked: 3, dropped: 0 });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.querystring, { timeout: '2m' });
    const body = pairs(seen[0]!.body);
    assert.deepEqual(body[0]![0], { create: { _index: 'procbeat-0.1.0', pipeline: 'p1' } });
    assert.deepEqual(body[2]![0], { create: { _index: 'procbeat-0.1.0', _id: 'abc', pipeline: 'p1' } });
    assert.equal(body[1]![1]['@timestamp'], events[1]!.timestamp.toISOString());
    assert.equal(body[1]![1]['seq'], 1);
  });

  test('per-item statuses: 2xx acked, 409 duplicate, 400 dropped, 429 and 503 retried until they pass', async () => {
    const mock = new Mock();
    const attempts = new Map<number, number>();
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => ({
      errors: true,
      took: 1,
      items: pairs(p.body).map(([, doc]) => {
        const seq = doc['seq'] as number;
        const n = (attempts.get(seq) ?? 0) + 1;
        attempts.set(seq, n);
        const status = seq === 1 ? 409 : seq === 2 ? 400 : seq === 3 && n < 3 ? 429 : seq === 4 && n < 2 ? 503 : 201;
        return { create: status >= 300 ? { _index: 'i', status, error: { type: `t${status}`, reason: 'r' } } : { _index: 'i', status } };
      }),
    }));
    const { out, metrics } = output(mock);
    assert.deepEqual(await out.publish(makeEvents(0, 5)), { acked: 4, dropped: 1 });
    assert.deepEqual(Object.fromEntries(attempts), { 0: 1, 1: 1, 2: 1, 3: 3, 4: 2 });
    const m = metrics.output();
    assert.equal(m['events.duplicates'], 1);
    assert.equal(m['events.non_indexable'], 1);
    assert.equal(m['events.toomany'], 2);
    assert.equal(m['events.failed'], 3);
    assert.equal(m['retries'], 2);
    assert.equal(m['bulk.requests'], 3);
    assert.equal(m['events.active'], 0);
  });

  test('bulk_max_size splits a batch; with bulk_max_size 0 it goes whole', async () => {
    for (const [size, requests] of [[2, 3], [0, 1]] as const) {
      const mock = new Mock();
      let n = 0;
      mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
        n++;
        return { errors: false, took: 1, items: pairs(p.body).map(() => ({ create: { _index: 'i', status: 201 } })) };
      });
      const { out } = output(mock, { bulk_max_size: size });
      assert.deepEqual(await out.publish(makeEvents(0, 5)), { acked: 5, dropped: 0 });
      assert.equal(n, requests, `bulk_max_size ${size}`);
    }
  });
});
