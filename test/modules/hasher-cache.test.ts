import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHasher } from '../../modules/system/process/enrich/hasher/index.js';
import { RecordingLogger, isRoot, tempDir, toolDigest, waitFor } from './hasher-fixtures.js';

const MiB = 1024 * 1024;

function sha256Of(file: string): string {
  const d = toolDigest('sha256', file);
  if ('missing' in d) throw new Error(d.missing);
  return d.hex;
}

describe('hasher cache: validity follows the file metadata', () => {
  const tmp = tempDir('hash-cache');
  // A tmpfs with strictatime updates atime on every read, so a read really changes it;
  // the root filesystem's relatime would hide the case this test is about.
  const mnt = join(tmp.dir, 'strictatime');
  let mounted = false;
  before(() => {
    mkdirSync(mnt);
    if (isRoot) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'strictatime,size=16m', 'procbeat-test', mnt], { stdio: 'ignore' });
        mounted = true;
      } catch {
        mounted = false;
      }
    }
  });
  after(() => {
    if (mounted) execFileSync('umount', [mnt], { stdio: 'ignore' });
    tmp.cleanup();
  });

  it('a read (atime only) keeps the entry; touch and rewrites invalidate it', async (t) => {
    if (!mounted) {
      t.skip('cannot mount a strictatime tmpfs (needs root): a read would not change atime here');
      return;
    }
    const f = join(mnt, 'prog');
    writeFileSync(f, 'version one\n');
    const hasher = createHasher({ hashTypes: ['sha256'], maxFileSize: MiB });
    try {
      const first = await hasher.hashFile(f);
      assert.equal(first.cached, false);
      assert.equal(first.hashes?.sha256, sha256Of(f));

      // Hashing itself opens with O_NOATIME: it leaves the atime forensic tools read alone.
      const atimeBefore = statSync(f, { bigint: true }).atimeNs;
      await new Promise((r) => setTimeout(r, 20));
      readFileSync(f);
      const atimeAfter = statSync(f, { bigint: true }).atimeNs;
      assert.notEqual(atimeAfter, atimeBefore, 'the read changed atime (strictatime)');

      const afterRead = await hasher.hashFile(f);
      assert.equal(afterRead.cached, true, 'an atime change is still a hit');
      assert.equal(hasher.stats().invalidations, 0);

      // touch sets mtime and ctime: the entry goes, the re-hash gives the same digest.
      await new Promise((r) => setTimeout(r, 20));
      execFileSync('touch', [f]);
      const afterTouch = await hasher.hashFile(f);
      assert.equal(afterTouch.cached, false, 'touch invalidates');
      assert.equal(afterTouch.hashes?.sha256, first.hashes?.sha256);
      assert.equal(hasher.stats().invalidations, 1);

      // New content in the same inode.
      writeFileSync(f, 'version two, longer\n');
      const afterWrite = await hasher.hashFile(f);
      assert.equal(afterWrite.cached, false, 'a rewrite invalidates');
      assert.equal(afterWrite.hashes?.sha256, sha256Of(f));
      assert.notEqual(afterWrite.hashes?.sha256, first.hashes?.sha256);
      assert.equal(hasher.stats().invalidations, 2);

      // Same size, same content, only the mode: ctime changes, so does the entry.
      execFileSync('chmod', ['0755', f]);
      assert.equal((await hasher.hashFile(f)).cached, false, 'chmod invalidates');
      assert.equal((await hasher.hashFile(f)).cached, true);
      assert.equal(hasher.stats().invalidations, 3);
    } finally {
      await hasher.close();
    }
    assert.equal(statSync(f).mode & 0o777, 0o755);
  });

  it('a 1-entry cache evicts the older file', async () => {
    const a = join(tmp.dir, 'a');
    const b = join(tmp.dir, 'b');
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: MiB, cacheSize: 1 });
    try {
      assert.equal((await hasher.hashFile(a)).cached, false);
      assert.equal((await hasher.hashFile(a)).cached, true);
      assert.equal((await hasher.hashFile(b)).cached, false);
      assert.equal(hasher.stats().evictions, 1);
      assert.equal((await hasher.hashFile(a)).cached, false, 'a was evicted');
      assert.equal(hasher.stats().evictions, 2);
      assert.equal(hasher.stats().cache_entries, 1);
    } finally {
      await hasher.close();
    }
  });

  it('an over-size file is an error once per file version, logged at debug once', async () => {
    const f = join(tmp.dir, 'big');
    writeFileSync(f, Buffer.alloc(2000));
    const logger = new RecordingLogger();
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 1000, logger });
    try {
      const first = await hasher.hashProcessExecutable(2 ** 30, f);
      assert.equal(first.error, 'size 2000 exceeds max file size');
      assert.equal(first.errorMessage, `failed to hash executable ${f} for PID ${2 ** 30}: size 2000 exceeds max file size`);
      assert.equal(first.errorIsNew, true);
      for (let i = 0; i < 5; i++) {
        const again = await hasher.hashProcessExecutable(2 ** 30 + i, f);
        assert.equal(again.error, 'size 2000 exceeds max file size');
        assert.equal(again.errorIsNew, false, 'not new for the same version');
      }
      assert.equal(logger.lines.length, 1);
      assert.equal(hasher.stats().errors, 1, 'the file was judged once');
      assert.equal(hasher.stats().bytes_hashed, 0, 'never read');

      writeFileSync(f, Buffer.alloc(3000));
      const next = await hasher.hashFile(f);
      assert.equal(next.error, 'size 3000 exceeds max file size');
      assert.equal(next.errorIsNew, true, 'a new version is reported again');
      assert.equal(logger.lines.length, 2);
    } finally {
      await hasher.close();
    }
  });

  it('many simultaneous requests for one big file read and hash it once', async () => {
    const f = join(tmp.dir, 'shared.bin');
    writeFileSync(f, randomBytes(MiB));
    truncateSync(f, 48 * MiB);
    const hasher = createHasher({ hashTypes: ['sha256', 'md5'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => hasher.hashFile(f)));
      const expected = sha256Of(f);
      for (const r of results) assert.equal(r.hashes?.sha256, expected);
      const s = hasher.stats();
      assert.equal(s.files_hashed, 1);
      assert.equal(s.bytes_hashed, 48 * MiB);
      assert.equal(s.inflight_joins, 19);
      assert.equal(s.worker_jobs, 1);
    } finally {
      await hasher.close();
    }
  });

  it('past max_wait the document gets a reason; the hash still lands in the cache', async () => {
    const f = join(tmp.dir, 'slow.bin');
    writeFileSync(f, randomBytes(MiB));
    truncateSync(f, 64 * MiB);
    const hasher = createHasher({ hashTypes: ['sha3_512', 'blake2b_384'], maxFileSize: 100 * MiB, maxWaitMs: 1 });
    try {
      const first = await hasher.hashFile(f);
      assert.deepEqual(first, { pending: true, reason: 'hash not ready within 1ms', source: 'path' });
      const later = await waitFor('the hash to finish into the cache', async () => {
        const r = await hasher.hashFile(f);
        return r.hashes !== undefined ? r : undefined;
      }, 60_000);
      // A poll may join the computation still in flight (not a cache hit); the next request
      // after it finished must come from the cache.
      const again = await hasher.hashFile(f);
      assert.equal(again.cached, true);
      assert.deepEqual(again.hashes, later.hashes);
      assert.equal(hasher.stats().files_hashed, 1, 'waiting requests did not start another read');
      const tool = toolDigest('blake2b_384', f);
      if ('hex' in tool) assert.equal(later.hashes?.blake2b_384, tool.hex);
    } finally {
      await hasher.close();
    }
  });
});
