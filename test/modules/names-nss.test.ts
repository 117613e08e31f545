/**
 * Issue 11 item 2: user and group names come from the system's name service, not only from
 * /etc/passwd and /etc/group. The user below exists only in libnss-extrausers' files, in a
 * private mount namespace, so the host's files are never changed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserNames } from '../../modules/system/process/enrich/user-names.js';
import { makeContext } from './context.js';

const UID = 42424;
const GID = 42425;

/** Installs libnss-extrausers when missing (root with apt-get); the reason when it cannot. */
function extrausersMissing(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (mount namespace, setpriv)';
  for (const tool of ['/usr/bin/unshare', '/usr/bin/setpriv', '/usr/bin/sleep']) if (!existsSync(tool)) return `${tool} is not installed`;
  const lib = ['/usr/lib/libnss_extrausers.so.2', '/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2', '/lib/x86_64-linux-gnu/libnss_extrausers.so.2'];
  if (lib.some((p) => existsSync(p))) return undefined;
  try {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libnss-extrausers'], { stdio: 'ignore', timeout: 300_000 });
  } catch (err) {
    return `cannot install libnss-extrausers: ${err instanceof Error ? err.message : String(err)}`;
  }
  return lib.some((p) => existsSync(p)) ? undefined : 'libnss-extrausers installed no library where expected';
}

test('item 2: a user known only to an NSS source (extrausers) gets user.name and user.group.name', async (t) => {
  const why = extrausersMissing();
  if (why !== undefined) { t.skip(why); return; }
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-nss-'));
  try {
    mkdirSync(join(dir, 'extrausers'));
    writeFileSync(join(dir, 'nsswitch.conf'), 'passwd: files extrausers\ngroup: files extrausers\nshadow: files\n');
    writeFileSync(join(dir, 'extrausers', 'passwd'), `ldapdora:x:${UID}:${GID}:Dora:/nonexistent:/usr/sbin/nologin\n`);
    writeFileSync(join(dir, 'extrausers', 'group'), `ldapstaff:x:${GID}:\n`);
    mkdirSync('/var/lib/extrausers', { recursive: true });
    const child = new URL('./nss-child.js', import.meta.url).pathname;
    const script = [
      `mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf`,
      `mount --bind ${dir}/extrausers /var/lib/extrausers`,
      `exec "${process.execPath}" "${child}" ${UID} ${GID}`,
    ].join(' && ');
    const out = await new Promise<string>((res, rej) => {
      const c = spawn('/usr/bin/unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
        stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROCBEAT_NSS_CHILD: '1' },
      });
      let o = '';
      let e = '';
      c.stdout.on('data', (b: Buffer) => { o += b.toString(); });
      c.stderr.on('data', (b: Buffer) => { e += b.toString(); });
      c.on('exit', (code) => (code === 0 ? res(o) : rej(new Error(`child exited ${code}: ${e}`))));
    });
    const r = JSON.parse(out) as { first: any; second: any; metrics: Record<string, number> };
    assert.equal(r.first?.id, String(UID), 'the first process is reported');
    assert.deepEqual(r.second, { action: 'process_started', id: String(UID), name: 'ldapdora', group: 'ldapstaff' }, 'later events carry the names');
    assert.equal(r.first.name, null, 'the first event does not wait for the name service');
    assert.ok(r.metrics['names.pending_shipped']! >= 1, 'and shipping it without the name is counted');
    assert.ok(r.metrics['names.resolved']! >= 2, 'user and group resolved through NSS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a slow name service never holds an event; its answer fills later events; lookups are bounded', async () => {
  const t = makeContext();
  const ns = t.metrics.namespace('system.process');
  const release: Array<() => void> = [];
  const names = new UserNames({
    passwdPath: '/nonexistent', groupPath: '/nonexistent', maxPending: 2, metrics: ns,
    nameService: (kind, id) => new Promise((res) => { release.push(() => res(id === 7 ? `${kind}-seven` : undefined)); }),
  });
  assert.equal(names.userName(7), undefined, 'not waited for');
  assert.equal(names.userName(7), undefined, 'still pending: no second lookup');
  assert.equal(names.userName(8), undefined);
  assert.equal(names.userName(9), undefined, 'a third id waits for a free slot');
  assert.equal(ns.get('names.lookups'), 2);
  assert.equal(ns.get('names.deferred'), 1);
  assert.equal(ns.get('names.pending_shipped'), 4);
  for (const r of release.splice(0)) r();
  await names.settled();
  assert.equal(names.userName(7), 'user-seven');
  assert.equal(names.userName(8), undefined, 'unknown to the name service');
  assert.equal(ns.get('names.unknown'), 1);
  assert.equal(names.userName(9), undefined, 'asked now that a slot is free');
  assert.equal(ns.get('names.lookups'), 3);
  for (const r of release.splice(0)) r();
  await names.settled();
});

test('the libc lookup resolves root and reports an unknown id as unknown', async () => {
  const { nameServiceLookup } = await import('../../modules/system/process/libc.js');
  assert.equal(await nameServiceLookup('user', 0), 'root');
  assert.equal(await nameServiceLookup('group', 0), 'root');
  assert.equal(await nameServiceLookup('user', 3_999_999_999), undefined);
});
