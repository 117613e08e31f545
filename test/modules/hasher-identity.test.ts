/**
 * The hasher trusts the executable identity the kernel reported (device, inode, size, mode,
 * links, owner, mtime, ctime): a known version is answered with no system call, and a file
 * found at the path after the process is gone is hashed only when it is that same file.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QuarkHandle } from '../../quark-ffi/ts/binding.js';
import type { ProcessRecord } from '../../quark-ffi/ts/record.js';
import { recordToProcessEvent } from '../../modules/system/process/backends/kernel_tracing/record-to-event.js';
import { createHasher, type FileIdentity } from '../../modules/system/process/enrich/hasher/index.js';
import { Enrichment } from '../../modules/system/process/enrich/index.js';
import type { ProcessEvent } from '../../modules/system/process/event.js';
import { tempDir, toolDigest } from './hasher-fixtures.js';
import { kernelTracingUnavailable } from '../quark-ffi/procbeat-run.js';

const MiB = 1024 * 1024;

function sha1Of(file: string): string {
  const d = toolDigest('sha1', file);
  if ('missing' in d) throw new Error(d.missing);
  return d.hex;
}

function identityOf(path: string): FileIdentity {
  const st = statSync(path, { bigint: true });
  return {
    dev: Number(st.dev), ino: st.ino, size: st.size, mode: Number(st.mode), nlink: Number(st.nlink),
    uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs,
  };
}

/** A private copy of /usr/bin/true with its own digest. */
function copyTrue(dir: string, name: string): string {
  const p = join(dir, name);
  copyFileSync('/usr/bin/true', p);
  appendFileSync(p, `procbeat-test ${name} ${process.hrtime.bigint()}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('hasher: the executable the kernel reported', () => {
  const tmp = tempDir('hash-identity');
  after(() => tmp.cleanup());

  it('a file renamed over the path after the process is gone is not hashed as its executable', async () => {
    const exe = copyTrue(tmp.dir, 'swapped');
    const identity = identityOf(exe);
    // The process is gone (pid 0: no /proc entry to read); an unprivileged user puts
    // another file at the path.
    const other = join(tmp.dir, 'other');
    writeFileSync(other, '#!/bin/sh\necho not what ran\n');
    renameSync(other, exe);
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    try {
      const r = await hasher.hashProcessExecutable(0, exe, { identity });
      assert.equal(r.hashes, undefined, `the swapped-in file must not be hashed as the executable (got ${JSON.stringify(r.hashes)})`);
      assert.match(r.errorMessage ?? '', /not the file the process executed/);
    } finally {
      await hasher.close();
    }
  });

  it('a file at the path with the reported device and inode is hashed', async () => {
    const exe = copyTrue(tmp.dir, 'same');
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    try {
      const r = await hasher.hashProcessExecutable(0, exe, { identity: identityOf(exe) });
      assert.equal(r.hashes?.sha1, sha1Of(exe));
    } finally {
      await hasher.close();
    }
  });

  it('a known version is answered from the cache without touching the file', async () => {
    const exe = copyTrue(tmp.dir, 'known');
    const digest = sha1Of(exe);
    const identity = identityOf(exe);
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    const enrichment = new Enrichment({ hasher, lineage: { maxEntries: 10, graceMs: 1000 }, lookups: [] });
    const event = (pid: number): ProcessEvent => ({
      backend: 'kernel_tracing', action: 'process_ran', types: ['start', 'end'],
      flags: { snapshot: false, fork: true, exec: true, exit: true }, time: new Date(), pid, name: 'known',
      executable: exe, complete: true,
      exe: {
        dev: identity.dev, inode: Number(identity.ino), size: Number(identity.size), mode: identity.mode,
        nlink: identity.nlink, uid: identity.uid, gid: identity.gid, mtimeNs: identity.mtimeNs, ctimeNs: identity.ctimeNs,
      },
    });
    try {
      const first = event(0);
      assert.equal(enrichment.hashKnown(first), false, 'the first sight of a version needs the file');
      await enrichment.hash(first);
      assert.equal(first.hashes?.sha1, digest);
      // The path is gone now; the kernel's identity alone names the cached version.
      renameSync(exe, `${exe}.moved`);
      const second = event(0);
      assert.equal(enrichment.hashKnown(second), true, 'a cached version is known without a system call');
      assert.equal(second.hashes?.sha1, digest);
      assert.equal(hasher.stats().files_hashed, 1);
    } finally {
      await enrichment.close();
    }
  });
});

describe('hasher: identities from real kernel records', () => {
  let skip: string | undefined;
  let handle: QuarkHandle | undefined;
  const tmp = tempDir('hash-identity-kernel');
  before(async () => {
    skip = await kernelTracingUnavailable();
    if (skip === undefined) handle = await QuarkHandle.open({ backends: ['ebpf'], holdTimeMs: 100, snapshot: false });
  });
  after(async () => {
    await handle?.close();
    tmp.cleanup();
  });

  it('the identity of an exec record equals the file version a stat shows', async (t) => {
    if (skip !== undefined || handle === undefined) { t.skip(skip ?? 'no handle'); return; }
    const exe = copyTrue(tmp.dir, 'kernel');
    const tag = `identity-${process.hrtime.bigint()}`;
    const pids = [0, 1].map(() => spawnSync(exe, [tag]).pid);
    const seen: ProcessRecord[] = [];
    const deadline = Date.now() + 15_000;
    while (seen.length < 2 && Date.now() < deadline) {
      const r = await handle.poll(200);
      for (const rec of r.records) if (rec.argv?.args[1] === tag && rec.exeFile !== undefined) seen.push(rec);
    }
    assert.equal(seen.length, 2, `records of both processes (${pids.join(', ')})`);
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0 });
    const enrichment = new Enrichment({ hasher, lineage: { maxEntries: 10, graceMs: 1000 }, lookups: [] });
    try {
      const [a, b] = seen.map((rec) => recordToProcessEvent(rec, 100)!);
      assert.equal(enrichment.hashKnown(a!), false);
      await enrichment.hash(a!);
      assert.equal(a!.hashes?.sha1, sha1Of(exe));
      assert.equal(enrichment.hashKnown(b!), true, 'the second exec of the same file is a cache hit on the kernel identity');
      assert.equal(b!.hashes?.sha1, a!.hashes?.sha1);
    } finally {
      await enrichment.close();
    }
  });
});

describe('hasher: worker threads', () => {
  const tmp = tempDir('hash-workers');
  after(() => tmp.cleanup());

  const threads = (): number => readdirSync('/proc/self/task').length;

  it('a worker thread that has been idle for the idle time is stopped', async () => {
    const big = join(tmp.dir, 'big');
    writeFileSync(big, Buffer.alloc(256 * 1024, 7));
    const before = threads();
    const hasher = createHasher({ hashTypes: ['sha1'], maxFileSize: 100 * MiB, maxWaitMs: 0, inlineMaxBytes: 0, workers: 1, workerIdleMs: 200 });
    try {
      const r = await hasher.hashFile(big);
      assert.equal(r.hashes?.sha1, sha1Of(big));
      assert.ok(threads() > before, 'a worker thread ran the hash');
      const deadline = Date.now() + 5000;
      while (threads() > before && Date.now() < deadline) await new Promise((r2) => setTimeout(r2, 50));
      assert.equal(threads(), before, 'the idle worker thread is gone');
      // And the next large file starts one again.
      const big2 = join(tmp.dir, 'big2');
      writeFileSync(big2, Buffer.alloc(256 * 1024, 8));
      const again = await hasher.hashFile(big2);
      assert.equal(again.hashes?.sha1, sha1Of(big2));
    } finally {
      await hasher.close();
    }
  });
});
