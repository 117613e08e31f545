import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigErrors } from '../../core/config/errors.js';
import { effectiveConfigYaml } from '../../core/config/export.js';
import { loadConfig } from '../../core/config/load.js';
import type { ProcbeatConfig } from '../../core/config/types.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-config-dq-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(text: string, overrides: string[] = []): ProcbeatConfig {
  const file = join(dir, `c${n++}.yml`);
  writeFileSync(file, text);
  return loadConfig({ file, env: {}, cwd: dir, overrides });
}

function problems(text: string): string[] {
  const file = join(dir, `c${n}.yml`);
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => e.message.replace(file, 'FILE'));
  }
  assert.fail('expected the config to be refused');
}

describe('queue.disk settings', () => {
  it('is off unless configured; the memory queue is the default', () => {
    const c = load('name: x\n');
    assert.equal(c.queue.disk, undefined);
    assert.equal(c.queue.mem.events, 3200);
  });

  it("beats' defaults: path under path.data, 10GB, segments of a tenth, 512/2048 events, 1s..30s retries", () => {
    const c = load('path.data: /var/lib/pb\nqueue.disk: {}\n');
    assert.deepEqual(c.queue.disk, {
      path: '/var/lib/pb/diskqueue',
      maxSize: 10e9,
      segmentSize: 1e9,
      readAhead: 512,
      writeAhead: 2048,
      retryIntervalMs: 1000,
      maxRetryIntervalMs: 30_000,
    });
  });

  it('reads sizes, durations and a path relative to path.home; -E turns it on too', () => {
    const c = load('path.home: /opt/pb\nqueue.disk:\n  path: q\n  max_size: 1GiB\n  segment_size: 64MiB\n  read_ahead: 100\n  write_ahead: 10\n  retry_interval: 250ms\n  max_retry_interval: 1m\n');
    assert.deepEqual(c.queue.disk, {
      path: '/opt/pb/q', maxSize: 1024 ** 3, segmentSize: 64 * 1024 ** 2, readAhead: 100, writeAhead: 10, retryIntervalMs: 250, maxRetryIntervalMs: 60_000,
    });
    assert.equal(load('name: x\n', ['queue.disk.max_size=20MB']).queue.disk?.maxSize, 20e6);
  });

  it('exactly one of queue.mem and queue.disk', () => {
    assert.deepEqual(problems('queue.mem.events: 4096\nqueue.disk.max_size: 1GB\n'), [
      "FILE: queue: more than one namespace configured accessing 'queue' (set either queue.mem or queue.disk)",
    ]);
  });

  it("refuses bad values with beats' messages", () => {
    assert.deepEqual(problems('queue.disk.max_size: 1MB\n'), ['FILE: queue.disk.max_size: disk queue max_size (1000000) cannot be less than 10MB']);
    assert.deepEqual(problems('queue.disk: {max_size: 100MB, segment_size: 60MB}\n'), [
      'FILE: queue.disk.max_size: disk queue max_size must be at least twice as big as segment_size',
    ]);
    assert.deepEqual(problems('queue.disk.segment_size: 1KB\n'), ['FILE: queue.disk.segment_size: disk queue segment_size (1000) cannot be less than 1MB']);
    assert.deepEqual(problems('queue.disk: {retry_interval: 10s, max_retry_interval: 5s}\n'), [
      "FILE: queue.disk.max_retry_interval: disk queue max_retry_interval (5s) can't be less than retry_interval (10s)",
    ]);
    assert.deepEqual(problems('queue.disk.read_ahead: 0\n'), ['FILE: queue.disk.read_ahead: must be a positive integer, got 0']);
    assert.deepEqual(problems('queue.disk.max_size: lots\n'), ['FILE: queue.disk.max_size: must be a byte size such as 1024, 10KiB, 100MiB or 1GB, got "lots"']);
  });

  it('export config shows only the queue in use, and its output loads again', () => {
    const mem = effectiveConfigYaml(load('name: x\n'));
    assert.match(mem, /^ {2}mem:/m);
    assert.doesNotMatch(mem, /^ {2}disk:/m);
    const disk = effectiveConfigYaml(load('path.data: /var/lib/pb\nqueue.disk.max_size: 1GB\n'));
    assert.doesNotMatch(disk, /^ {2}mem:/m);
    assert.match(disk, /^ {4}path: \/var\/lib\/pb\/diskqueue$/m);
    const again = load(disk);
    assert.equal(again.queue.disk?.maxSize, 1e9);
    assert.equal(again.queue.disk?.segmentSize, 1e8);
  });
});

describe('queue.mem.bytes', () => {
  it('defaults to 16MiB; 0 leaves the bound to queue.mem.events; sizes take units', () => {
    assert.equal(load('name: x\n').queue.mem.bytes, 16 * 1024 * 1024);
    assert.equal(load('queue.mem.bytes: 0\n').queue.mem.bytes, undefined);
    assert.equal(load('queue.mem.bytes: 64MB\n').queue.mem.bytes, 64 * 1000 * 1000);
  });

  it('a bad size is refused naming the key', () => {
    const [msg] = problems('queue.mem.bytes: lots\n');
    assert.match(msg ?? '', /queue\.mem\.bytes/);
  });
});
