/**
 * Issue 11: what a migrating Auditbeat user would see differ in a document. Each test is
 * one finding, checked on the document as a rule or dashboard reads it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readProcess } from '../../modules/system/process/backends/procfs/reader.js';
import { processEventToBeatEvent } from '../../modules/system/process/ecs/index.js';
import type { BeatEvent } from '../../core/api/event.js';
import { putEnrichmentFields } from '../../modules/system/process/enrich/ecs-fields.js';
import type { NameResolver } from '../../modules/system/process/enrich/user-names.js';
import type { ProcessEvent, RelatedProcess } from '../../modules/system/process/event.js';
import { fullKernelEvent } from './ecs-fixtures.js';
import { runProcfs } from './procfs-helpers.js';
import { makeContext } from './context.js';
import { kernelTracingUnavailable } from '../quark-ffi/procbeat-run.js';
import { processDataset } from '../../modules/system/process/dataset.js';
import type { PushDataset } from '../../core/api/dataset.js';
import { buildProcessors } from '../../core/processors/index.js';
import { detectContainerized, osCodename, parseOsRelease } from '../../core/processors/host-info.js';

const names: NameResolver = {
  userName: (uid) => ({ 0: 'root', 1000: 'alice' } as Record<number, string>)[uid],
  groupName: (gid) => ({ 0: 'root', 1000: 'staff', 27: 'sudo' } as Record<number, string>)[gid],
};
const map = (ev: ProcessEvent) => processEventToBeatEvent(ev, { hostId: 'h', names }).fields as Record<string, any>;

const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
const ALL = (1n << BigInt(lastCap + 1)) - 1n;

test('item 1: every capability the kernel knows reads as ["CAP_ALL"]; one missing lists the names', () => {
  const root = map({ ...fullKernelEvent(), caps: { effective: ALL, permitted: ALL } });
  assert.deepEqual(root.process.thread.capabilities.effective, ['CAP_ALL']);
  assert.deepEqual(root.process.thread.capabilities.permitted, ['CAP_ALL']);
  const most = map({ ...fullKernelEvent(), caps: { effective: ALL & ~(1n << 21n), permitted: ALL } });
  const eff = most.process.thread.capabilities.effective as string[];
  assert.equal(eff.length, lastCap, 'all but CAP_SYS_ADMIN, by name');
  assert.ok(!eff.includes('CAP_SYS_ADMIN') && !eff.includes('CAP_ALL'));
});

function related(pid: number, extra: Partial<RelatedProcess> = {}): RelatedProcess {
  return {
    pid, startBootNs: 1000n * BigInt(pid), start: new Date('2025-01-01T00:00:00.000Z'), name: 'bash', executable: '/bin/bash',
    args: ['bash', '-l'], cwd: '/', tty: { major: 136, minor: 1 },
    creds: { uid: 1000, gid: 1000, euid: 0, egid: 0, suid: 1000, sgid: 1000, supplementalGids: [27, 1000] },
    parent: { pid: 1, startBootNs: 5n, start: new Date('2024-12-31T00:00:00.000Z') },
    ...extra,
  };
}

test('item 4: no process.group_leader.parent (not ECS); session and entry leaders keep theirs', () => {
  const ev: ProcessEvent = { ...fullKernelEvent(), lineage: { groupLeader: related(4242), sessionLeader: related(3999), entryLeader: { ...related(3000), entryType: 'sshd' } } };
  const d = map(ev);
  assert.equal(d.process.group_leader.pid, 4242);
  assert.equal(d.process.group_leader.parent, undefined);
  assert.equal(d.process.session_leader.parent.pid, 1);
  assert.equal(d.process.entry_leader.parent.pid, 1);
});

test('item 5: a session or group id of 0 gives no leader object', () => {
  const d = map({ ...fullKernelEvent(), pgid: 0, sid: 0 });
  assert.equal(d.process.session_leader, undefined);
  assert.equal(d.process.group_leader, undefined);
  const doc: Record<string, any> = { process: {} };
  putEnrichmentFields(doc, { ...fullKernelEvent(), lineage: { sessionLeader: related(0), groupLeader: related(0) } }, { hostId: 'h', names });
  assert.equal(doc.process.session_leader, undefined, 'the lineage table naming pid 0 adds none either');
  assert.equal(doc.process.group_leader, undefined);
});

test('item 7: process.user/group, real_*, saved_*, supplemental_groups and command_line, on the process and its leaders', () => {
  const ev: ProcessEvent = {
    ...fullKernelEvent(),
    creds: { uid: 1000, gid: 1000, euid: 0, egid: 0, suid: 1000, sgid: 1000, supplementalGids: [27, 1000] },
    lineage: { sessionLeader: related(3999), entryLeader: { ...related(3000), entryType: 'sshd' } },
  };
  const p = map(ev).process;
  assert.deepEqual(p.user, { id: '0', name: 'root' });
  assert.deepEqual(p.group, { id: '0', name: 'root' });
  assert.deepEqual(p.real_user, { id: '1000', name: 'alice' });
  assert.deepEqual(p.real_group, { id: '1000', name: 'staff' });
  assert.deepEqual(p.saved_user, { id: '1000', name: 'alice' });
  assert.deepEqual(p.saved_group, { id: '1000', name: 'staff' });
  assert.deepEqual(p.supplemental_groups, [{ id: '27', name: 'sudo' }, { id: '1000', name: 'staff' }]);
  assert.equal(p.command_line, '/usr/bin/true --x');
  for (const leader of [p.session_leader, p.entry_leader]) {
    assert.deepEqual(leader.saved_user, { id: '1000', name: 'alice' });
    assert.deepEqual(leader.saved_group, { id: '1000', name: 'staff' });
    assert.deepEqual(leader.supplemental_groups, [{ id: '27', name: 'sudo' }, { id: '1000', name: 'staff' }]);
    assert.equal(leader.command_line, 'bash -l');
  }
});

test('item 10: process_error names the first failure after "ERROR for PID N:", as Auditbeat', () => {
  const d = map({ ...fullKernelEvent(), action: 'process_error', errors: ['failed to load user for PID 4242: open /proc/4242/status: permission denied', 'second'] });
  assert.equal(d.message, 'ERROR for PID 4242: failed to load user for PID 4242: open /proc/4242/status: permission denied');
  assert.equal(d.error.message, 'failed to load user for PID 4242: open /proc/4242/status: permission denied; second', 'error.message keeps every failure');
});

test('item 10: procfs read failures carry Auditbeat\'s texts (process information first, then user)', () => {
  // A copy of our own /proc entry where exe is a plain file (readlink: EINVAL) and status a
  // directory (read: EISDIR): real filesystem errors that root cannot bypass.
  const root = mkdtempSync(join(tmpdir(), 'procbeat-proc-'));
  try {
    const dir = join(root, String(process.pid));
    mkdirSync(join(dir, 'status'), { recursive: true });
    writeFileSync(join(dir, 'stat'), readFileSync(`/proc/${process.pid}/stat`));
    writeFileSync(join(dir, 'cmdline'), readFileSync(`/proc/${process.pid}/cmdline`));
    writeFileSync(join(dir, 'exe'), 'not a link');
    symlinkSync('/', join(dir, 'cwd'));
    writeFileSync(join(dir, 'cgroup'), '0::/\n');
    const out = readProcess(process.pid, { procRoot: root, bootMs: Date.now() - 1000, clockTicks: 100, maxArgsBytes: 4096, euid: 0 });
    assert.equal(out.kind, 'ok');
    const errors = out.kind === 'ok' ? out.facts.errors : undefined;
    assert.deepEqual(errors, [
      `failed to load process information for PID ${process.pid}: readlink ${dir}/exe: invalid argument`,
      `failed to load user for PID ${process.pid}: read ${dir}/status: is a directory`,
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('item 8: with the default settings, a burst of max_file_size executables all get process.hash.sha1', async (t) => {
  const sleep = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p));
  if (!sleep) { t.skip('no sleep binary to copy'); return; }
  // 16 distinct executables of exactly the default max_file_size (100 MiB; sparse, so no
  // disk is used), started together as after a boot or a deploy: each must be hashed.
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-bigexe-'));
  const children: ChildProcess[] = [];
  const r = await runProcfs({ hash: {} });
  try {
    const exes: string[] = [];
    for (let i = 0; i < 16; i++) {
      const exe = join(dir, `big-sleep-${i}`);
      copyFileSync(sleep, exe);
      truncateSync(exe, 100 * 1024 * 1024);
      chmodSync(exe, 0o755);
      exes.push(exe);
    }
    // A deploy's executables were just written: they are in the page cache. Read ours once
    // first, so the burst measures hashing, not this VM finding 1.6 GB of fresh page cache
    // for the holes (that alone took over 5 s here at times, with any hasher).
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (const exe of exes) {
      const fd = openSync(exe, 'r');
      try {
        while (readSync(fd, chunk, 0, chunk.length, null) > 0);
      } finally {
        closeSync(fd);
      }
    }
    for (const exe of exes) children.push(spawn(exe, ['600'], { stdio: 'ignore' }));
    await new Promise((res) => setTimeout(res, 200));
    const docs = await r.fetch();
    const ours = docs.filter((d) => children.some((c) => c.pid === d.process.pid));
    assert.equal(ours.length, children.length, 'every big executable is reported');
    const missing = ours.filter((d) => (d.process as any).hash?.sha1 === undefined)
      .map((d) => `${d.process.executable}: ${(d as any).procbeat?.process?.hash_reason ?? (d as any).error?.message}`);
    assert.deepEqual(missing, [], 'no document ships without its hash');
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('item 9: process.start and entity_id agree between the procfs and kernel_tracing backends', async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  const before = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
  const kt = makeContext();
  const v = processDataset.validate({ process: { backend: 'kernel_tracing', hash: { hash_types: [] } } });
  assert.ok(v.ok);
  const ds = await processDataset.create(v.config, kt.ctx);
  assert.equal(ds.kind, 'push');
  let after: ChildProcess | undefined;
  const kernelDocs = new Map<number, Record<string, any>>();
  try {
    const it = (ds as PushDataset).events(kt.abort.signal)[Symbol.asyncIterator]();
    const deadline = Date.now() + 30_000;
    // One pending next() at a time: a second call would queue behind it and lose its result.
    let pending = it.next();
    while (Date.now() < deadline && (!kernelDocs.has(before.pid!) || after === undefined || !kernelDocs.has(after.pid!))) {
      const next = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
      if (next !== null) pending = it.next();
      if (next !== null && !next.done) {
        const d = next.value.fields as Record<string, any>;
        if (d.process?.start !== undefined) kernelDocs.set(d.process.pid, d);
      }
      // Started once the snapshot is in: the kernel sees this one fork.
      if (after === undefined && kernelDocs.has(before.pid!)) after = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
    }
    const r = await runProcfs();
    try {
      const procfsDocs = await r.fetch();
      for (const child of [before, after!]) {
        const k = kernelDocs.get(child.pid!);
        const p = procfsDocs.find((d) => d.process.pid === child.pid);
        assert.ok(k && p, `both backends report PID ${child.pid}`);
        assert.equal(k.process.start, p.process.start, `process.start of PID ${child.pid} (${k.event.action})`);
        assert.equal(k.process.entity_id, p.process.entity_id);
      }
    } finally {
      await r.close();
    }
  } finally {
    before.kill('SIGKILL');
    after?.kill('SIGKILL');
    kt.abort.abort();
    await ds.close?.();
  }
});

test('item 3: a kernel record without an executable path keeps parent, start, entity_id, user and capabilities', async (t) => {
  const why = await kernelTracingUnavailable();
  if (why) { t.skip(why); return; }
  // A zombie has no executable link any more, but /proc still has its ids and
  // credentials: the snapshot record of it has no path, as PID 1's can lack one.
  const parent = spawn('/bin/sh', ['-c', '(exit 0) & exec /bin/sleep 60'], { stdio: 'ignore' });
  let zombie: number | undefined;
  for (let i = 0; i < 100 && zombie === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      const children = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      zombie = children.find((c) => { try { return /^State:\s+Z/m.test(readFileSync(`/proc/${c}/status`, 'utf8')); } catch { return false; } });
    } catch { /* not yet */ }
  }
  if (zombie === undefined) { parent.kill('SIGKILL'); t.skip('could not make a zombie process here'); return; }
  const kt = makeContext();
  const v = processDataset.validate({ process: { backend: 'kernel_tracing', hash: { hash_types: [] } } });
  assert.ok(v.ok);
  const ds = await processDataset.create(v.config, kt.ctx);
  try {
    assert.equal(ds.kind, 'push');
    const it = (ds as PushDataset).events(kt.abort.signal)[Symbol.asyncIterator]();
    let doc: Record<string, any> | undefined;
    let pending = it.next();
    const deadline = Date.now() + 20_000;
    while (doc === undefined && Date.now() < deadline) {
      const next = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
      if (next === null) continue;
      pending = it.next();
      if (next.done) break;
      const d = next.value.fields as Record<string, any>;
      if (d.process?.pid === zombie) doc = d;
    }
    assert.ok(doc, `the snapshot reports the zombie PID ${zombie}`);
    assert.equal(doc.process.executable, undefined, 'no executable path in this record');
    assert.equal(doc.process.parent?.pid, parent.pid, 'parent');
    assert.equal(typeof doc.process.start, 'string', 'start');
    assert.equal(typeof doc.process.entity_id, 'string', 'entity_id');
    assert.equal(doc.user?.id, '0', 'user');
    assert.equal(typeof doc.process.interactive, 'boolean', 'interactive');
  } finally {
    parent.kill('SIGKILL');
    kt.abort.abort();
    await ds.close?.();
  }
});

test('item 6: add_host_metadata emits host.os.codename and host.containerized', async () => {
  const t = makeContext();
  const [proc] = await buildProcessors([{ add_host_metadata: {} }], { key: 'processors', logger: t.ctx.logger, info: t.ctx.info });
  const host = (proc!.run({ timestamp: new Date(), fields: {} }) as BeatEvent).fields.host as Record<string, any>;
  const rel = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
  if (rel.VERSION_CODENAME) assert.equal(host.os.codename, rel.VERSION_CODENAME);
  assert.equal(host.containerized, existsSync('/.dockerenv') || existsSync('/run/.containerenv') || /docker|lxc|kubepods|containerd|libpod|crio/.test(readFileSync('/proc/1/cgroup', 'utf8')));
  assert.equal(osCodename({ VERSION: '22.04.4 LTS (Jammy Jellyfish)' }), 'Jammy Jellyfish');
  assert.equal(osCodename({ VERSION_ID: '39' }), undefined);
  // A host tree without markers, and one whose init runs in a kubepods cgroup.
  const root = mkdtempSync(join(tmpdir(), 'procbeat-host-'));
  try {
    mkdirSync(join(root, 'proc/1'), { recursive: true });
    writeFileSync(join(root, 'proc/1/cgroup'), '0::/init.scope\n');
    assert.equal(await detectContainerized(root), false);
    writeFileSync(join(root, 'proc/1/cgroup'), '0::/kubepods/besteffort/pod1/abc\n');
    assert.equal(await detectContainerized(root), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
