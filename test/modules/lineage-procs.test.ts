/**
 * Lineage end to end, with real processes, through both backends: parent, group, session and
 * entry leaders with the entity ids of those processes' own documents.
 *
 * What is simulated (no real sshd or terminal emulator runs in CI):
 * - terminal: util-linux `script` allocates a real pseudo terminal and starts `/bin/sh` as
 *   the session leader on it, exactly as a terminal emulator starts a shell;
 * - sshd: a copy of bash named `sshd` plays the ssh daemon: it sets SSH_CONNECTION (as
 *   sshd does) and starts the session's shell with `setsid`, so the shell is a session
 *   leader whose parent's executable is called `sshd`. No network connection is involved.
 * - container: `unshare -p -f` gives the shell a new pid namespace in which it is pid 1.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  argsOf, collectorPerSuite, entityOf, get, pidOf, run, runKernel, runProcfsCollector, uniqueSeconds, type Collector, type Doc,
} from './enrich-helpers.js';

let dir = '';
let fakeSshd = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'procbeat-lineage-'));
  fakeSshd = join(dir, 'sshd');
  copyFileSync('/usr/bin/bash', fakeSshd);
  chmodSync(fakeSshd, 0o755);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The document of the `sleep <secs>` process, after it ended when `ended`. */
const sleepDoc = (secs: string) => (d: Doc): boolean => argsOf(d)[0] === 'sleep' && argsOf(d)[1] === secs;

/** Our pid and those of our ancestors, from /proc. */
function ancestors(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; p > 0 && out.length < 256;) {
    out.push(p);
    const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return out;
}

const byPid = (pid: number) => (d: Doc): boolean => pidOf(d) === pid && entityOf(d) !== undefined;

function backendSuites(name: string, open: () => Promise<Collector | { skip: string }>, secs: number): void {
  describe(`lineage through ${name}`, () => {
    const need = collectorPerSuite(open);

    test('a pipeline inside setsid: session leader = the shell, group leader = the first member, ids of their own documents', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      // `set -m`: job control, so the pipeline gets a process group of its own (leader: sleep).
      const r = await run('setsid', ['bash', '-c', `set -m; sleep ${d} | cat; true`]);
      const shell = r.pid; // setsid does not fork here: it is not a group leader under node
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      const cat = await col.waitFor((x) => get(x, 'process.name') === 'cat' && get(x, 'process.parent.pid') === shell, 'the cat document');
      // kernel_tracing also reports the setsid image of that pid first (exec without fork);
      // procfs reports whichever image it saw first. Every document of the pid has one entity_id.
      const shDocs = col.docs.filter(byPid(shell));
      assert.ok(shDocs.length > 0, 'the shell has a document');
      assert.equal(new Set(shDocs.map(entityOf)).size, 1);
      const sh = shDocs.find((x) => get(x, 'process.name') === 'bash') ?? shDocs[0]!;
      if (col.backend === 'kernel_tracing') assert.equal(get(sh, 'process.name'), 'bash');

      assert.equal(get(sh, 'process.session_leader.pid'), shell);
      assert.equal(get(sh, 'process.session_leader.same_as_process'), true);
      assert.equal(get(sh, 'process.session_leader.entity_id'), entityOf(sh));

      assert.equal(get(sl, 'process.group_leader.pid'), pidOf(sl));
      assert.equal(get(sl, 'process.group_leader.same_as_process'), true);
      assert.equal(get(sl, 'process.group_leader.entity_id'), entityOf(sl));
      assert.equal(get(sl, 'process.session_leader.pid'), shell);
      assert.equal(get(sl, 'process.session_leader.entity_id'), entityOf(sh));
      assert.equal(get(sl, 'process.session_leader.same_as_process'), false);

      assert.equal(get(cat, 'process.group_leader.pid'), pidOf(sl), 'cat joined the group of sleep');
      assert.equal(get(cat, 'process.group_leader.entity_id'), entityOf(sl));
      assert.equal(get(cat, 'process.group_leader.same_as_process'), false);
      assert.deepEqual(get(cat, 'process.group_leader.args'), ['sleep', d]);
      assert.equal(get(cat, 'process.session_leader.entity_id'), entityOf(sh));
      assert.equal(get(cat, 'process.session_leader.executable'), '/usr/bin/bash');
      assert.equal(get(cat, 'process.parent.entity_id'), entityOf(sh));
      assert.equal(get(cat, 'process.parent.name'), 'bash');
    });

    test('entity_id: the same on every document of a process and when it is named as a parent', async (t) => {
      const col = need(t); if (!col) return;
      // Long enough that even a slow poll reports sh's start before its exit (two documents).
      const d = uniqueSeconds(Math.max(secs, 2.5));
      const r = await run('sh', ['-c', `sleep ${d}; true`]);
      const child = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      await col.waitFor((x) => pidOf(x) === r.pid && (get(x, 'event.type') as string[]).includes('end'), 'the end of sh');
      const shDocs = col.docs.filter((x) => pidOf(x) === r.pid && entityOf(x) !== undefined);
      assert.ok(shDocs.length >= 2, `sh has a start and an end document (got ${shDocs.map((x) => get(x, 'event.action')).join(', ')})`);
      const ids = new Set(shDocs.map(entityOf));
      assert.equal(ids.size, 1, 'one entity_id for every document of sh');
      assert.equal(get(child, 'process.parent.pid'), r.pid);
      assert.equal(get(child, 'process.parent.entity_id'), [...ids][0]);
      assert.deepEqual(get(child, 'process.parent.args'), ['sh', '-c', `sleep ${d}; true`]);
      assert.equal(get(child, 'process.parent.args_count'), 3);
      assert.equal(get(child, 'process.parent.start'), get(shDocs[0]!, 'process.start'));
    });

    test('terminal: a shell that `script` starts on a new pseudo terminal is the entry leader of its commands', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const r = await run('script', ['-qec', `sleep ${d}; true`, '/dev/null'], { env: { ...process.env, SHELL: '/bin/sh' } });
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      const shellPid = get(sl, 'process.parent.pid') as number;
      const shell = await col.waitFor(byPid(shellPid), 'the terminal shell document');
      assert.equal(get(shell, 'process.parent.pid'), r.pid, 'the shell is the child of script');
      assert.equal(get(sl, 'process.interactive'), true);
      assert.equal(get(sl, 'process.entry_leader.entry_meta.type'), 'terminal');
      assert.equal(get(sl, 'process.entry_leader.pid'), shellPid);
      assert.equal(get(sl, 'process.entry_leader.entity_id'), entityOf(shell));
      assert.equal(get(sl, 'process.entry_leader.interactive'), true);
      assert.equal(get(sl, 'process.entry_leader.parent.pid'), r.pid);
      assert.equal(get(sl, 'process.entry_leader.same_as_process'), false);
      assert.equal(get(sl, 'process.session_leader.entity_id'), entityOf(shell));
      assert.equal(get(shell, 'process.entry_leader.same_as_process'), true);
      assert.equal(get(shell, 'process.entry_leader.entry_meta.type'), 'terminal');
    });

    test('sshd (simulated): the session shell a process named sshd starts with setsid is an sshd entry leader', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const r = await run(fakeSshd, ['-c', `export SSH_CONNECTION="192.0.2.7 50022 192.0.2.1 22"; setsid /bin/sh -c "sleep ${d}; true"; true`]);
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      const shellPid = get(sl, 'process.parent.pid') as number;
      const shell = await col.waitFor(byPid(shellPid), 'the session shell document');
      assert.equal(get(shell, 'process.parent.pid'), r.pid);
      assert.equal(get(shell, 'process.parent.executable'), fakeSshd);
      assert.equal(get(sl, 'process.entry_leader.entry_meta.type'), 'sshd');
      assert.equal(get(sl, 'process.entry_leader.pid'), shellPid);
      assert.equal(get(sl, 'process.entry_leader.entity_id'), entityOf(shell));
      assert.equal(get(sl, 'process.entry_leader.parent.pid'), r.pid);
      assert.equal(get(sl, 'process.entry_leader.entry_meta.source.ip'), '192.0.2.7');
      assert.equal(get(sl, 'process.session_leader.pid'), shellPid);
    });

    test('container: the pid 1 of a new pid namespace is a container entry leader; its start is the container start', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      const r = await run('unshare', ['-p', '-f', 'sh', '-c', `sleep ${d}; true`]);
      assert.equal(r.code, 0);
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      const initPid = get(sl, 'process.parent.pid') as number;
      const init = await col.waitFor(byPid(initPid), 'the namespace init document');
      assert.equal(get(init, 'process.vpid'), 1);
      assert.equal(get(sl, 'process.entry_leader.entry_meta.type'), 'container');
      assert.equal(get(sl, 'process.entry_leader.pid'), initPid);
      assert.equal(get(sl, 'process.entry_leader.entity_id'), entityOf(init));
      assert.equal(get(sl, 'process.entry_leader.vpid'), 1);
      assert.equal(get(sl, 'procbeat.process.container.start'), get(init, 'process.start'));
    });

    test('every process has an entry leader among its ancestors', async (t) => {
      const col = need(t); if (!col) return;
      const d = uniqueSeconds(secs);
      await run('sleep', [d]);
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      assert.equal(get(sl, 'process.parent.pid'), process.pid);
      // init under CI (services all the way up), terminal or sshd when run by hand.
      const type = get(sl, 'process.entry_leader.entry_meta.type') as string;
      assert.ok(['init', 'terminal', 'sshd', 'console', 'container'].includes(type), `entry type ${type}`);
      assert.ok(ancestors(process.pid).includes(get(sl, 'process.entry_leader.pid') as number), 'the entry leader is one of our ancestors');
      assert.equal(typeof get(sl, 'process.entry_leader.entity_id'), 'string');
    });
  });
}

backendSuites('kernel_tracing', () => runKernel(), 0.8);
backendSuites('procfs', () => runProcfsCollector(), 2.5);

describe('lineage through kernel_tracing: a parent that exited before its child was reported', () => {
  test('the child still carries the parent fields (grace time)', async (t) => {
    const r0 = await runKernel();
    if ('skip' in r0) { t.skip(r0.skip); return; }
    const col = r0;
    try {
      const d = uniqueSeconds(1.5);
      // sh starts sleep in the background and exits at once: sh's record (fork, exec, exit)
      // is out before sleep's first record (fork, exec), which is held for the hold time.
      // The short wait lets the child exec while sh is still its parent (else it is reparented first).
      const r = await run('sh', ['-c', `sleep ${d} & sleep 0.05; exit 0`]);
      const sl = await col.waitFor(sleepDoc(d), `the sleep ${d} document`);
      const shEnd = col.docs.findIndex((x) => pidOf(x) === r.pid && (get(x, 'event.type') as string[]).includes('end'));
      assert.ok(shEnd >= 0 && shEnd < col.docs.indexOf(sl), 'sh had exited (and was reported) before the child document');
      assert.equal(get(sl, 'process.parent.pid'), r.pid);
      assert.equal(get(sl, 'process.parent.entity_id'), entityOf(col.docs[shEnd]!));
      assert.equal(get(sl, 'process.parent.name'), 'sh');
      assert.deepEqual(get(sl, 'process.parent.args'), ['sh', '-c', `sleep ${d} & sleep 0.05; exit 0`]);
    } finally {
      await col.stop();
    }
  });
});
