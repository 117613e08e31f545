/**
 * Opt-in: setup and a real ingest against a real Elasticsearch, when ES_URL is set.
 *   ES_URL=https://localhost:9200 ES_USERNAME=elastic ES_PASSWORD=... [ES_CA=/path/ca.pem]
 *   [ES_API_KEY=id:key] [ES_SSL_VERIFICATION=none] npm run test:es
 * Everything it creates carries a random suffix and is deleted afterwards, except the module
 * pipeline (its id is procbeat's own; it is removed only if this run created it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { createClient } from '../../core/outputs/elasticsearch/client.js';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { runSetup } from '../../core/setup/load.js';
import { pipelineId } from '../../core/setup/pipelines.js';
import { readSetupSettings } from '../../core/setup/settings.js';
import { MemoryMetrics, silentLogger } from './helpers.js';

const url = process.env['ES_URL'];
const VERSION = '0.1.0';

test('real cluster: setup, ingest through the module pipeline, mappings from fields.yml', { timeout: 300_000 }, async (t) => {
  if (!url) {
    t.skip('ES_URL is not set; set ES_URL (and ES_USERNAME/ES_PASSWORD or ES_API_KEY, ES_CA) to run against a real cluster');
    return;
  }
  const suffix = randomBytes(4).toString('hex');
  const name = `procbeat-test-${suffix}`;
  const raw: Record<string, unknown> = { hosts: [url], index: name, max_retries: 5, backoff: { init: '200ms', max: '2s' } };
  if (process.env['ES_API_KEY']) raw['api_key'] = process.env['ES_API_KEY'];
  else if (process.env['ES_USERNAME']) {
    raw['username'] = process.env['ES_USERNAME'];
    raw['password'] = process.env['ES_PASSWORD'] ?? '';
  }
  const ssl: Record<string, unknown> = {};
  if (process.env['ES_CA']) ssl['certificate_authorities'] = [process.env['ES_CA']];
  if (process.env['ES_SSL_VERIFICATION']) ssl['verification_mode'] = process.env['ES_SSL_VERIFICATION'];
  if (Object.keys(ssl).length > 0) raw['ssl'] = ssl;
  const config = validateElasticsearchConfig(raw, { beatName: 'procbeat', beatVersion: VERSION });
  const client = createClient(config, { userAgent: `procbeat/${VERSION}` });
  const pid = pipelineId('procbeat', VERSION, 'system', 'process');
  const pipelineExisted = await client.ingest.getPipeline({ id: pid }).then(() => true, () => false);
  const info = { beatName: 'procbeat', version: VERSION };
  const settings = readSetupSettings(
    { template: { name, pattern: name }, ilm: { policy_name: name } },
    { ...info, outputIndex: name },
  );

  try {
    const about = await client.info();
    t.diagnostic(`cluster ${about.cluster_name}, Elasticsearch ${about.version.number}`);
    const steps = await runSetup(client, settings, { indexManagement: true, pipelines: true }, info);
    assert.deepEqual(steps.filter((s) => s.kind !== 'ingest pipeline').map((s) => s.action), ['loaded', 'loaded']);
    const again = await runSetup(client, settings, { indexManagement: true, pipelines: true }, info);
    assert.ok(again.every((s) => s.action === 'kept' || s.action === 'unchanged'), JSON.stringify(again));

    const metrics = new MemoryMetrics();
    const output = new ElasticsearchOutput(config, { logger: silentLogger(), metrics, userAgent: 'procbeat-test' });
    const start = new Date(Date.now() - 1500);
    const events: BeatEvent[] = [];
    for (let i = 0; i < 200; i++) {
      events.push({
        timestamp: new Date(),
        fields: {
          seq: i,
          event: { kind: 'event', category: ['process'], type: ['start', 'end'], action: 'process_ran', module: 'system', dataset: 'process' },
          process: {
            pid: 4000 + i,
            name: 'sleep',
            args: ['/usr/bin/sleep', '1'],
            start: start.toISOString(),
            end: new Date(start.getTime() + 1234).toISOString(),
            hash: { sha1: 'a'.repeat(40), sha256: 'b'.repeat(64) },
            user: { name: 'alice' },
          },
          user: { name: 'alice', effective: { name: 'root' } },
        },
      });
    }
    const r = await output.publish(events);
    await output.close();
    assert.deepEqual(r, { acked: 200, dropped: 0 });

    await client.indices.refresh({ index: name });
    const found = await client.search<Record<string, any>>({ index: name, size: 1, query: { term: { seq: 7 } } });
    const doc = found.hits.hits[0]?._source;
    assert.ok(doc, 'the document is searchable');
    assert.equal((await client.count({ index: name })).count, 200);
    assert.ok(doc['event']['ingested'], 'event.ingested set by the pipeline');
    assert.equal(doc['process']['command_line'], '/usr/bin/sleep 1');
    assert.equal(doc['procbeat']['process']['duration_ms'], 1234);
    assert.deepEqual([...doc['related']['user']].sort(), ['alice', 'root']);
    assert.deepEqual([...doc['related']['hash']].sort(), ['a'.repeat(40), 'b'.repeat(64)]);
    assert.equal(doc['error'], undefined, 'no pipeline processor failed');

    const ds = await client.indices.getDataStream({ name });
    assert.equal(ds.data_streams[0]?.name, name, 'written as a data stream');
    const mapping = await client.indices.getMapping({ index: name });
    const props = Object.values(mapping)[0]!.mappings.properties as Record<string, any>;
    assert.equal(props['process']['properties']['name']['type'], 'keyword');
    assert.equal(props['process']['properties']['pid']['type'], 'long');
    assert.equal(props['process']['properties']['command_line']['type'], 'wildcard');
    assert.equal(props['process']['properties']['command_line']['fields']['text']['type'], 'match_only_text');
    const text = await client.count({ index: name, query: { match: { 'process.command_line.text': 'sleep' } } });
    assert.equal(text.count, 200, 'full-text search on the .text multi-field matches');
  } finally {
    await client.indices.deleteDataStream({ name }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name }).catch(() => undefined);
    await client.ilm.deleteLifecycle({ name }).catch(() => undefined);
    if (!pipelineExisted) await client.ingest.deletePipeline({ id: pid }).catch(() => undefined);
    await client.close();
  }
});
