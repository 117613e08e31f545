import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bootTimeMs, clockTicksPerSecond } from '../../modules/system/process/backends/procfs/boot.js';
import { NON_ROOT_WARNING } from '../../modules/system/process/backends/procfs/procfs-backend.js';
import { readProcess, readStatKey } from '../../modules/system/process/backends/procfs/reader.js';
import { flushLogs } from './context.js';
import { exists, fetchUntil, runProcfs, spawnReady, stop, waitFor, type Doc } from './procfs-helpers.js';
import { checkoutUnreadableByNobody } from './unprivileged.js';

const isRoot = process.geteuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), 'procbeat-procfs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const readerOpts = () => ({ procRoot: '/proc', bootMs: bootTimeMs(), clockTicks: clockTicksPerSecond(), maxArgsBytes: 1 << 20, euid: process.geteuid?.() ?? 0 });

test('the first fetch is a state report: existing_process, kind state, one event.id, our own process in full', async () => {
  const r = await runProcfs({ include_self: true });
  try {
    const docs = await r.fetch();
    assert.ok(docs.length > 1, 'a state report lists the running processes');
    const ids = new Set(docs.filter((d) => d.event.action === 'existing_process').map((d) => d.event.id));
    assert.equal(ids.size, 1, 'every document of one report shares one event.id');
    const [id] = [...ids];
    assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const d of docs.filter((x) => x.event.action === 'existing_process')) {
      assert.equal(d.event.kind, 'state');
      assert.deepEqual(d.event.type, ['info']);
      assert.deepEqual(d.event.category, ['process']);
      assert.equal(d.event.module, 'system');
      assert.equal(d.event.dataset, 'process');
    }
    const self = docs.find((d) => d.process.pid === process.pid);
    assert.ok(self, 'our own process is reported');
    const p = self.process as Record<string, unknown> & Doc['process'];
    assert.equal(self.event.action, 'existing_process');
    assert.equal(p.executable, readlinkSync('/proc/self/exe'));
    assert.equal(p.working_directory, process.cwd());
    assert.deepEqual(p.args, readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').split('\0'));
    assert.equal(p.args_count, p.args!.length);
    assert.equal(p.parent?.pid, process.ppid);
    assert.match(String(p.entity_id), /^[A-Za-z0-9+/]{16}$/);
    assert.ok(Math.abs(Date.parse(String(p.start)) - (Date.now() - process.uptime() * 1000)) < 5000, 'start is the wall-clock start');
    const user = self.user as Record<string, any>;
    if (isRoot) {
      assert.equal(user.id, '0');
      assert.equal(user.name, 'root');
      assert.equal(user.group.name, 'root');
      assert.equal(user.effective.name, 'root');
      assert.equal(user.saved.group.id, '0');
      assert.match(String(self.message), new RegExp(`^Process node \\(PID: ${process.pid}\\) by user root is RUNNING$`));
      const caps = (p.thread as any).capabilities;
      assert.ok(caps.effective.includes('CAP_SYS_ADMIN'));
      assert.ok(caps.permitted.includes('CAP_SYS_ADMIN'));
    }
    assert.equal((self.procbeat as any).process.backend, 'procfs');
    assert.equal(typeof (self.procbeat as any).process.namespaces.mnt, 'number');
    assert.equal(r.t.metrics.namespace('system.process').get('backend'), 'procfs');
  } finally {
    await r.close();
  }
});

test('include_self: false (the default) leaves our own process out', async () => {
  const r = await runProcfs();
  try {
    const docs = await r.fetch();
    assert.ok(docs.length > 0);
    assert.equal(docs.find((d) => d.process.pid === process.pid), undefined);
  } finally {
    await r.close();
  }
});

test('a process started and stopped between fetches: process_started then process_stopped', async () => {
  const r = await runProcfs();
  const marker = `${Date.now() % 100000}.5`;
  try {
    await r.fetch(); // state report
    const child = spawn('/usr/bin/sleep', [marker], { stdio: 'ignore' });
    const pid = child.pid!;
    const started = await fetchUntil(r, (docs) => docs.find((d) => d.process.pid === pid && d.event.action === 'process_started'));
    assert.equal(started.event.kind, 'event');
    assert.deepEqual(started.event.type, ['start']);
    assert.equal(started.event.id, undefined, 'event.id belongs to state reports');
    assert.equal(started.process.executable, '/usr/bin/sleep');
    assert.deepEqual(started.process.args, ['/usr/bin/sleep', marker]);
    assert.equal(started.process.name, 'sleep');
    assert.equal(started.process.parent?.pid, process.pid);
    assert.match(String(started.message), new RegExp(`^Process sleep \\(PID: ${pid}\\)( by user \\S+)? STARTED$`));
    await stop(child);
    const stopped = await fetchUntil(r, (docs) => docs.find((d) => d.process.pid === pid && d.event.action === 'process_stopped'));
    assert.deepEqual(stopped.event.type, ['end']);
    assert.equal(stopped.event.kind, 'event');
    assert.equal(stopped.process.executable, '/usr/bin/sleep');
    assert.deepEqual(stopped.process.args, ['/usr/bin/sleep', marker]);
    assert.equal((stopped.process as any).entity_id, (started.process as any).entity_id, 'same process, same entity_id');
    assert.match(String(stopped.message), /STOPPED$/);
  } finally {
    await r.close();
  }
});

test('executables are hashed (sha1 by default) and the stop carries the hash of the start', async () => {
  const r = await runProcfs({ hash: { hash_types: ['sha1', 'sha256'] } });
  try {
    await r.fetch();
    const child = spawn('/usr/bin/sleep', ['600'], { stdio: 'ignore' });
    const started = await fetchUntil(r, (docs) => docs.find((d) => d.process.pid === child.pid && d.event.action === 'process_started'));
    const bytes = readFileSync('/usr/bin/sleep');
    const want = { sha1: createHash('sha1').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
    assert.deepEqual((started.process as any).hash, want);
    await stop(child);
    const stopped = await fetchUntil(r, (docs) => docs.find((d) => d.process.pid === child.pid && d.event.action === 'process_stopped'));
    assert.deepEqual((stopped.process as any).hash, want);
  } finally {
    await r.close();
  }
});

test('a later state report still reports starts and stops since the last period', async () => {
  const r = await runProcfs({ state: { period: '1ms' } });
  try {
    await r.fetch();
    const child = spawn('/usr/bin/sleep', ['600'], { stdio: 'ignore' });
    const docs = await fetchUntil(r, (d) => (d.some((x) => x.process.pid === child.pid && x.event.action === 'process_started') ? d : undefined));
    assert.ok(docs.some((x) => x.process.pid === child.pid && x.event.action === 'existing_process'), 'and it is in the new report');
    await stop(child);
    await fetchUntil(r, (d) => d.find((x) => x.process.pid === child.pid && x.event.action === 'process_stopped'));
  } finally {
    await r.close();
  }
});

test('kernel threads are not reported', async (t) => {
  const kthreads = readFileSync('/proc/2/stat', 'latin1').includes('(kthreadd)');
  if (!kthreads) { t.skip('no kthreadd at pid 2 in this pid namespace'); return; }
  const r = await runProcfs();
  try {
    const docs = await r.fetch();
    assert.equal(docs.find((d) => d.process.pid === 2), undefined, 'kthreadd');
    assert.equal(docs.find((d) => d.process.parent?.pid === 2), undefined, 'children of kthreadd');
    assert.equal(readStatKey(2)?.kernelThread, true);
  } finally {
    await r.close();
  }
});

test('a 1 MiB command line is read; longer ones are cut at 1 MiB and flagged', async () => {
  const chunk = 'a'.repeat(100 * 1024);
  const small = Array.from({ length: 9 }, (_, i) => `${i}${chunk}`); // ~900 KiB
  const big = Array.from({ length: 12 }, (_, i) => `${i}${chunk}`); // ~1.2 MiB
  const a = spawn('/usr/bin/perl', ['-e', 'sleep 600', ...small], { stdio: 'ignore' });
  const b = spawn('/usr/bin/perl', ['-e', 'sleep 600', ...big], { stdio: 'ignore' });
  const r = await runProcfs();
  try {
    const docs = await r.fetch();
    const da = docs.find((d) => d.process.pid === a.pid);
    const db = docs.find((d) => d.process.pid === b.pid);
    assert.ok(da && db);
    assert.deepEqual(da.process.args, ['/usr/bin/perl', '-e', 'sleep 600', ...small]);
    assert.equal((da.procbeat as any).process.args_truncated, undefined);
    const fullBytes = ['/usr/bin/perl', '-e', 'sleep 600', ...big].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
    assert.equal((db.procbeat as any).process.args_truncated, true);
    assert.equal((db.procbeat as any).process.args_original_bytes, fullBytes);
    const kept = db.process.args!;
    assert.deepEqual(kept.slice(0, 3), ['/usr/bin/perl', '-e', 'sleep 600']);
    assert.equal(kept.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0) - 1, 1 << 20, 'exactly 1 MiB kept');
    assert.ok(kept.length < big.length + 3);
  } finally {
    await r.close();
    await stop(a);
    await stop(b);
  }
});

test('odd content: argv overwritten without NUL, comm with ")", a newline and invalid UTF-8', async () => {
  const script = join(tmp, 'title.py');
  writeFileSync(script, [
    'import ctypes, sys, time',
    "s = open('/proc/self/stat', 'rb').read()",
    "rest = s[s.rindex(b')') + 2:].split()",
    'start, end = int(rest[45]), int(rest[46])',
    "ctypes.memmove(start, b'T' * (end - start), end - start)",
    "open('/proc/self/comm', 'wb').write(b'a)\\n\\xffb (c')",
    "sys.stdout.write('ready\\n'); sys.stdout.flush()",
    'time.sleep(600)',
  ].join('\n'));
  const { child } = await spawnReady('python3', [script, 'x', 'y'], 'ready');
  const r = await runProcfs();
  try {
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`);
    assert.equal(cmdline.subarray(0, 10).toString(), 'TTTTTTTTTT', 'the child rewrote its argv');
    const docs = await r.fetch();
    const d = docs.find((x) => x.process.pid === child.pid);
    assert.ok(d, 'the process is reported');
    assert.equal(d.process.name, 'a)\n\uFFFDb (c');
    assert.equal(d.process.parent?.pid, process.pid, 'stat fields are read after the last )');
    assert.equal(d.process.args!.length, 1, 'no NUL in the argv area: one argument');
    assert.match(d.process.args![0]!, /^T+/);
    assert.match(String(d.message), /^Process a\)\n\uFFFDb \(c \(PID: \d+\)/);
  } finally {
    await r.close();
    await stop(child);
  }
});

test('a zombie is reported with what /proc still knows', async () => {
  // perl forks a child that exits at once and never reaps it.
  const { child: parent, output } = await spawnReady('/usr/bin/perl', ['-e', '$|=1; my $p = fork(); if ($p == 0) { exit 0 } print "child $p ready\\n"; sleep 600'], 'ready');
  const zombie = Number(/child (\d+)/.exec(output())![1]);
  const r = await runProcfs();
  try {
    await waitFor(() => exists(zombie) && / Z /.test(readFileSync(`/proc/${zombie}/stat`, 'latin1')), 10_000, 'the zombie');
    const docs = await r.fetch();
    const d = docs.find((x) => x.process.pid === zombie);
    assert.ok(d, 'the zombie is reported');
    assert.equal(d.event.action, 'existing_process');
    assert.equal(d.process.parent?.pid, parent.pid);
    assert.equal(d.process.executable, undefined, 'a zombie has no executable link');
    assert.equal(d.error, undefined, 'a missing exe on a zombie is not an error');
  } finally {
    await r.close();
    await stop(parent);
  }
});

test('a process that is gone reads as vanished, not as an error', async () => {
  const child = spawn('/usr/bin/true', [], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((res) => child.once('exit', res));
  await waitFor(() => !exists(pid), 10_000, 'the pid to be reaped');
  assert.deepEqual(readProcess(pid, readerOpts()), { kind: 'vanished' });
  assert.equal(readStatKey(pid), undefined);
});

test('processes coming and going during the scrape never break a fetch', async () => {
  const churn = spawn('/bin/sh', ['-c', 'while :; do /bin/true; /bin/true a b; done'], { stdio: 'ignore' });
  const r = await runProcfs();
  try {
    for (let i = 0; i < 15; i++) {
      const docs = await r.fetch();
      for (const d of docs) {
        assert.equal(typeof d.process.pid, 'number');
        assert.equal(typeof d.process.name, 'string');
      }
    }
    const m = r.t.metrics.namespace('system.process');
    assert.equal(m.get('procfs.scrapes'), 15);
  } finally {
    await r.close();
    await stop(churn);
  }
});

test('an exe link root cannot read makes a process_error naming the file', async (t) => {
  if (!isRoot) { t.skip('needs root'); return; }
  let unreadable: number | undefined;
  for (const name of ['1']) {
    try { readlinkSync(`/proc/${name}/exe`); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'EACCES') unreadable = Number(name); }
  }
  if (unreadable === undefined) { t.skip('no process here whose exe link root cannot read (pid 1 is readable); the non-root test covers permission errors'); return; }
  const r = await runProcfs();
  try {
    const docs = await r.fetch();
    const d = docs.find((x) => x.process.pid === unreadable);
    assert.ok(d, 'still reported');
    assert.equal(d.event.action, 'process_error');
    assert.equal(d.process.executable, undefined);
    assert.match(String((d.error as any).message), new RegExp(`failed to load process information for PID ${unreadable}: readlink /proc/${unreadable}/exe: permission denied`));
    assert.match(String(d.message), new RegExp(`^ERROR for PID ${unreadable}: `));
  } finally {
    await r.close();
  }
});

test('non-root: one warning, other users\' processes skipped and counted, kernel_tracing falls back', async (t) => {
  if (!isRoot) { t.skip('needs root to start the unprivileged child'); return; }
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  if (!setpriv) { t.skip('setpriv is not installed'); return; }
  const unreadable = checkoutUnreadableByNobody();
  if (unreadable) { t.skip(unreadable); return; }
  const rootSleeper = spawn('/usr/bin/sleep', ['600'], { stdio: 'ignore' });
  const childScript = new URL('./procfs-nonroot-child.js', import.meta.url).pathname;
  try {
    for (const backend of ['procfs', 'kernel_tracing']) {
      const out = await new Promise<string>((res, rej) => {
        const c = spawn(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, childScript, backend], {
          stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROCBEAT_NONROOT_CHILD: '1' }, cwd: '/',
        });
        let o = '';
        let e = '';
        c.stdout.on('data', (b: Buffer) => { o += b.toString(); });
        c.stderr.on('data', (b: Buffer) => { e += b.toString(); });
        c.on('exit', (code) => (code === 0 ? res(o) : rej(new Error(`child exited ${code}: ${e}`))));
      });
      const report = JSON.parse(out) as { euid: number; logs: { level: number; msg: string }[]; pids: number[]; self: Doc | undefined; metrics: Record<string, unknown>; kind: string };
      assert.equal(report.euid, 65534);
      if (backend === 'kernel_tracing') {
        assert.equal(report.kind, 'periodic');
        const fb = report.logs.filter((l) => l.msg.startsWith("can't use kernel_tracing, falling back to procfs: "));
        assert.equal(fb.length, 1, 'the fallback is logged');
        assert.equal(fb[0]!.level, 40, 'as a warning');
      }
      const warnings = report.logs.filter((l) => l.msg === NON_ROOT_WARNING);
      assert.equal(warnings.length, 1, 'the non-root warning, once');
      assert.equal(warnings[0]!.level, 40);
      assert.ok(!report.pids.includes(rootSleeper.pid!), "root's process is not readable, so not reported");
      assert.ok(Number(report.metrics['procfs.skipped_permission']) > 0, 'and the skip is counted');
      assert.ok(report.self, 'its own process is reported');
      assert.equal(report.self.process.executable, process.execPath);
      assert.equal((report.self.user as any).id, '65534');
      assert.equal(report.metrics.backend, 'procfs');
    }
  } finally {
    await stop(rootSleeper);
  }
});

test('the kernel_tracing backend falls back to procfs with the logged reason when it cannot start', async (t) => {
  const r = await (async () => {
    const { makeContext } = await import('./context.js');
    const { processDataset } = await import('../../modules/system/process/dataset.js');
    const tc = makeContext();
    const v = processDataset.validate({ process: { backend: 'kernel_tracing', hash: { hash_types: [] } } });
    assert.ok(v.ok);
    const ds = await processDataset.create(v.config, tc.ctx);
    return { tc, ds };
  })();
  try {
    await flushLogs();
    if (r.ds.kind === 'push') { t.skip('kernel_tracing started here; the non-root test covers the fallback'); return; }
    const lines = r.tc.logs.filter((l) => l.msg.startsWith("can't use kernel_tracing, falling back to procfs: "));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.ok(r.tc.logs.some((l) => l.msg === 'system/process dataset running with the procfs backend'));
    assert.equal(r.tc.metrics.namespace('system.process').get('backend'), 'procfs');
  } finally {
    r.tc.abort.abort();
    await r.ds.close?.();
  }
});
