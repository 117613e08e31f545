import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CAPABILITY_NAMES, capabilityNames, isInteractiveTty, processEntityId, processEventToBeatEvent } from '../../modules/system/process/ecs/index.js';
import { UserNames, type NameResolver } from '../../modules/system/process/enrich/user-names.js';
import type { ProcessAction, ProcessEvent } from '../../modules/system/process/event.js';
import { fullKernelEvent } from './ecs-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'procbeat-ecs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const names: NameResolver = {
  userName: (uid) => ({ 0: 'root', 1000: 'alice' } as Record<number, string>)[uid],
  groupName: (gid) => ({ 0: 'root', 1000: 'staff' } as Record<number, string>)[gid],
};
const HOST = 'host-id-1';
const map = (ev: ProcessEvent, backendName?: string) =>
  processEventToBeatEvent(ev, { hostId: HOST, names, ...(backendName ? { backendName } : {}) }).fields as Record<string, any>;

test('a complete kernel record maps every field (reference spec §2)', () => {
  const ev = fullKernelEvent();
  const out = processEventToBeatEvent(ev, { hostId: HOST, names, backendName: 'ebpf' });
  assert.equal(out.timestamp.toISOString(), '2025-01-02T03:04:05.678Z');
  const d = out.fields as Record<string, any>;
  assert.deepEqual(d.event, { kind: 'event', category: ['process'], type: ['start', 'change', 'end'], action: 'process_ran', module: 'system', dataset: 'process' });
  assert.deepEqual(d.service, { type: 'system' });
  assert.equal(d.message, 'Process true (PID: 4242) by user root RAN');
  const p = d.process;
  assert.equal(p.pid, 4242);
  assert.equal(p.name, 'true');
  assert.equal(p.executable, '/usr/bin/true');
  assert.deepEqual(p.args, ['/usr/bin/true', '--x']);
  assert.equal(p.args_count, 2);
  assert.equal(p.working_directory, '/tmp');
  assert.equal(p.exit_code, 137);
  assert.equal(p.end, '2025-01-02T03:04:05.670Z');
  assert.equal(p.start, '2025-01-02T03:04:05.600Z');
  assert.equal(p.parent.pid, 4000);
  assert.equal(p.thread.id, 4242);
  assert.equal(p.vpid, 7);
  assert.equal(p.group_leader.pid, 4242);
  assert.equal(p.session_leader.pid, 3999);
  assert.equal(p.interactive, true);
  assert.deepEqual(p.tty, { char_device: { major: 136, minor: 3 } });
  assert.deepEqual(p.thread.capabilities.effective, ['CAP_ALL'], 'every capability set reads as CAP_ALL, as Auditbeat writes it');
  assert.deepEqual(p.thread.capabilities.permitted, ['CAP_SYS_ADMIN']);
  assert.deepEqual(p.previous, [{ executable: '/bin/sh', args: ['sh', '-c', 'exec /usr/bin/true --x'], args_count: 3 }]);
  assert.equal(p.hash.sha1, 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  assert.equal(p.entity_id, processEntityId(HOST, 4242, 123_456_789_000n));
  assert.deepEqual(d.user, {
    id: '0', name: 'root', group: { id: '0', name: 'root' },
    effective: { id: '0', name: 'root', group: { id: '0', name: 'root' } },
    saved: { id: '0', name: 'root', group: { id: '0', name: 'root' } },
  });
  const x = d.procbeat.process;
  assert.equal(x.backend, 'ebpf');
  assert.deepEqual(x.exit, { signal: 9, core_dumped: false, raw_status: 9 });
  assert.equal(x.args_truncated, true);
  assert.equal(x.args_original_bytes, 40000);
  assert.equal(x.cgroup.path, '/system.slice/ssh.service');
  assert.equal(x.namespaces.mnt, 4026531841);
  assert.deepEqual(x.creds, { fsuid: '0', fsgid: '0' });
  assert.deepEqual(x.capabilities.inheritable, []);
  assert.deepEqual(x.capabilities.ambient, ['CAP_NET_ADMIN']);
  assert.equal(x.exe.inode, 131090);
  assert.equal(x.exe.mode, 0o100755);
  assert.equal(x.exe.ctime, '2024-05-01T00:00:00.000Z');
  assert.deepEqual(x.exec, { setuid: false, setgid: false });
  assert.equal(x.old_pid, 4243);
  assert.equal(x.pidns_init_start, '2025-01-01T00:00:00.000Z');
});

test('an incomplete kernel record carries only the always-fields', () => {
  const ev = { ...fullKernelEvent(), complete: false };
  const d = map(ev);
  assert.deepEqual(Object.keys(d.process).sort(), ['args', 'args_count', 'command_line', 'executable', 'exit_code', 'name', 'pid', 'working_directory']);
  assert.equal(d.user, undefined);
  assert.equal(d.event.action, 'process_ran');
  assert.equal(d.message, 'Process true (PID: 4242) RAN', 'no user name without credentials');
  assert.deepEqual(Object.keys(d.procbeat.process).sort(), ['args_original_bytes', 'args_truncated', 'backend', 'exit']);
});

test('message verbs and the error form', () => {
  const base = fullKernelEvent();
  const verbs: [ProcessAction, string][] = [
    ['existing_process', 'is RUNNING'], ['process_started', 'STARTED'], ['process_stopped', 'STOPPED'],
    ['process_ran', 'RAN'], ['process_changed_image', 'CHANGED IMAGE'],
  ];
  for (const [action, verb] of verbs) assert.equal(map({ ...base, action }).message, `Process true (PID: 4242) by user root ${verb}`);
  const unknownUser = { ...base, creds: { ...base.creds!, uid: 4321 } };
  assert.equal(map(unknownUser).message, 'Process true (PID: 4242) RAN');
  assert.equal(map(unknownUser).user.name, undefined, 'omitted when the lookup fails');
  assert.equal(map(unknownUser).user.id, '4321');
  const failed = map({ ...base, errors: ['failed to hash executable /usr/bin/true for PID 4242: size 5 exceeds max file size'] });
  assert.equal(failed.message, 'ERROR for PID 4242: failed to hash executable /usr/bin/true for PID 4242: size 5 exceeds max file size');
  assert.equal(failed.error.message, 'failed to hash executable /usr/bin/true for PID 4242: size 5 exceeds max file size');
});

test('event.kind: state only for procfs state reports; the kernel snapshot is an event', () => {
  const snap = { ...fullKernelEvent(), action: 'existing_process' as const, types: ['info' as const], flags: { snapshot: true, fork: false, exec: false, exit: false } };
  assert.equal(map(snap).event.kind, 'event');
  assert.equal(map({ ...snap, backend: 'procfs', reportId: 'r-1' }).event.kind, 'state');
  assert.equal(map({ ...snap, backend: 'procfs', reportId: 'r-1' }).event.id, 'r-1');
});

test('entity_id: sha256(host id, pid LE int64, start boot ns LE int64), 12 bytes, unpadded base64', () => {
  const bytes = Buffer.concat([Buffer.from('host-id-1'), Buffer.from([0x92, 0x10, 0, 0, 0, 0, 0, 0]), Buffer.from('0807060504030201', 'hex')]);
  const expected = createHash('sha256').update(bytes).digest().subarray(0, 12).toString('base64');
  assert.equal(processEntityId('host-id-1', 0x1092, 0x0102030405060708n), expected);
  assert.equal(expected.length, 16);
  assert.notEqual(processEntityId('host-id-1', 0x1092, 0x0102030405060709n), expected, 'a reused pid gets another id');
  const noHost = processEventToBeatEvent(fullKernelEvent(), { hostId: '', names }).fields as Record<string, any>;
  assert.equal(noHost.process.entity_id, undefined, 'no host id, no entity id');
});

test('capability names: all 41, CAP_CHECKPOINT_RESTORE is 40, unknown bits keep their number', () => {
  assert.equal(CAPABILITY_NAMES.length, 41);
  assert.equal(CAPABILITY_NAMES[40], 'CAP_CHECKPOINT_RESTORE');
  assert.deepEqual(capabilityNames((1n << 40n) | 1n | (1n << 45n)), ['CAP_CHOWN', 'CAP_CHECKPOINT_RESTORE', 'CAP_45']);
  assert.deepEqual(capabilityNames(0n), []);
});

test('interactive: pts majors 136-143 and tty major 4 minors 0-255; no char_device without a tty', () => {
  assert.equal(isInteractiveTty({ major: 136, minor: 0 }), true);
  assert.equal(isInteractiveTty({ major: 143, minor: 9 }), true);
  assert.equal(isInteractiveTty({ major: 4, minor: 1 }), true);
  assert.equal(isInteractiveTty({ major: 4, minor: 255 }), true);
  assert.equal(isInteractiveTty({ major: 4, minor: 256 }), false);
  assert.equal(isInteractiveTty({ major: 5, minor: 0 }), false);
  assert.equal(isInteractiveTty({ major: 0, minor: 0 }), false);
  const d = map({ ...fullKernelEvent(), tty: { major: 0, minor: 0 } });
  assert.equal(d.process.interactive, false);
  assert.equal(d.process.tty, undefined);
});

test('user and group names come from passwd/group files, cached and bounded', () => {
  const passwd = join(tmp, 'passwd');
  const group = join(tmp, 'group');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n');
  writeFileSync(group, 'root:x:0:\nstaff:x:1000:alice\n');
  const n = new UserNames({ passwdPath: passwd, groupPath: group, maxEntries: 2 });
  assert.equal(n.userName(1000), 'alice');
  assert.equal(n.userName(0), 'root');
  assert.equal(n.groupName(1000), 'staff');
  assert.equal(new UserNames({ passwdPath: passwd, groupPath: group }).userName(5), undefined);
  // Cached: a rename shows up only after eviction or expiry.
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n');
  assert.equal(n.userName(1000), 'alice');
  n.userName(7); n.userName(8); // max 2 entries: 1000 is evicted
  assert.equal(n.userName(1000), 'bob');
  const missing = new UserNames({ passwdPath: join(tmp, 'nope'), groupPath: join(tmp, 'nope') });
  assert.equal(missing.userName(0), undefined);
});
