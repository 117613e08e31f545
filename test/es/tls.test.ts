/**
 * ssl.* against a local HTTPS server with certificates made by openssl for this test:
 * verification_mode full / certificate / none, a private CA, and client certificates.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateElasticsearchConfig } from '../../core/outputs/elasticsearch/config.js';
import { ElasticsearchOutput } from '../../core/outputs/elasticsearch/output.js';
import { FakeElasticsearch } from './fake-es.js';
import { MemoryMetrics, makeEvents, silentLogger } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-es-tls-'));
const servers: FakeElasticsearch[] = [];
const outputs: ElasticsearchOutput[] = [];
let openssl = true;

function sh(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

before(() => {
  try {
    sh('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=procbeat test CA');
    for (const who of ['server', 'client']) {
      sh('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'procbeat'}`);
      writeFileSync(join(dir, `${who}.ext`), who === 'server' ? 'subjectAltName=DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
      sh('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`);
    }
  } catch {
    openssl = false;
  }
});

after(async () => {
  for (const o of outputs) await o.close().catch(() => undefined);
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function httpsServer(clientCerts = false): Promise<FakeElasticsearch> {
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const es = new FakeElasticsearch({
    key: read('server.key'),
    cert: read('server.pem'),
    ...(clientCerts ? { ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true } : {}),
  });
  await es.start();
  servers.push(es);
  return es;
}

async function send(host: string, ssl: Record<string, unknown>): Promise<{ acked: number; dropped: number }> {
  const config = validateElasticsearchConfig(
    { hosts: [host], ssl, max_retries: 0, backoff: { init: '1ms', max: '2ms' } },
    { beatName: 'procbeat', beatVersion: '0.1.0' },
  );
  const out = new ElasticsearchOutput(config, { logger: silentLogger(), metrics: new MemoryMetrics(), userAgent: 'test' });
  outputs.push(out);
  return out.publish(makeEvents(0, 3));
}

describe('TLS', () => {
  test('verification_mode full checks the chain and the host name', async (t) => {
    if (!openssl) return t.skip('openssl could not make test certificates');
    const es = await httpsServer();
    const ca = join(dir, 'ca.pem');
    assert.deepEqual(await send(`https://localhost:${es.port}`, { certificate_authorities: [ca] }), { acked: 3, dropped: 0 });
    // the certificate names localhost, not 127.0.0.1
    assert.deepEqual(await send(`https://127.0.0.1:${es.port}`, { certificate_authorities: [ca] }), { acked: 0, dropped: 3 });
    // without the CA the chain is not trusted
    assert.deepEqual(await send(`https://localhost:${es.port}`, {}), { acked: 0, dropped: 3 });
  });

  test('verification_mode certificate skips only the host name; none trusts anything', async (t) => {
    if (!openssl) return t.skip('openssl could not make test certificates');
    const es = await httpsServer();
    const ca = join(dir, 'ca.pem');
    assert.deepEqual(await send(`https://127.0.0.1:${es.port}`, { certificate_authorities: [ca], verification_mode: 'certificate' }), { acked: 3, dropped: 0 });
    assert.deepEqual(await send(`https://127.0.0.1:${es.port}`, { verification_mode: 'certificate' }), { acked: 0, dropped: 3 });
    assert.deepEqual(await send(`https://127.0.0.1:${es.port}`, { verification_mode: 'none' }), { acked: 3, dropped: 0 });
  });

  test('a client certificate is presented when the server asks for one', async (t) => {
    if (!openssl) return t.skip('openssl could not make test certificates');
    const es = await httpsServer(true);
    const ca = join(dir, 'ca.pem');
    const host = `https://localhost:${es.port}`;
    assert.deepEqual(await send(host, { certificate_authorities: [ca] }), { acked: 0, dropped: 3 });
    assert.deepEqual(await send(host, { certificate_authorities: [ca], certificate: join(dir, 'client.pem'), key: join(dir, 'client.key') }), { acked: 3, dropped: 0 });
  });
});
