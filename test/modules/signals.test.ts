/**
 * The signal rules on their own: container ids from each runtime's cgroup path shapes, the
 * writable-by-user check, and the privilege signals from an exec record or from /proc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerFromCgroup, execPrivilegeSignals, inferredPrivilegeSignals, writableByUser, driftSignals,
} from '../../modules/system/process/enrich/signals/index.js';
import type { Credentials } from '../../modules/system/process/event.js';

const ID = '3f4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778a';
const ID2 = 'aa'.repeat(32);

test('container id and runtime from each runtime\'s cgroup path', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    // docker, cgroupfs driver (v1 and v2 with cgroupns=host) and systemd driver
    [`/docker/${ID}`, ID, 'docker'],
    [`/system.slice/docker-${ID}.scope`, ID, 'docker'],
    // containerd / CRI under Kubernetes, systemd driver; cgroupfs driver (runtime unknown)
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-${ID}.scope`, ID, 'containerd'],
    [`/kubepods/besteffort/pod0b1c2d3e-0000-1111-2222-333344445555/${ID}`, ID, undefined],
    // cri-o, with its conmon monitor scope (outside the container) skipped
    [`/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope`, ID, 'cri-o'],
    [`/kubepods.slice/kubepods-pod1.slice/crio-conmon-${ID}.scope`, undefined, undefined],
    // podman: systemd driver, the nested "container" cgroup of a systemd container, cgroupfs driver
    [`/machine.slice/libpod-${ID}.scope`, ID, 'podman'],
    [`/machine.slice/libpod-${ID}.scope/container`, ID, 'podman'],
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, ID, 'podman'],
    [`/libpod_parent/libpod-${ID}`, ID, 'podman'],
    [`/machine.slice/libpod-conmon-${ID}.scope`, undefined, undefined],
    // LXC / Incus payload
    ['/lxc.payload.web01', 'web01', 'lxc'],
    ['/lxc.monitor.web01', undefined, undefined],
    // nested: the innermost container is the process's own
    [`/docker/${ID}/docker/${ID2}`, ID2, 'docker'],
    // host cgroups
    ['/', undefined, undefined],
    ['/user.slice/user-0.slice/session-3.scope', undefined, undefined],
    ['/system.slice/ssh.service', undefined, undefined],
    ['/system.slice/docker.service', undefined, undefined],
    [`/system.slice/docker-${ID.slice(0, 12)}.scope`, undefined, undefined],
  ];
  for (const [path, id, runtime] of cases) {
    const got = containerFromCgroup(path);
    assert.equal(got?.id, id, path);
    assert.equal(got?.runtime, runtime, path);
  }
});

const user = (uid: number, gid: number, extra: Partial<Credentials> = {}): Credentials =>
  ({ uid, gid, euid: uid, egid: gid, suid: uid, sgid: gid, ...extra });
const file = (mode: number, uid: number, gid: number) => ({ mode: 0o100000 | mode, uid, gid });

test('writable by the process\'s user: owner, group and other classes as the kernel checks them; root always', () => {
  assert.equal(writableByUser(file(0o755, 0, 0), user(0, 0)), true, 'root');
  assert.equal(writableByUser(file(0o755, 0, 0), user(1000, 1000)), false, 'a system binary');
  assert.equal(writableByUser(file(0o755, 1000, 1000), user(1000, 1000)), true, 'own file with u+w');
  assert.equal(writableByUser(file(0o555, 1000, 1000), user(1000, 1000)), false, 'own file without u+w');
  assert.equal(writableByUser(file(0o575, 1000, 50), user(1000, 50)), false, 'the owner class decides for the owner');
  assert.equal(writableByUser(file(0o775, 0, 50), user(1000, 1000, { supplementalGids: [50] })), true, 'group via a supplementary group');
  assert.equal(writableByUser(file(0o757, 0, 0), user(1000, 1000)), true, 'world-writable');
  assert.equal(writableByUser(file(0o755, 0, 0), user(1000, 1000, { euid: 0 })), true, 'effective root (setuid)');
  assert.equal(writableByUser({ mode: 0o100755 }, user(1000, 1000)), undefined, 'owner unknown');
});

test('drift durations are measured to the exec; negative when the file changed afterwards', () => {
  const exec = new Date('2025-01-01T00:00:10.000Z');
  const d = driftSignals({ ctime: new Date('2025-01-01T00:00:09.250Z'), mtime: new Date('2025-01-01T00:00:05.000Z') }, undefined, exec);
  assert.equal(d.ctimeToExecMs, 750);
  assert.equal(d.mtimeToExecMs, 5000);
  assert.equal(driftSignals({ ctime: new Date('2025-01-01T00:00:11.000Z') }, undefined, exec).ctimeToExecMs, -1000);
  assert.equal(driftSignals({ ctime: new Date(0) }, undefined, undefined).ctimeToExecMs, undefined);
});

test('privilege signals: from the exec record, and inferred from /proc', () => {
  const asNobodyGotRoot = user(65534, 65534, { euid: 0, suid: 0 });
  assert.deepEqual(execPrivilegeSignals({ setuid: true, setgid: false, privilegesChanged: true }, asNobodyGotRoot),
    { privilegesChanged: true, euidGained: 0, fileCapabilities: false });
  assert.deepEqual(execPrivilegeSignals({ setuid: false, setgid: false, privilegesChanged: true }, user(1000, 1000)),
    { privilegesChanged: true, fileCapabilities: true });
  assert.deepEqual(execPrivilegeSignals({ setuid: false, setgid: true }, user(1000, 1000, { egid: 42 })),
    { privilegesChanged: true, egidGained: 42 });
  assert.equal(execPrivilegeSignals({ inode: 5 }, user(0, 0)), undefined, 'not an exec record');

  const inferred = inferredPrivilegeSignals(file(0o4755, 0, 0), asNobodyGotRoot);
  assert.deepEqual(inferred, { setuid: true, setgid: false, signals: { privilegesChanged: true, inferred: true, euidGained: 0 } });
  assert.equal(inferredPrivilegeSignals(file(0o4755, 0, 0), user(0, 0))?.setuid, false, 'root running a setuid-root file gains nothing');
  assert.equal(inferredPrivilegeSignals(file(0o755, 0, 0), asNobodyGotRoot)?.setuid, false, 'no set-id bit');
  // A setuid program that dropped its effective id still holds it as the saved id.
  assert.equal(inferredPrivilegeSignals(file(0o4755, 0, 0), user(1000, 1000, { suid: 0 }))?.setuid, true);
  assert.equal(inferredPrivilegeSignals(file(0o2755, 0, 42), user(1000, 1000, { egid: 42 }))?.setgid, true);
});
