/**
 * Drift and privilege signals with real executables, through both backends:
 * kernel_tracing reports what the kernel saw at the exec; procfs what /proc shows while the
 * process runs (so its processes live a few seconds).
 *
 * - memfd: python3 writes a copy of `sleep` into a memfd and execs /proc/self/fd/N;
 * - unlinked: python3 opens a copy of `sleep`, deletes it, then execs it through the fd, so
 *   the file is already unlinked at the exec;
 * - setuid: a root-owned 4755 copy of `id` (`sleep` for procfs) run as uid 65534 with setpriv;
 * - recent chmod: a fresh copy of `sleep`, chmod'ed, run at once: ctime_to_exec_ms is small;
 * - writable: a copy owned by uid 65534, run as 65534, is writable by its user.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argsOf, collectorPerSuite, get, run, runKernel, runProcfsCollector, uniqueSeconds, type Collector, type Doc } from './enrich-helpers.js';

let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'procbeat-signals-'));
  chmodSync(dir, 0o755); // uid 65534 runs files from here
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// The preparation happens in python; a child execs at once after fork, so even procfs
// (which reports a pid once, as it first sees it) sees the new image, not python.
const PY_FORK_EXEC = `
import os, sys
def run(fd, argv0):
    pid = os.fork()
    if pid == 0:
        os.execv("/proc/self/fd/%d" % fd, [argv0, sys.argv[1]])
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
`;

const PY_MEMFD = `${PY_FORK_EXEC}
fd = os.memfd_create("procbeat-test", 0)
with open("/usr/bin/sleep", "rb") as f:
    os.write(fd, f.read())
run(fd, "memfd-sleep")
`;

const PY_UNLINKED = `${PY_FORK_EXEC}
path = sys.argv[2]
fd = os.open(path, os.O_RDONLY)
os.unlink(path)
run(fd, "unlinked-sleep")
`;

const byArgs = (first: string, secs: string) => (d: Doc): boolean => argsOf(d)[0] === first && argsOf(d)[1] === secs;

function copy(src: string, name: string, mode: number, uid = 0): string {
  const p = join(dir, name);
  copyFileSync(src, p);
  chownSync(p, uid, uid);
  chmodSync(p, mode);
  return p;
}

function suites(name: string, open: () => Promise<Collector | { skip: string }>, secs: number): void {
  describe(`signals through ${name}`, () => {
    const need = collectorPerSuite(open);

    test('exec from a memfd is flagged from_memfd and unlinked', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const r = await run('python3', ['-c', PY_MEMFD, d]);
      assert.equal(r.code, 0);
      const doc = await col.waitFor(byArgs('memfd-sleep', d), 'the memfd process');
      assert.equal(get(doc, 'procbeat.process.exe.from_memfd'), true);
      assert.equal(get(doc, 'procbeat.process.exe.unlinked'), true);
      assert.match(get(doc, 'process.executable') as string, /^\/memfd:procbeat-test/);
      if (col.backend === 'procfs') assert.equal(get(doc, 'procbeat.process.exe.nlink'), 0);
    });

    test('exec of a file deleted before the exec is flagged unlinked, not memfd', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const victim = copy('/usr/bin/sleep', `gone-${d}`, 0o755);
      const r = await run('python3', ['-c', PY_UNLINKED, d, victim]);
      assert.equal(r.code, 0);
      const doc = await col.waitFor(byArgs('unlinked-sleep', d), 'the unlinked process');
      assert.equal(get(doc, 'procbeat.process.exe.unlinked'), true);
      assert.equal(get(doc, 'procbeat.process.exe.from_memfd'), false);
      assert.equal(get(doc, 'procbeat.process.exe.nlink'), 0);
    });

    test('setuid exec as uid 65534: setuid, euid gained 0, privileges changed', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      // kernel_tracing sees the exec of a short-lived id; procfs needs a process that stays.
      const kernel = col.backend === 'kernel_tracing';
      const bin = copy(kernel ? '/usr/bin/id' : '/usr/bin/sleep', `suid-${d}`, 0o4755);
      // Through sh, so the program is a fork + exec (procfs cannot see an exec in place).
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `${bin} ${kernel ? '' : d}; true`]);
      assert.equal(r.code, 0);
      const doc = await col.waitFor((x) => get(x, 'process.executable') === bin, 'the setuid process');
      assert.equal(get(doc, 'user.id'), '65534');
      assert.equal(get(doc, 'user.effective.id'), '0');
      assert.equal(get(doc, 'procbeat.process.exec.setuid'), true);
      assert.equal(get(doc, 'procbeat.process.exec.setgid'), false);
      assert.equal(get(doc, 'procbeat.process.exec.euid_gained'), '0');
      assert.equal(get(doc, 'procbeat.process.exec.privileges_changed'), true);
      assert.equal(get(doc, 'procbeat.process.exec.inferred'), kernel ? undefined : true);
      assert.equal((get(doc, 'procbeat.process.exe.mode') as number) & 0o4000, 0o4000);
      // The same program without the bit, run the same way, gains nothing.
      const plainBin = copy(kernel ? '/usr/bin/id' : '/usr/bin/sleep', `plain-${d}`, 0o755);
      await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `${plainBin} ${kernel ? '' : d}; true`]);
      const plain = await col.waitFor((x) => get(x, 'process.executable') === plainBin, 'the plain process');
      assert.equal(get(plain, 'user.effective.id'), '65534');
      assert.equal(get(plain, 'procbeat.process.exec.setuid'), false);
      assert.equal(get(plain, 'procbeat.process.exec.euid_gained'), undefined);
    });

    test('a binary chmod\'ed just before it runs has a small ctime_to_exec_ms; a system binary a large one', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const fresh = join(dir, `fresh-${d}`);
      const r = await run('sh', ['-c', `cp /usr/bin/sleep ${fresh} && chmod 0755 ${fresh} && ${fresh} ${d}; true`]);
      assert.equal(r.code, 0);
      const doc = await col.waitFor((x) => get(x, 'process.executable') === fresh, 'the fresh binary');
      const ctimeMs = get(doc, 'procbeat.process.exe.ctime_to_exec_ms') as number;
      const mtimeMs = get(doc, 'procbeat.process.exe.mtime_to_exec_ms') as number;
      assert.equal(typeof ctimeMs, 'number');
      // Generous bounds for a loaded machine; the point is seconds, not months.
      assert.ok(ctimeMs > -1000 && ctimeMs < 15_000, `ctime_to_exec_ms ${ctimeMs}`);
      assert.ok(mtimeMs > -1000 && mtimeMs < 15_000, `mtime_to_exec_ms ${mtimeMs}`);
      assert.equal(get(doc, 'procbeat.process.exe.writable_by_user'), true, 'root may write it');
      const d2 = uniqueSeconds(secs);
      await run('sh', ['-c', `sleep ${d2}; true`]);
      const sys = await col.waitFor(byArgs('sleep', d2), 'a system binary');
      assert.ok((get(sys, 'procbeat.process.exe.ctime_to_exec_ms') as number) > 60_000, 'the package-installed sleep changed long ago');
    });

    test('writable_by_user: an own copy is writable by its non-root user, /usr/bin/sleep is not', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const mine = copy('/usr/bin/sleep', `mine-${d}`, 0o755, 65534);
      const d2 = uniqueSeconds(secs);
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `${mine} ${d}; sleep ${d2}; true`]);
      assert.equal(r.code, 0);
      const own = await col.waitFor((x) => get(x, 'process.executable') === mine, 'the own copy');
      assert.equal(get(own, 'procbeat.process.exe.uid'), '65534');
      assert.equal(get(own, 'procbeat.process.exe.writable_by_user'), true);
      const sys = await col.waitFor(byArgs('sleep', d2), 'the system sleep');
      assert.equal(get(sys, 'user.id'), '65534');
      assert.equal(get(sys, 'procbeat.process.exe.writable_by_user'), false);
    });
  });
}

suites('kernel_tracing', () => runKernel(), 0.6);
suites('procfs', () => runProcfsCollector(), 2);
