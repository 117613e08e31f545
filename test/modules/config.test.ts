import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processDataset } from '../../modules/system/process/dataset.js';
import type { ProcessDatasetConfig } from '../../modules/system/process/config.js';

function errorsOf(block: Record<string, unknown>): string[] {
  const r = processDataset.validate(block);
  assert.equal(r.ok, false, `expected ${JSON.stringify(block)} to be refused`);
  return r.ok ? [] : r.errors;
}
function configOf(block: Record<string, unknown>): ProcessDatasetConfig {
  const r = processDataset.validate(block);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(block)} to pass, got ${r.errors.join('; ')}`);
  return r.config;
}

test('defaults match the reference spec §1', () => {
  const c = configOf({});
  assert.equal(c.periodMs, 10_000);
  assert.equal(c.statePeriodMs, 12 * 3600_000);
  assert.equal(c.backend, 'procfs');
  assert.deepEqual(c.hash.hashTypes, ['sha1']);
  assert.equal(c.hash.maxFileSizeBytes, 100 * 1024 * 1024);
  assert.equal(c.hash.scanRateBytesPerSec, 50 * 1024 * 1024);
  assert.equal(c.kernelTracing.holdTimeMs, 1000);
  assert.deepEqual(c.kernelTracing.backends, ['ebpf', 'kprobe']);
  assert.equal(c.includeSelf, false);
});

test('an Auditbeat module block is accepted unchanged', () => {
  const c = configOf({
    period: '1s',
    state: { period: '6h' },
    process: { backend: 'kernel_tracing', hash: { hash_types: ['SHA256', 'md5'], max_file_size: '200 MiB', scan_rate_per_sec: '10mb' } },
  });
  assert.equal(c.periodMs, 1000);
  assert.equal(c.statePeriodMs, 6 * 3600_000);
  assert.equal(c.backend, 'kernel_tracing');
  assert.deepEqual(c.hash.hashTypes, ['sha256', 'md5'], 'hash types are lower-cased; the user list replaces the default');
  assert.equal(c.hash.maxFileSizeBytes, 200 * 1024 * 1024);
  assert.equal(c.hash.scanRateBytesPerSec, 10_000_000);
});

test('process.state.period overrides state.period when non-zero', () => {
  assert.equal(configOf({ state: { period: '1h' }, process: { state: { period: '30m' } } }).statePeriodMs, 1_800_000);
  assert.equal(configOf({ state: { period: '1h' }, process: { state: { period: '0s' } } }).statePeriodMs, 3_600_000);
});

test('kernel_tracing options', () => {
  const c = configOf({ process: { kernel_tracing: { hold_time: '250ms', backends: ['kprobe'], ring_buffer_size: '4 MiB', max_cache_size: 1000 }, include_self: true } });
  assert.equal(c.kernelTracing.holdTimeMs, 250);
  assert.deepEqual(c.kernelTracing.backends, ['kprobe']);
  assert.equal(c.kernelTracing.ringBufferSizeBytes, 4 * 1024 * 1024);
  assert.equal(c.kernelTracing.maxCacheSize, 1000);
  assert.equal(c.includeSelf, true);
  assert.equal(configOf({ process: { kernel_tracing: { hold_time: 0 } } }).kernelTracing.holdTimeMs, 0, '0 disables aggregation');
});

test('byte sizes accept the beats units', () => {
  const size = (v: string | number): number => configOf({ process: { hash: { max_file_size: v } } }).hash.maxFileSizeBytes;
  assert.equal(size('512b'), 512);
  assert.equal(size('1 KiB'), 1024);
  assert.equal(size('1kb'), 1000);
  assert.equal(size('2 MB'), 2_000_000);
  assert.equal(size('1 GiB'), 2 ** 30);
  assert.equal(size('1gb'), 1e9);
  assert.equal(size('1.5 MiB'), 1.5 * 2 ** 20);
  assert.equal(size(4096), 4096);
});

test('durations are read beats-style', () => {
  const period = (v: string | number): number => configOf({ period: v }).periodMs;
  assert.equal(period('250ms'), 250);
  assert.equal(period('1m30s'), 90_000);
  assert.equal(period('1.5h'), 5_400_000);
  assert.equal(period(5), 5000);
});

test("invalid hash type: invalid hash_types value '<v>'", () => {
  assert.deepEqual(errorsOf({ process: { hash: { hash_types: ['sha1', 'x'] } } }), ["invalid hash_types value 'x'"]);
});

test('invalid max_file_size: invalid max_file_size value: <err>', () => {
  const errs = errorsOf({ process: { hash: { max_file_size: '10 parsecs' } } });
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^invalid max_file_size value: /);
  assert.match(errs[0]!, /parsecs/);
});

test('max_file_size must be positive: max_file_size value (<v>) must be positive', () => {
  assert.deepEqual(errorsOf({ process: { hash: { max_file_size: '0' } } }), ['max_file_size value (0) must be positive']);
  assert.deepEqual(errorsOf({ process: { hash: { max_file_size: '-1 MiB' } } }), ['max_file_size value (-1 MiB) must be positive']);
});

test('invalid scan_rate_per_sec: invalid scan_rate_per_sec value: <err>', () => {
  const errs = errorsOf({ process: { hash: { scan_rate_per_sec: 'fast' } } });
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^invalid scan_rate_per_sec value: /);
});

test("invalid backend: invalid process.backend '<value>'", () => {
  assert.deepEqual(errorsOf({ process: { backend: 'quark' } }), ["invalid process.backend 'quark'"]);
});

test('hash errors are all collected first, then the backend', () => {
  assert.deepEqual(
    errorsOf({ process: { backend: 'quark', hash: { hash_types: ['a', 'B'], max_file_size: '0', scan_rate_per_sec: 'x y' } } }),
    [
      "invalid hash_types value 'a'",
      "invalid hash_types value 'b'",
      'max_file_size value (0) must be positive',
      errorsOf({ process: { hash: { scan_rate_per_sec: 'x y' } } })[0]!,
      "invalid process.backend 'quark'",
    ],
  );
});

test('unpack failures: failed to unpack the system/process config: <err>', () => {
  for (const block of [
    { period: 'soon' },
    { process: { backend: 5 } },
    { process: { hash: { hash_types: [1] } } },
    { process: { include_self: 'yes' } },
    { process: { kernel_tracing: { backends: ['ebpf', 'perf'] } } },
    { process: { kernel_tracing: { max_cache_size: 0 } } },
  ]) {
    const errs = errorsOf(block);
    assert.ok(errs.length > 0);
    for (const e of errs) assert.match(e, /^failed to unpack the system\/process config: /, JSON.stringify(block));
  }
  assert.match(errorsOf({ period: 'soon' })[0]!, /period/);
  assert.match(errorsOf({ process: { backend: 5 } })[0]!, /process\.backend/);
});

test('unknown keys are errors naming the key', () => {
  assert.deepEqual(errorsOf({ process: { backnd: 'procfs' } }), ["failed to unpack the system/process config: unknown key 'process.backnd'"]);
  assert.deepEqual(errorsOf({ proces: {} }), ["failed to unpack the system/process config: unknown key 'proces'"]);
  assert.deepEqual(errorsOf({ process: { hash: { max_size: 1 } } }), ["failed to unpack the system/process config: unknown key 'process.hash.max_size'"]);
});
