/** `output.elasticsearch` settings: defaults as in beats, host rules, every error names its key. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigErrors } from '../../core/config/errors.js';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { parseDuration as parseDurationMs } from '../../core/config/duration.js';
import { compileFormatString } from '../../core/outputs/elasticsearch/format-string.js';
import { normalizeHost, redactUrl } from '../../core/outputs/elasticsearch/hosts.js';

const opts = { file: '/etc/procbeat/procbeat.yml', beatName: 'procbeat', beatVersion: '0.1.0' };

function problems(raw: unknown): string[] {
  try {
    validateElasticsearchConfig(raw, opts);
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, String(e));
    return e.errors.map((x) => x.message);
  }
  return [];
}

const dir = mkdtempSync(join(tmpdir(), 'procbeat-es-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('output.elasticsearch settings', () => {
  test('defaults match libbeat', () => {
    const c = validateElasticsearchConfig({ hosts: ['localhost'] }, opts);
    assert.deepEqual(c.hosts, ['http://localhost:9200']);
    assert.equal(c.compressionLevel, 1);
    assert.equal(c.bulkMaxSize, 1600);
    assert.equal(c.worker, 1);
    assert.equal(c.loadbalance, true);
    assert.equal(c.maxRetries, 3);
    assert.deepEqual(c.backoff, { initMs: 1000, maxMs: 60_000 });
    assert.equal(c.timeoutMs, 90_000);
    assert.equal(c.index, 'procbeat-0.1.0');
    assert.equal(c.pipeline, undefined);
    assert.deepEqual(c.nonIndexablePolicy, { kind: 'drop' });
    assert.equal(c.ssl.verificationMode, 'full');
  });

  test('hosts: a bare host gets http and 9200; protocol and path apply to hosts without a scheme', () => {
    const c = validateElasticsearchConfig(
      { hosts: ['10.45.3.2:9220', 'es2', 'https://es3', 'http://es4:80/custom', '[::1]', 'https://es5:443'], protocol: 'https', path: '/elasticsearch' },
      opts,
    );
    assert.deepEqual(c.hosts, [
      'https://10.45.3.2:9220/elasticsearch',
      'https://es2:9200/elasticsearch',
      'https://es3:9200/elasticsearch',
      'http://es4/custom', // the default port is implied, not replaced by 9200
      'https://[::1]:9200/elasticsearch',
      'https://es5/elasticsearch',
    ]);
    assert.deepEqual(validateElasticsearchConfig({ hosts: 'single:9201' }, opts).hosts, ['http://single:9201']);
  });

  test('durations, policies, numbers and maps are read as beats reads them', () => {
    const c = validateElasticsearchConfig(
      {
        hosts: ['h'],
        timeout: 30,
        backoff: { init: '500ms', max: '1m30s' },
        max_retries: -1,
        bulk_max_size: '50',
        compression_level: 0,
        workers: 4,
        headers: { 'X-A': 'b', n: 1 },
        non_indexable_policy: { dead_letter_index: { index: 'dlq' } },
        pipeline: 'p',
        api_key: 'id:key',
      },
      opts,
    );
    assert.equal(c.timeoutMs, 30_000);
    assert.deepEqual(c.backoff, { initMs: 500, maxMs: 90_000 });
    assert.equal(c.maxRetries, -1);
    assert.equal(c.bulkMaxSize, 50);
    assert.equal(c.compressionLevel, 0);
    assert.equal(c.worker, 4);
    assert.deepEqual(c.headers, { 'X-A': 'b', n: '1' });
    assert.deepEqual(c.nonIndexablePolicy, { kind: 'dead_letter_index', index: 'dlq' });
    assert.equal(c.pipeline, 'p');
    assert.deepEqual(validateElasticsearchConfig({ hosts: ['h'], non_indexable_policy: { drop: null } }, opts).nonIndexablePolicy, { kind: 'drop' });
  });

  test('every problem is reported at once, each naming the file and the key', () => {
    const got = problems({
      hosts: [],
      compression_level: 12,
      bulk_max_size: 'lots',
      timeout: 'soon',
      backoff: { init: '2s', max: '1s', jitter: true },
      protocol: 'ftp',
      non_indexable_policy: { dead_letter_index: {} },
      ssl: { verification_mode: 'sometimes', certificate: '/nonexistent/cert.pem' },
      bogus: 1,
    });
    const expect = [
      'output.elasticsearch.bogus: unknown setting',
      'output.elasticsearch.protocol: expected http or https',
      'output.elasticsearch.hosts: expected a non-empty list',
      'output.elasticsearch.ssl.certificate: cannot read \'/nonexistent/cert.pem\': ENOENT',
      'output.elasticsearch.ssl.key: required when ssl.certificate is set',
      'output.elasticsearch.ssl.verification_mode: expected full, strict, certificate or none',
      'output.elasticsearch.backoff.jitter: unknown setting',
      'output.elasticsearch.backoff.max: expected a duration not shorter than backoff.init',
      'output.elasticsearch.timeout: expected a duration',
      'output.elasticsearch.compression_level: expected an integer from 0 to 9, got 12',
      'output.elasticsearch.bulk_max_size: expected an integer',
      'output.elasticsearch.non_indexable_policy.dead_letter_index.index: required',
    ];
    for (const e of expect) {
      assert.ok(got.some((g) => g.startsWith(`/etc/procbeat/procbeat.yml: ${e}`)), `missing "${e}" in:\n${got.join('\n')}`);
    }
    assert.equal(got.length, expect.length, got.join('\n'));
  });

  test('hosts is required; bad hosts and credential combinations are refused', () => {
    assert.match(problems({})[0]!, /output\.elasticsearch\.hosts: required/);
    assert.match(problems({ hosts: ['ftp://x'] })[0]!, /hosts\.0: unsupported scheme 'ftp'/);
    assert.match(problems({ hosts: ['http://'] })[0]!, /hosts\.0: /);
    assert.match(problems({ hosts: ['h'], api_key: 'k', username: 'u', password: 'p' })[0]!, /api_key: cannot be used together with username\/password/);
    assert.match(problems({ hosts: ['h'], password: 'p' })[0]!, /username: required when password is set/);
    assert.match(problems({ hosts: ['h'], non_indexable_policy: { retry: {} } })[0]!, /non_indexable_policy\.retry: unknown policy/);
  });

  test('errors about hosts never print the password written into a URL', () => {
    const msg = problems({ hosts: ['ftp://user:hunter2@host'] }).join('\n');
    assert.ok(!msg.includes('hunter2'), msg);
    assert.equal(redactUrl('https://elastic:changeme@es:9200/x'), 'https://es:9200/x');
  });

  test('ssl files are read at validation time, inline PEM is accepted', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = validateElasticsearchConfig({ hosts: ['https://h'], ssl: { certificate_authorities: [ca, '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----'], verification_mode: 'certificate' } }, opts);
    assert.equal(c.ssl.certificateAuthorities.length, 2);
    assert.match(c.ssl.certificateAuthorities[0]!, /BEGIN CERTIFICATE/);
    assert.equal(c.ssl.verificationMode, 'certificate');
  });

  test('durations', () => {
    assert.equal(parseDurationMs('90s'), 90_000);
    assert.equal(parseDurationMs('1m30s'), 90_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs(5), 5000);
    assert.equal(parseDurationMs('5'), 5000);
    assert.equal(parseDurationMs('5 s'), undefined);
    assert.equal(parseDurationMs('s'), undefined);
    assert.equal(parseDurationMs(''), undefined);
  });

  test('index format strings: fields, fallbacks, dates', () => {
    const f = compileFormatString('x-%{[agent.version]}-%{[service.name]:none}-%{+yyyy.MM.dd}', { 'agent.version': '9.9.9' });
    assert.ok(!('error' in f));
    const t = new Date(Date.UTC(2024, 1, 3, 23, 59));
    assert.deepEqual(f.render({ service: { name: 'web' } }, t), { value: 'x-9.9.9-web-2024.02.03' });
    assert.deepEqual(f.render({ 'service.name': 'flat' }, t), { value: 'x-9.9.9-flat-2024.02.03' });
    assert.deepEqual(f.render({}, t), { value: 'x-9.9.9-none-2024.02.03' });
    const g = compileFormatString('%{[host.name]}');
    assert.ok(!('error' in g));
    assert.match((g.render({}, t) as { error: string }).error, /host\.name/);
    assert.ok('error' in compileFormatString('bad-%{oops'));
    assert.equal((compileFormatString('plain') as { constant: boolean }).constant, true);
    assert.deepEqual(normalizeHost('h', undefined, ''), { url: 'http://h:9200' });
  });
});
