import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHasher, HASH_TYPES, parseHashTypes, type HashResult, type HashType } from '../../modules/system/process/enrich/hasher/index.js';
import { RecordingLogger, RecordingMetrics, hasCommand, tempDir, toolDigest } from './hasher-fixtures.js';
import { checkoutUnreadableByNobody } from './unprivileged.js';

const MiB = 1024 * 1024;

describe('hasher: every hash type equals the system tool', () => {
  const tmp = tempDir('hash-types');
  // Spans several 1 MiB read chunks and ends off a block boundary.
  const file = join(tmp.dir, 'multi-chunk.bin');
  const empty = join(tmp.dir, 'empty.bin');
  before(() => {
    writeFileSync(file, randomBytes(3 * MiB + 123));
    writeFileSync(empty, '');
  });
  after(() => tmp.cleanup());

  for (const [label, inlineMaxBytes] of [
    ['worker thread', 0],
    ['main thread', 16 * MiB],
  ] as const) {
    it(`all sixteen types, one pass, hashed on the ${label}`, async (t) => {
      const hasher = createHasher({ hashTypes: HASH_TYPES, maxFileSize: 100 * MiB, inlineMaxBytes, maxWaitMs: 0 });
      try {
        const r = await hasher.hashFile(file);
        assert.equal(r.error, undefined);
        assert.ok(r.hashes, 'hashes present');
        assert.deepEqual(Object.keys(r.hashes).sort(), [...HASH_TYPES].sort());
        const missing: string[] = [];
        for (const type of HASH_TYPES) {
          const tool = toolDigest(type, file);
          if ('missing' in tool) {
            missing.push(`${type}: ${tool.missing}`);
            continue;
          }
          assert.equal(r.hashes[type], tool.hex, `${type} differs from the system tool`);
          assert.match(r.hashes[type] as string, /^[0-9a-f]+$/, `${type} is lower-case hex`);
        }
        const s = hasher.stats();
        assert.equal(s.files_hashed, 1, 'one read for all types');
        assert.equal(s.bytes_hashed, 3 * MiB + 123);
        assert.equal(inlineMaxBytes === 0 ? s.worker_jobs : s.inline_jobs, 1);
        if (missing.length > 0) t.skip(`not compared (no tool): ${missing.join('; ')}`);
      } finally {
        await hasher.close();
      }
    });
  }

  it('an empty file hashes to each algorithm’s empty digest', async () => {
    const types: HashType[] = ['sha1', 'blake2b_256', 'xxh64'];
    const hasher = createHasher({ hashTypes: types, maxFileSize: MiB });
    try {
      const r = await hasher.hashFile(empty);
      assert.equal(r.hashes?.sha1, 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
      assert.equal(r.hashes?.xxh64, 'ef46db3751d8e999');
      const b2 = toolDigest('blake2b_256', empty);
      if ('hex' in b2) assert.equal(r.hashes?.blake2b_256, b2.hex);
    } finally {
      await hasher.close();
    }
  });
});

describe('hasher: reasons and errors', () => {
  const tmp = tempDir('hash-errors');
  after(() => tmp.cleanup());

  it('a relative path is skipped with a reason, not an error', async () => {
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: MiB });
    try {
      const r = await hasher.hashProcessExecutable(process.pid, 'bin/ls');
      assert.deepEqual(r, { reason: 'hash skipped: relative path' });
      assert.deepEqual(await hasher.hashFile('x/y'), { reason: 'hash skipped: relative path' });
      assert.equal(hasher.stats().skipped, 2);
      assert.equal(hasher.stats().errors, 0);
    } finally {
      await hasher.close();
    }
  });

  it('a directory is "not a regular file"; a missing file is an open/stat error with the path', async () => {
    const logger = new RecordingLogger();
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: MiB, logger });
    try {
      const dir = join(tmp.dir, 'd');
      mkdirSync(dir);
      const r = await hasher.hashFile(dir);
      assert.equal(r.error, 'not a regular file');
      assert.equal(r.errorIsNew, true);

      const gone = join(tmp.dir, 'no-such-file');
      const m = await hasher.hashProcessExecutable(2 ** 30, gone);
      assert.equal(m.error, `stat: stat ${gone}: no such file or directory`);
      assert.equal(m.errorMessage, `failed to hash executable ${gone} for PID ${2 ** 30}: stat: stat ${gone}: no such file or directory`);
      assert.equal(m.errorIsNew, true);
      const again = await hasher.hashProcessExecutable(2 ** 30, gone);
      assert.equal(again.errorIsNew, false, 'reported once per path');
      assert.equal(logger.lines.length, 2, 'one debug line per distinct failure');
    } finally {
      await hasher.close();
    }
  });

  it('as an unprivileged user: an unreadable file is an open error, a readable one hashes', async (t) => {
    // Root reads any file, so the check runs the hasher in a child as nobody (setpriv).
    // The readable file is root's: O_NOATIME is refused to non-owners and the hasher must
    // fall back to a plain open.
    if (process.getuid?.() !== 0 || !hasCommand('setpriv')) {
      t.skip('needs root and setpriv to run a child as nobody');
      return;
    }
    const unreadable = checkoutUnreadableByNobody();
    if (unreadable) { t.skip(unreadable); return; }
    chmodSync(tmp.dir, 0o755);
    const secret = join(tmp.dir, 'secret');
    const open = join(tmp.dir, 'public');
    writeFileSync(secret, 'x');
    chmodSync(secret, 0o000);
    writeFileSync(open, 'abc');
    chmodSync(open, 0o644);
    const moduleUrl = new URL('../../modules/system/process/enrich/hasher/index.js', import.meta.url).href;
    const script = `
      const { createHasher } = await import(${JSON.stringify(moduleUrl)});
      const h = createHasher({ hashTypes: ['sha1'], maxFileSize: 1024 });
      const out = [await h.hashFile(process.argv[1]), await h.hashFile(process.argv[2])];
      await h.close();
      console.log(JSON.stringify(out));`;
    const out = execFileSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script, secret, open],
      { encoding: 'utf8' },
    );
    const [denied, readable] = JSON.parse(out) as [HashResult, HashResult];
    assert.equal(denied.error, `open: open ${secret}: permission denied`);
    assert.equal(denied.errorIsNew, true);
    assert.equal(readable.hashes?.sha1, 'a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('publishes its counters in system.process.hasher', async () => {
    const metrics = new RecordingMetrics();
    const hasher = createHasher({ hashTypes: ['sha256'], maxFileSize: MiB, metrics });
    try {
      const f = join(tmp.dir, 'm.bin');
      writeFileSync(f, 'hello');
      await hasher.hashFile(f);
      await hasher.hashFile(f);
      assert.equal(metrics.values.get('system.process.hasher.misses'), 1);
      assert.equal(metrics.values.get('system.process.hasher.hits'), 1);
      assert.equal(metrics.values.get('system.process.hasher.bytes_hashed'), 5);
      assert.equal(metrics.values.get('system.process.hasher.cache_entries'), 1);
    } finally {
      await hasher.close();
    }
    assert.equal(hasher.stats().cache_entries, 0, 'close purges the cache');
  });
});

describe('hasher: config', () => {
  it('hash_types are lower-cased, checked, and a user list replaces the default', () => {
    assert.deepEqual(parseHashTypes(undefined), { ok: true, types: ['sha1'] });
    assert.deepEqual(parseHashTypes(['SHA256', 'xxh64']), { ok: true, types: ['sha256', 'xxh64'] });
    assert.deepEqual(parseHashTypes(['sha256', 'crc32', 'md4']), {
      ok: false,
      errors: ["invalid hash_types value 'crc32'", "invalid hash_types value 'md4'"],
    });
    assert.deepEqual(parseHashTypes([]), { ok: true, types: [] });
  });

  it('refuses a bad hasher setup with the setting named', () => {
    assert.throws(() => createHasher({ hashTypes: ['sha1'], maxFileSize: 0 }), /max_file_size value \(0\) must be positive/);
    assert.throws(() => createHasher({ hashTypes: [], maxFileSize: 1 }), /hash_types is empty/);
    assert.throws(() => createHasher({ hashTypes: ['sha1'], maxFileSize: 1, cacheSize: 0 }), /cache_size/);
  });
});
