import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeTtyNr, isKernelThread, parseCgroup, parseCmdline, parseExeLink, parseNsLink, parseStat, parseStatKey, parseStatus, PF_KTHREAD,
} from '../../modules/system/process/backends/procfs/parse.js';
import { startTimeFromTicks } from '../../modules/system/process/backends/procfs/boot.js';

const tail = (ppid: number, flags: number, start: number) =>
  ` S ${ppid} 100 100 34816 100 ${flags} 1 0 0 0 0 0 0 0 20 0 1 0 ${start} 8069120 1243 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

test('stat: comm with ")", spaces, a newline and invalid UTF-8 is cut at the last ")"', () => {
  const buf = Buffer.concat([Buffer.from('321 ('), Buffer.from([0x61, 0x29, 0x0a, 0xff, 0x20, 0x28, 0x62]), Buffer.from(')'), Buffer.from(tail(7, 0x400000, 98765))]);
  const s = parseStat(buf)!;
  assert.equal(s.pid, 321);
  assert.equal(s.comm, 'a)\n\uFFFD (b');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 7);
  assert.equal(s.pgid, 100);
  assert.equal(s.sid, 100);
  assert.equal(s.ttyNr, 34816);
  assert.equal(s.startTicks, 98765n);
  const k = parseStatKey(buf, 321)!;
  assert.equal(k.startTicks, 98765n);
  assert.equal(k.kernelThread, false);
});

test('stat: truncated or garbage input gives undefined, never a throw', () => {
  for (const text of ['', '12', '12 (x', '12 (x) S 1 2', 'garbage)']) {
    assert.equal(parseStat(Buffer.from(text)), undefined, JSON.stringify(text));
    assert.equal(parseStatKey(Buffer.from(text), 12), undefined, JSON.stringify(text));
  }
});

test('kernel threads: PF_KTHREAD, pid 2 or a child of pid 2', () => {
  assert.equal(isKernelThread(50, 2, 0), true);
  assert.equal(isKernelThread(2, 0, 0), true);
  assert.equal(isKernelThread(50, 1, PF_KTHREAD), true);
  assert.equal(isKernelThread(50, 1, 0x400000), false);
  assert.equal(parseStatKey(Buffer.from(`9 (kworker/0:1)${tail(2, 0x4208060, 5)}`), 9)!.kernelThread, true);
});

test('cmdline: NUL separated, a missing final NUL, no NUL at all, empty arguments', () => {
  assert.deepEqual(parseCmdline(Buffer.from('a\0b c\0')), ['a', 'b c']);
  assert.deepEqual(parseCmdline(Buffer.from('a\0b')), ['a', 'b']);
  assert.deepEqual(parseCmdline(Buffer.from('one long title')), ['one long title']);
  assert.deepEqual(parseCmdline(Buffer.from('a\0\0b\0')), ['a', '', 'b']);
  assert.deepEqual(parseCmdline(Buffer.from('x\0\0')), ['x', '']);
  assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
  assert.deepEqual(parseCmdline(Buffer.from([0xff, 0x00])), ['\uFFFD']);
});

test('status: ids, capability masks, NSpid', () => {
  const s = parseStatus('Name:\ta\\nb\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\nGroups:\t4 27 \nNSpid:\t4242\t7\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000200000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000001000\n');
  assert.deepEqual(s.uid, [1000, 1001, 1002, 1003]);
  assert.deepEqual(s.gid, [5, 6, 7, 8]);
  assert.deepEqual(s.groups, [4, 27]);
  assert.deepEqual(s.nsPid, [4242, 7]);
  assert.equal(s.capEff, 1n << 21n);
  assert.equal(s.capPrm, (1n << 41n) - 1n);
  assert.equal(s.capAmb, 1n << 12n);
  assert.deepEqual(parseStatus('garbage\n\n:::'), {});
});

test('tty_nr, namespaces, cgroup, exe links', () => {
  assert.deepEqual(decodeTtyNr(34816), { major: 136, minor: 0 });
  assert.deepEqual(decodeTtyNr((136 << 8) | 5 | (3 << 20)), { major: 136, minor: 0x305 });
  assert.deepEqual(decodeTtyNr(0), { major: 0, minor: 0 });
  assert.equal(parseNsLink('mnt:[4026531841]'), 4026531841);
  assert.equal(parseNsLink('weird'), undefined);
  assert.equal(parseCgroup('0::/system.slice/ssh.service\n'), '/system.slice/ssh.service');
  assert.equal(parseCgroup('12:pids:/user.slice\n11:memory:/user.slice/x\n'), '/user.slice');
  assert.equal(parseCgroup('12:pids:/a\n0::/b\n'), '/b');
  assert.deepEqual(parseExeLink('/usr/bin/x (deleted)'), { path: '/usr/bin/x', unlinked: true, fromMemfd: false });
  assert.deepEqual(parseExeLink('/memfd:payload (deleted)'), { path: '/memfd:payload', unlinked: true, fromMemfd: true });
});

test('start ticks become wall clock and boot nanoseconds', () => {
  const s = startTimeFromTicks(12345n, 1_700_000_000_000, 100);
  assert.equal(s.bootNs, 123_450_000_000n);
  assert.equal(s.wall.toISOString(), new Date(1_700_000_000_000 + 123_450).toISOString());
});
