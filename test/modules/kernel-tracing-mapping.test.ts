/**
 * quark-ffi records -> ProcessEvent -> ECS document, without the kernel: the flag table of
 * the reference spec §2, exit codes and signals, boot-clock times, kernel-only fields, the
 * kernel-thread filter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFromFlags } from '../../modules/system/process/backends/kernel_tracing/actions.js';
import {
  bootNsToDate, isKernelThread, makedev, recordToProcessEvent, startTickNs,
} from '../../modules/system/process/backends/kernel_tracing/record-to-event.js';
import { processEventToBeatEvent } from '../../modules/system/process/ecs/to-beat-event.js';
import type { ProcessRecord } from '../../quark-ffi/ts/record.js';

const BOOT = 1_700_000_000_000_000_000n; // 2023-11-14T22:13:20Z

function record(over: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    flags: { fork: true, exec: true, exit: true, snapshot: false, lookup: false, complete: true, coreDumped: false },
    rawFlags: 0x27, rawValid: 0, source: 'ebpf', bootWallNs: BOOT, previous: [],
    ids: { pid: 4242, tid: 4242, ppid: 100, vpid: 4242, pgid: 100, sid: 50, startNs: 5_000_123_456n },
    creds: { uid: 1000, gid: 1000, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0 },
    caps: { effective: 1n << 21n, permitted: (1n << 21n) | 1n, inheritable: 0n, bounding: (1n << 41n) - 1n, ambient: 0n },
    tty: { major: 136, minor: 3 },
    exit: { status: 3 << 8, code: 3, signal: 0, timeNs: 5_002_000_000n },
    forkTimeNs: 5_000_200_000n,
    execTimeNs: 5_001_000_000n,
    namespaces: { pid: 4026531836, mnt: 4026531832, net: 4026531833, uts: 4026531838, ipc: 4026531839, user: 4026531837, cgroup: 4026531835 },
    pidnsInitStartNs: 260_000_000n,
    exeFile: {
      nlink: 0, devMajor: 254, devMinor: 1, ino: 123456n, mode: 0o104755, uid: 0, gid: 0, size: 35664n,
      ctimeNs: 1_663_687_647_000_000_000n, mtimeNs: 1_663_687_646_500_000_000n, memfd: true, unlinked: true,
    },
    execPriv: { setuid: true, setgid: false, privChanged: true },
    argc: 2,
    comm: { value: 'true', truncated: false, originalLength: 4 },
    exe: { value: '/usr/bin/true', truncated: false, originalLength: 13 },
    argv: { args: ['/bin/true', 'x'], truncated: false, originalLength: 12 },
    cwd: { value: '/tmp', truncated: false, originalLength: 4 },
    cgroup: { value: '/user.slice', truncated: false, originalLength: 11 },
    ...over,
  };
}

const names = { userName: (id: number) => (id === 0 ? 'root' : undefined), groupName: (id: number) => (id === 0 ? 'root' : undefined) };
const toDoc = (rec: ProcessRecord): Record<string, unknown> => {
  const ev = recordToProcessEvent(rec, 100);
  assert.ok(ev);
  return processEventToBeatEvent(ev, { hostId: 'host-1', names, backendName: 'ebpf' }).fields as Record<string, unknown>;
};
const get = (doc: Record<string, unknown>, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);

test('the flag table of the reference spec', () => {
  const f = (snapshot: boolean, fork: boolean, exec: boolean, exit: boolean) => actionFromFlags({ snapshot, fork, exec, exit });
  assert.deepEqual(f(true, false, false, false), { action: 'existing_process', types: ['info'] });
  assert.deepEqual(f(false, true, true, true), { action: 'process_ran', types: ['start', 'change', 'end'] });
  assert.deepEqual(f(false, true, false, true), { action: 'process_ran', types: ['start', 'end'] });
  assert.deepEqual(f(false, true, true, false), { action: 'process_started', types: ['start', 'change'] });
  assert.deepEqual(f(false, true, false, false), { action: 'process_started', types: ['start'] });
  assert.deepEqual(f(false, false, true, true), { action: 'process_stopped', types: ['change', 'end'] });
  assert.deepEqual(f(false, false, false, true), { action: 'process_stopped', types: ['end'] });
  assert.deepEqual(f(false, false, true, false), { action: 'process_changed_image', types: ['change'] });
  assert.deepEqual(f(false, false, false, false), { action: 'process_error', types: [] });
});

test('a complete fork+exec+exit record becomes a process_ran document with every field', () => {
  const doc = toDoc(record());
  assert.equal(get(doc, 'event.action'), 'process_ran');
  assert.equal(get(doc, 'event.kind'), 'event');
  assert.equal(get(doc, 'process.pid'), 4242);
  assert.equal(get(doc, 'process.parent.pid'), 100);
  assert.equal(get(doc, 'process.executable'), '/usr/bin/true');
  assert.deepEqual(get(doc, 'process.args'), ['/bin/true', 'x']);
  assert.equal(get(doc, 'process.exit_code'), 3);
  assert.equal(get(doc, 'procbeat.process.exit.signal'), undefined);
  assert.equal(get(doc, 'process.start'), new Date(Number((BOOT + 5_000_123_456n) / 1_000_000n)).toISOString());
  assert.equal(get(doc, 'process.end'), '2023-11-14T22:13:25.002Z');
  assert.equal(get(doc, 'process.interactive'), true);
  assert.equal(get(doc, 'process.tty.char_device.major'), 136);
  assert.deepEqual(get(doc, 'process.thread.capabilities.effective'), ['CAP_SYS_ADMIN']);
  assert.equal(get(doc, 'user.id'), '1000');
  assert.equal(get(doc, 'user.effective.name'), 'root');
  assert.equal(get(doc, 'procbeat.process.exe.inode'), 123456);
  assert.equal(get(doc, 'procbeat.process.exe.dev'), 254 * 256 + 1);
  assert.equal(get(doc, 'procbeat.process.exe.from_memfd'), true);
  assert.equal(get(doc, 'procbeat.process.exe.unlinked'), true);
  assert.equal(get(doc, 'procbeat.process.exe.ctime'), '2022-09-20T15:27:27.000Z');
  assert.equal(get(doc, 'procbeat.process.exec.setuid'), true);
  assert.equal(get(doc, 'procbeat.process.namespaces.mnt'), 4026531832);
  assert.equal(get(doc, 'procbeat.process.cgroup.path'), '/user.slice');
  assert.equal(typeof get(doc, 'process.entity_id'), 'string');
});

test('a signal death: exit code 128 + signal, the signal kept', () => {
  const doc = toDoc(record({ exit: { status: 9, code: -1, signal: 9, timeNs: 5_002_000_000n } }));
  assert.equal(get(doc, 'process.exit_code'), 137);
  assert.equal(get(doc, 'procbeat.process.exit.signal'), 9);
  assert.equal(get(doc, 'procbeat.process.exit.raw_status'), 9);
});

test('an incomplete record keeps only the always-fields', () => {
  const doc = toDoc(record({ flags: { fork: false, exec: false, exit: true, snapshot: false, lookup: false, complete: false, coreDumped: false } }));
  assert.equal(get(doc, 'event.action'), 'process_stopped');
  assert.equal(get(doc, 'process.exit_code'), 3);
  assert.equal(get(doc, 'process.parent'), undefined);
  assert.equal(get(doc, 'user'), undefined);
});

test('exec without fork keeps the earlier image as process.previous', () => {
  const doc = toDoc(record({
    flags: { fork: false, exec: true, exit: false, snapshot: false, lookup: false, complete: true, coreDumped: false },
    previous: [{ flags: { fork: true, exec: false, snapshot: false }, pid: 4242, argc: 3, exeDevMajor: 0, exeDevMinor: 0,
      exe: { value: '/usr/bin/dash', truncated: false }, argv: { args: ['sh', '-c', 'exec /bin/true'], truncated: false, originalLength: 20 } }],
  }));
  assert.equal(get(doc, 'event.action'), 'process_changed_image');
  assert.deepEqual(get(doc, 'process.previous'), [{ executable: '/usr/bin/dash', args: ['sh', '-c', 'exec /bin/true'], args_count: 3 }]);
});

test('truncated argv is flagged with its original size', () => {
  const doc = toDoc(record({ argv: { args: ['/bin/echo', 'aaaa'], truncated: true, originalLength: 200_000 } }));
  assert.equal(get(doc, 'procbeat.process.args_truncated'), true);
  assert.equal(get(doc, 'procbeat.process.args_original_bytes'), 200_000);
});

test('snapshot records: existing_process, event.kind event', () => {
  const doc = toDoc(record({ flags: { fork: false, exec: false, exit: false, snapshot: true, lookup: false, complete: true, coreDumped: false }, exit: undefined }));
  assert.equal(get(doc, 'event.action'), 'existing_process');
  assert.deepEqual(get(doc, 'event.type'), ['info']);
  assert.equal(get(doc, 'event.kind'), 'event');
});

test('helpers: boot clock, tick flooring, makedev, kernel threads, records without ids', () => {
  assert.equal(bootNsToDate(1_500_000n, 1_000_000_000_000n).getTime(), 1_000_001);
  assert.equal(startTickNs(5_000_123_456n, 100), 5_000_000_000n);
  assert.equal(makedev(8, 1), 2049);
  assert.equal(makedev(259, 65536), 259 * 256 + 65536 * 4096);
  assert.equal(isKernelThread({ pid: 2, ppid: 0 }), true);
  assert.equal(isKernelThread({ pid: 77, ppid: 2 }), true);
  assert.equal(isKernelThread({ pid: 77, ppid: 1 }), false);
  assert.equal(recordToProcessEvent(record({ ids: undefined }), 100), undefined);
});
