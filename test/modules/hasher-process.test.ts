import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHasher } from '../../modules/system/process/enrich/hasher/index.js';
import { hasProc, isRoot, spawnExecuted, stop, tempDir, toolDigest, waitFor } from './hasher-fixtures.js';

const MiB = 1024 * 1024;
const SLEEP = '/usr/bin/sleep';

function sha1Of(file: string): string {
  const d = toolDigest('sha1', file);
  if ('missing' in d) throw new Error(d.missing);
  return d.hex;
}

/** A private copy of sleep with a unique trailer, so its digest is ours alone. */
function copySleep(dir: string, name: string): string {
  const p = join(dir, name);
  copyFileSync(SLEEP, p);
  appendFileSync(p, `procbeat-test ${name} ${process.hrtime.bigint()}\n`);
  return p;
}

describe('hasher: real processes', { skip: hasProc ? false : 'no /proc' }, () => {
  const tmp = tempDir('hash-proc');
  after(() => tmp.cleanup());

  it('a second exec of the same binary is a cache hit', async () => {
    const exe = copySleep(tmp.dir, 'twice');
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    const one = await spawnExecuted(exe, ['30']);
    const two = await spawnExecuted(exe, ['30']);
    try {
      const r1 = await hasher.hashProcessExecutable(one.pid, exe);
      assert.equal(r1.cached, false);
      assert.equal(r1.source, 'process_image');
      assert.equal(r1.hashes?.sha1, sha1Of(exe));
      const r2 = await hasher.hashProcessExecutable(two.pid, exe);
      assert.equal(r2.cached, true, 'the second process hits the cache');
      assert.equal(r2.hashes?.sha1, r1.hashes?.sha1);
      assert.equal(hasher.stats().hits, 1);
      assert.equal(hasher.stats().files_hashed, 1);
    } finally {
      await Promise.all([stop(one), stop(two)]);
      await hasher.close();
    }
  });

  it('a binary replaced or deleted after exec is hashed from the running image (the original bytes)', async () => {
    const exe = copySleep(tmp.dir, 'replaced');
    const original = sha1Of(exe);
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    const child = await spawnExecuted(exe, ['30']);
    try {
      // Replace the path the way package managers do: a new file renamed over it.
      const next = join(tmp.dir, 'replaced.new');
      writeFileSync(next, '#!/bin/sh\necho not the program that runs\n');
      renameSync(next, exe);
      const replacedDigest = sha1Of(exe);
      assert.notEqual(replacedDigest, original);

      const running = await hasher.hashProcessExecutable(child.pid, exe);
      assert.equal(running.source, 'process_image');
      assert.equal(running.hashes?.sha1, original, 'the bytes that run, not the bytes now at the path');
      const byPath = await hasher.hashFile(exe);
      assert.equal(byPath.hashes?.sha1, replacedDigest, 'the path alone gives the new file');

      unlinkSync(exe);
      const deleted = await hasher.hashProcessExecutable(child.pid, exe);
      assert.equal(deleted.hashes?.sha1, original, 'still hashed after the path is gone');
      const kernelPath = await hasher.hashProcessExecutable(child.pid, `${exe} (deleted)`);
      assert.equal(kernelPath.hashes?.sha1, original, 'the " (deleted)" form the kernel reports works too');
    } finally {
      await stop(child);
      await hasher.close();
    }
  });

  it('after the process exits the path is hashed; a deleted path gets a reason', async () => {
    const exe = copySleep(tmp.dir, 'short');
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    try {
      const child = spawn(exe, ['0'], { stdio: 'ignore' });
      const pid = child.pid as number;
      await new Promise((r) => child.once('exit', r));
      await waitFor(`pid ${pid} to be reaped`, () => {
        try {
          statSync(`/proc/${pid}/exe`);
          return undefined;
        } catch {
          return true;
        }
      });
      const r = await hasher.hashProcessExecutable(pid, exe);
      assert.equal(r.source, 'path');
      assert.equal(r.hashes?.sha1, sha1Of(exe));
      const gone = await hasher.hashProcessExecutable(pid, `${exe} (deleted)`);
      assert.deepEqual(gone, { reason: 'hash skipped: executable deleted' });
      assert.deepEqual(await hasher.hashProcessExecutable(pid, undefined), { reason: 'hash skipped: no executable path' });
    } finally {
      await hasher.close();
    }
  });

  it('a pid that now runs another program hashes the event’s path, not the new image', async () => {
    const exe = copySleep(tmp.dir, 'other');
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    const child = await spawnExecuted(SLEEP, ['30']);
    try {
      const r = await hasher.hashProcessExecutable(child.pid, exe);
      assert.equal(r.source, 'path');
      assert.equal(r.hashes?.sha1, sha1Of(exe));
    } finally {
      await stop(child);
      await hasher.close();
    }
  });

  it('a process in another mount namespace is skipped with a reason', async (t) => {
    if (!isRoot) {
      t.skip('unshare -m needs root');
      return;
    }
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB });
    const child = spawn('unshare', ['-m', SLEEP, '30'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const own = statSync('/proc/self/ns/mnt').ino;
      await waitFor('the unshared sleep', () => {
        try {
          return statSync(`/proc/${pid}/ns/mnt`).ino !== own && statSync(`/proc/${pid}/exe`).ino === statSync(SLEEP).ino ? true : undefined;
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(await hasher.hashProcessExecutable(pid, SLEEP), { reason: 'hash skipped: different mount namespace' });
      // The namespace the backend reports wins, which also covers processes already gone.
      assert.deepEqual(await hasher.hashProcessExecutable(2 ** 30, SLEEP, { mntNs: own + 1 }), {
        reason: 'hash skipped: different mount namespace',
      });
      assert.ok((await hasher.hashProcessExecutable(2 ** 30, SLEEP, { mntNs: own })).hashes?.sha1);
    } finally {
      await stop(child);
      await hasher.close();
    }
  });
});
