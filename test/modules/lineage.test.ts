/**
 * The process table and the entry-leader rule, with synthetic ProcessEvents (no /proc, a
 * fake clock): grace time, pid reuse, the LRU bound, every entry type, and entity ids that
 * are the same for a process wherever the document names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fields } from '../../core/api/event.js';
import { processEntityId } from '../../modules/system/process/ecs/entity-id.js';
import { processEventToBeatEvent } from '../../modules/system/process/ecs/to-beat-event.js';
import { Enrichment } from '../../modules/system/process/enrich/index.js';
import { INIT_PID_NS_INODE, LineageResolver, type ProcessLookup } from '../../modules/system/process/enrich/lineage/index.js';
import type { EntryLeaderType, ProcessEvent } from '../../modules/system/process/event.js';
import { get } from './enrich-helpers.js';

const BOOT_WALL_MS = Date.UTC(2025, 0, 1);
const PTS = { major: 136, minor: 3 };
const NO_TTY = { major: 0, minor: 0 };

interface Spec {
  pid: number;
  ppid: number;
  startSec: number;
  name: string;
  exe?: string;
  sid?: number;
  pgid?: number;
  tty?: { major: number; minor: number };
  vpid?: number;
  pidNs?: number;
  exit?: boolean;
  exec?: boolean;
}

function ev(s: Spec): ProcessEvent {
  const startBootNs = BigInt(s.startSec) * 1_000_000_000n;
  return {
    backend: 'kernel_tracing',
    action: s.exit ? 'process_ran' : 'process_started',
    types: s.exit ? ['start', 'end'] : ['start'],
    flags: { snapshot: false, fork: true, exec: s.exec ?? true, exit: s.exit ?? false },
    time: new Date(BOOT_WALL_MS + s.startSec * 1000 + 10),
    pid: s.pid,
    ppid: s.ppid,
    vpid: s.vpid ?? s.pid,
    pgid: s.pgid ?? s.sid ?? 1,
    sid: s.sid ?? 1,
    name: s.name,
    executable: s.exe ?? `/usr/bin/${s.name}`,
    args: [s.name],
    start: new Date(BOOT_WALL_MS + s.startSec * 1000),
    startBootNs,
    creds: { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0 },
    tty: s.tty ?? NO_TTY,
    namespaces: { pid: s.pidNs ?? INIT_PID_NS_INODE },
    complete: true,
  };
}

class FakeClock {
  ms = 0;
  now(): number { return this.ms; }
}

function resolver(opts: { lookups?: ProcessLookup[]; clock?: FakeClock; maxEntries?: number; graceMs?: number } = {}): LineageResolver {
  return new LineageResolver({
    maxEntries: opts.maxEntries ?? 1000,
    graceMs: opts.graceMs ?? 30_000,
    lookups: opts.lookups ?? [],
    sshSource: () => undefined,
    perf: opts.clock ?? new FakeClock(),
  });
}

const INIT: Spec = { pid: 1, ppid: 0, startSec: 0, name: 'systemd', exe: '/usr/lib/systemd/systemd', sid: 1 };

test('an exited parent stays for the grace time, then is gone', () => {
  const clock = new FakeClock();
  const l = resolver({ clock, graceMs: 30_000 });
  l.enrich(ev(INIT));
  l.enrich(ev({ pid: 100, ppid: 1, startSec: 10, name: 'sh', exit: true }));
  clock.ms = 5_000;
  const child = ev({ pid: 101, ppid: 100, startSec: 11, name: 'sleep' });
  l.enrich(child);
  assert.equal(child.lineage?.parent?.pid, 100);
  assert.equal(child.lineage?.parent?.name, 'sh');
  clock.ms = 31_000;
  const late = ev({ pid: 102, ppid: 100, startSec: 12, name: 'cat' });
  l.enrich(late);
  assert.equal(late.lineage?.parent, undefined, 'past the grace time the parent is forgotten');
});

test('a procfs stop (type end, no exit flag) also starts the grace time', () => {
  const clock = new FakeClock();
  const l = resolver({ clock, graceMs: 1000 });
  const stop = { ...ev({ pid: 100, ppid: 1, startSec: 10, name: 'sh', exec: false }), backend: 'procfs' as const,
    action: 'process_stopped' as const, types: ['end' as const], flags: { snapshot: false, fork: false, exec: false, exit: false } };
  l.enrich(stop);
  clock.ms = 2000;
  const child = ev({ pid: 101, ppid: 100, startSec: 11, name: 'sleep' });
  l.enrich(child);
  assert.equal(child.lineage?.parent, undefined);
});

test('a reused pid: a late child finds the generation that was its parent, not the new process', () => {
  const l = resolver();
  l.enrich(ev(INIT));
  l.enrich(ev({ pid: 200, ppid: 1, startSec: 10, name: 'old-parent', exit: true }));
  l.enrich(ev({ pid: 200, ppid: 1, startSec: 50, name: 'newcomer' }));
  const child = ev({ pid: 300, ppid: 200, startSec: 20, name: 'child' });
  l.enrich(child);
  assert.equal(child.lineage?.parent?.name, 'old-parent');
  assert.equal(child.lineage?.parent?.startBootNs, 10_000_000_000n);
  // A parent that started after the child cannot be its parent.
  const orphan = ev({ pid: 301, ppid: 400, startSec: 20, name: 'orphan' });
  l.enrich(ev({ pid: 400, ppid: 1, startSec: 60, name: 'younger' }));
  l.enrich(orphan);
  assert.equal(orphan.lineage?.parent, undefined);
});

test('the table is bounded: old entries are evicted, lookups fill misses', () => {
  const asked: number[] = [];
  const lookup: ProcessLookup = (pid) => { asked.push(pid); return pid === 7 ? ev({ pid: 7, ppid: 1, startSec: 1, name: 'looked-up' }) : undefined; };
  const l = resolver({ maxEntries: 3, lookups: [lookup] });
  for (let pid = 10; pid < 20; pid++) l.enrich(ev({ pid, ppid: 0, startSec: pid, name: `p${pid}` }));
  assert.ok(l.table.size <= 3, `size ${l.table.size}`);
  const child = ev({ pid: 30, ppid: 7, startSec: 30, name: 'child' });
  l.enrich(child);
  assert.equal(child.lineage?.parent?.name, 'looked-up');
  assert.ok(asked.includes(7));
  const again = asked.length;
  const child2 = ev({ pid: 31, ppid: 8, startSec: 31, name: 'child2' });
  l.enrich(child2);
  l.enrich(ev({ pid: 32, ppid: 8, startSec: 32, name: 'child3' }));
  assert.equal(asked.filter((p) => p === 8).length, 1, 'a miss is remembered briefly, not looked up again');
  assert.ok(asked.length > again);
});

/** Builds a chain of processes and returns the entry type and leader pid of the last one. */
function entryOf(chain: Spec[]): { type: EntryLeaderType | undefined; pid: number | undefined } {
  const l = resolver();
  let last: ProcessEvent | undefined;
  for (const s of chain) {
    last = ev(s);
    l.enrich(last);
  }
  return { type: last?.lineage?.entryLeader?.entryType, pid: last?.lineage?.entryLeader?.pid };
}

test('entry leader types, one chain each', () => {
  const cases: Array<[string, Spec[], EntryLeaderType, number]> = [
    ['pid 1 itself', [INIT], 'init', 1],
    ['a service under init', [INIT, { pid: 50, ppid: 1, startSec: 1, name: 'cron', sid: 50 }, { pid: 51, ppid: 50, startSec: 2, name: 'job', sid: 50 }], 'init', 1],
    ['ssh login', [INIT, { pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 }, { pid: 61, ppid: 60, startSec: 2, name: 'sshd', sid: 60 },
      { pid: 62, ppid: 61, startSec: 3, name: 'bash', sid: 62, tty: PTS }, { pid: 63, ppid: 62, startSec: 4, name: 'ls', sid: 62, tty: PTS }], 'sshd', 62],
    ['OpenSSH 9.8+ sshd-session child', [INIT, { pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 },
      { pid: 61, ppid: 60, startSec: 2, name: 'sshd-session', exe: '/usr/lib/openssh/sshd-session', sid: 60 },
      { pid: 62, ppid: 61, startSec: 3, name: 'bash', sid: 62, tty: PTS }], 'sshd', 62],
    ['ssm', [INIT, { pid: 70, ppid: 1, startSec: 1, name: 'ssm-session-worker', sid: 70 }, { pid: 71, ppid: 70, startSec: 2, name: 'sh', sid: 71, tty: PTS }], 'ssm', 71],
    ['teleport', [INIT, { pid: 72, ppid: 1, startSec: 1, name: 'teleport', sid: 72 }, { pid: 73, ppid: 72, startSec: 2, name: 'bash', sid: 73, tty: PTS }], 'teleport', 73],
    ['kubelet', [INIT, { pid: 74, ppid: 1, startSec: 1, name: 'kubelet', sid: 74 }, { pid: 75, ppid: 74, startSec: 2, name: 'sh', sid: 75 }], 'kubelet', 75],
    ['console login', [INIT, { pid: 80, ppid: 1, startSec: 1, name: 'login', sid: 80, tty: { major: 4, minor: 1 } },
      { pid: 81, ppid: 80, startSec: 2, name: 'bash', sid: 80, tty: { major: 4, minor: 1 } }], 'console', 80],
    ['terminal emulator', [INIT, { pid: 90, ppid: 1, startSec: 1, name: 'gnome-terminal-server', sid: 90 },
      { pid: 91, ppid: 90, startSec: 2, name: 'bash', sid: 91, tty: PTS }, { pid: 92, ppid: 91, startSec: 3, name: 'vim', sid: 91, tty: PTS }], 'terminal', 91],
    ['tmux pane opened from an ssh shell', [INIT, { pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 },
      { pid: 62, ppid: 60, startSec: 3, name: 'bash', sid: 62, tty: PTS }, { pid: 64, ppid: 62, startSec: 4, name: 'tmux', sid: 62, tty: PTS },
      { pid: 65, ppid: 64, startSec: 5, name: 'bash', sid: 65, tty: { major: 136, minor: 9 } }], 'terminal', 65],
    ['sudo with use_pty stays in the ssh session', [INIT, { pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 },
      { pid: 62, ppid: 60, startSec: 3, name: 'bash', sid: 62, tty: PTS }, { pid: 66, ppid: 62, startSec: 4, name: 'sudo', sid: 62, tty: PTS },
      { pid: 67, ppid: 66, startSec: 5, name: 'id', sid: 67, tty: { major: 136, minor: 10 } }], 'sshd', 62],
    ['container init (new pid namespace)', [INIT, { pid: 100, ppid: 1, startSec: 1, name: 'containerd-shim-runc-v2', sid: 100 },
      { pid: 101, ppid: 100, startSec: 2, name: 'nginx', sid: 101, vpid: 1, pidNs: 4026532000 },
      { pid: 102, ppid: 101, startSec: 3, name: 'nginx', sid: 101, vpid: 7, pidNs: 4026532000 }], 'container', 101],
    ['docker exec (parent is runc)', [INIT, { pid: 110, ppid: 1, startSec: 1, name: 'runc', sid: 110 },
      { pid: 111, ppid: 110, startSec: 2, name: 'sh', sid: 110, vpid: 9, pidNs: 4026532000 }], 'container', 111],
    ['a runtime shim is never an entry leader itself', [INIT, { pid: 120, ppid: 1, startSec: 1, name: 'containerd-shim-runc-v2', sid: 120 }], 'init', 1],
  ];
  for (const [name, chain, type, pid] of cases) {
    assert.deepEqual(entryOf(chain), { type, pid }, name);
  }
});

test('an unknown ancestry: type unknown, the oldest ancestor reached, and it is found later', () => {
  const l = resolver();
  const a = ev({ pid: 500, ppid: 499, startSec: 5, name: 'a', sid: 400 });
  l.enrich(a);
  assert.equal(a.lineage?.entryLeader?.entryType, 'unknown');
  assert.equal(a.lineage?.entryLeader?.pid, 500);
  l.enrich(ev(INIT));
  l.enrich(ev({ pid: 499, ppid: 1, startSec: 4, name: 'parent', sid: 400 }));
  const again = ev({ pid: 500, ppid: 499, startSec: 5, name: 'a', sid: 400 });
  l.enrich(again);
  assert.equal(again.lineage?.entryLeader?.entryType, 'init');
});

test('a process seen at fork (still sshd, same session) and again after setsid + exec becomes the sshd entry leader', () => {
  const l = resolver();
  l.enrich(ev(INIT));
  l.enrich(ev({ pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 }));
  const forked = ev({ pid: 61, ppid: 60, startSec: 2, name: 'sshd', sid: 60, exec: false });
  l.enrich(forked);
  assert.equal(forked.lineage?.entryLeader?.entryType, 'init');
  const execd = ev({ pid: 61, ppid: 60, startSec: 2, name: 'bash', sid: 61, tty: PTS });
  l.enrich(execd);
  assert.equal(execd.lineage?.entryLeader?.entryType, 'sshd');
  assert.equal(execd.lineage?.entryLeader?.pid, 61);
});

test('documents: one entity_id per process, as itself, as parent and as leaders; same_as_process', () => {
  const hostId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const e = new Enrichment({ lineage: { maxEntries: 100, graceMs: 30_000 }, lookups: [], perf: new FakeClock() });
  const names = { userName: () => 'root', groupName: () => 'root' };
  const map = (p: ProcessEvent): Fields => { e.apply(p); return processEventToBeatEvent(p, { hostId, names }).fields; };
  map(ev(INIT));
  map(ev({ pid: 60, ppid: 1, startSec: 1, name: 'sshd', sid: 60 }));
  const shell = map(ev({ pid: 62, ppid: 60, startSec: 3, name: 'bash', sid: 62, pgid: 62, tty: PTS }));
  const first = map(ev({ pid: 63, ppid: 62, startSec: 4, name: 'grep', sid: 62, pgid: 63, tty: PTS }));
  const second = map(ev({ pid: 64, ppid: 62, startSec: 4, name: 'wc', sid: 62, pgid: 63, tty: PTS }));
  const idOf = (pid: number, sec: number): string => processEntityId(hostId, pid, BigInt(sec) * 1_000_000_000n);
  assert.equal(get(shell, 'process.entity_id'), idOf(62, 3));
  assert.equal(get(shell, 'process.entry_leader.same_as_process'), true);
  assert.equal(get(shell, 'process.session_leader.same_as_process'), true);
  assert.equal(get(second, 'process.parent.entity_id'), get(shell, 'process.entity_id'));
  assert.equal(get(second, 'process.session_leader.entity_id'), get(shell, 'process.entity_id'));
  assert.equal(get(second, 'process.entry_leader.entity_id'), get(shell, 'process.entity_id'));
  assert.equal(get(second, 'process.group_leader.entity_id'), get(first, 'process.entity_id'));
  assert.equal(get(second, 'process.group_leader.same_as_process'), false);
  assert.equal(get(first, 'process.group_leader.same_as_process'), true);
  assert.equal(get(second, 'process.entry_leader.entry_meta.type'), 'sshd');
  assert.equal(get(second, 'process.entry_leader.parent.entity_id'), idOf(60, 1));
  assert.equal(get(second, 'process.entry_leader.parent.pid'), 60);
  assert.equal(get(second, 'process.entry_leader.interactive'), true);
  assert.equal(get(second, 'process.entry_leader.user.name'), 'root');
});
