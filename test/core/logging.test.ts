import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { componentLogger, createLogger } from '../../core/logging/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-logging-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collector(): { lines: Array<Record<string, unknown>>; write(s: string): void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (s: string) => { for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); } };
}

describe('logging', () => {
  test('ECS JSON lines with log.level, @timestamp, message and log.logger', () => {
    const out = collector();
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false, destination: out });
    componentLogger(logger, 'runner').info({ datasets: ['system/process'] }, 'started');
    const line = out.lines[0]!;
    assert.equal(line['log.level'], 'info');
    assert.equal(line['message'], 'started');
    assert.equal(line['log.logger'], 'runner');
    assert.equal(line['service.name'], 'procbeat');
    assert.ok(typeof line['ecs.version'] === 'string');
    assert.ok(!Number.isNaN(Date.parse(String(line['@timestamp']))));
    assert.deepEqual(line['datasets'], ['system/process']);
    assert.equal(line['process.pid'], process.pid);
  });

  test('logging.level filters; warning maps to warn', () => {
    const out = collector();
    const { logger } = createLogger({ level: 'warning', toStderr: false, toFiles: false, destination: out });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(out.lines.map((l) => l['log.level']), ['warn', 'error']);
  });

  test('errors become ECS error fields', () => {
    const out = collector();
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false, destination: out });
    logger.error({ err: new Error('kaput') }, 'failed');
    const line = out.lines[0]!;
    assert.equal(line['error'] && (line['error'] as Record<string, unknown>)['message'], 'kaput');
  });

  test('secrets are redacted, by default and by extra paths', () => {
    const out = collector();
    const { logger } = createLogger({ level: 'info', toStderr: false, toFiles: false, destination: out, redact: ['settings.elasticsearch.headers.x-api'] });
    logger.info({
      password: 'p1',
      output: { password: 'p2', api_key: 'k1', hosts: ['h'] },
      settings: { elasticsearch: { headers: { 'x-api': 'k2' } } },
    }, 'settings');
    const text = JSON.stringify(out.lines[0]);
    for (const secret of ['p1', 'p2', 'k1', 'k2']) assert.ok(!text.includes(`"${secret}"`), `${secret} leaked: ${text}`);
    assert.ok(text.includes('[REDACTED]'));
    assert.ok(text.includes('"hosts":["h"]'));
  });

  test('files: <name>.ndjson with mode 0600, rotated by size, keepfiles bounded', () => {
    const logs = join(dir, 'logs');
    const handle = createLogger({
      level: 'info', toStderr: false, toFiles: true,
      files: { path: logs, name: 'procbeat', rotateEveryBytes: 2000, keepFiles: 3, permissions: 0o600 },
    });
    assert.equal(handle.file, join(logs, 'procbeat.ndjson'));
    for (let i = 0; i < 100; i++) handle.logger.info({ i }, `line ${i} ${'x'.repeat(50)}`);
    handle.close();
    const files = readdirSync(logs).sort();
    assert.deepEqual(files, ['procbeat.ndjson', 'procbeat.ndjson.1', 'procbeat.ndjson.2']);
    assert.equal(statSync(join(logs, 'procbeat.ndjson')).mode & 0o777, 0o600);
    // No line is split across files, and the newest lines are in the current file.
    for (const f of files) {
      const text = readFileSync(join(logs, f), 'utf8');
      assert.ok(text.endsWith('\n'));
      for (const l of text.trim().split('\n')) JSON.parse(l);
      assert.ok(Buffer.byteLength(text) <= 2000);
    }
    const last = readFileSync(join(logs, 'procbeat.ndjson'), 'utf8').trim().split('\n').at(-1)!;
    assert.equal((JSON.parse(last) as { i: number }).i, 99);
  });

  test('no destination: silent', () => {
    const { logger } = createLogger({ level: 'debug', toStderr: false, toFiles: false });
    assert.equal(logger.level, 'silent');
  });
});
