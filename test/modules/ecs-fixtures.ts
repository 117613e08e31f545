/** A kernel_tracing-like ProcessEvent with every field set, for mapping and fields.yml tests. */
import type { ProcessEvent } from '../../modules/system/process/event.js';

export function fullKernelEvent(): ProcessEvent {
  return {
    backend: 'kernel_tracing',
    action: 'process_ran',
    types: ['start', 'change', 'end'],
    flags: { snapshot: false, fork: true, exec: true, exit: true },
    time: new Date('2025-01-02T03:04:05.678Z'),
    pid: 4242,
    tid: 4242,
    ppid: 4000,
    vpid: 7,
    pgid: 4242,
    sid: 3999,
    oldPid: 4243,
    name: 'true',
    executable: '/usr/bin/true',
    args: ['/usr/bin/true', '--x'],
    argsTruncated: true,
    argsOriginalBytes: 40000,
    cwd: '/tmp',
    start: new Date('2025-01-02T03:04:05.600Z'),
    startBootNs: 123_456_789_000n,
    creds: { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0 },
    caps: { effective: (1n << 41n) - 1n, permitted: 1n << 21n, inheritable: 0n, bounding: (1n << 41n) - 1n, ambient: 1n << 12n },
    tty: { major: 136, minor: 3 },
    exit: { code: 137, signal: 9, coreDumped: false, rawStatus: 9, time: new Date('2025-01-02T03:04:05.670Z') },
    cgroup: '/system.slice/ssh.service',
    namespaces: { pid: 4026531836, mnt: 4026531841, net: 4026531840, uts: 4026531838, ipc: 4026531839, user: 4026531837, cgroup: 4026531835 },
    exe: {
      dev: 2049, inode: 131090, nlink: 1, mode: 0o100755,
      ctime: new Date('2024-05-01T00:00:00.000Z'), mtime: new Date('2024-04-01T00:00:00.000Z'),
      fromMemfd: false, unlinked: false, setuid: false, setgid: false,
    },
    pidnsInitStart: new Date('2025-01-01T00:00:00.000Z'),
    previous: [{ executable: '/bin/sh', args: ['sh', '-c', 'exec /usr/bin/true --x'] }],
    hashes: { sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    complete: true,
  };
}
