/**
 * The ffi-rs binding against the real libquarkffi and the real kernel: batches the C side
 * writes decode cleanly (and re-encode to the same bytes), processes we spawn come back with
 * their exit codes and signals, polls leave the event loop free, close ends a running poll.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { QuarkHandle, QuarkOpenError, QuarkUnavailableError, libraryPath, loadLibrary } from '../../quark-ffi/ts/binding.js';
import { decodeBatch } from '../../quark-ffi/ts/decode.js';
import { encodeBatch } from '../../quark-ffi/ts/encode.js';
import type { ProcessRecord } from '../../quark-ffi/ts/record.js';
import { assertWellFormed, withoutRaw } from './records-for-tests.js';

let skipReason: string | undefined;
let handle: QuarkHandle | undefined;
/** `sleep` never reaps, so its exited child stays a zombie: the snapshot must cope with one. */
let zombieParent: ChildProcess | undefined;

before(async () => {
  if (process.getuid?.() !== 0) { skipReason = 'needs root to load eBPF programs'; return; }
  zombieParent = spawn('/bin/sh', ['-c', '/bin/true & exec sleep 60'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && zombiePids().length === 0) await new Promise((r) => setTimeout(r, 50));
  try {
    loadLibrary();
    handle = await QuarkHandle.open({ backends: ['ebpf'], holdTimeMs: 100 });
  } catch (err) {
    skipReason = `quark-ffi cannot run here: ${err instanceof Error ? err.message : String(err)}`;
  }
});

after(async () => {
  zombieParent?.kill('SIGKILL');
  await handle?.close();
});

function zombiePids(): number[] {
  if (zombieParent?.pid === undefined) return [];
  try {
    return readFileSync(`/proc/${zombieParent.pid}/task/${zombieParent.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function need(t: { skip: (r: string) => void }): QuarkHandle | undefined {
  if (skipReason !== undefined || handle === undefined) {
    t.skip(skipReason ?? 'no handle');
    return undefined;
  }
  return handle;
}

/** Runs a command to its end; resolves with its pid. */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid ?? -1));
  });
}

/** Where two batches first differ, as "record N (pid P) byte B", or undefined when equal. */
function firstDifference(c: Uint8Array, ts: Uint8Array): string | undefined {
  if (c.length !== ts.length) return `length ${c.length} vs ${ts.length}`;
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  let rec = 0;
  let recStart = 32;
  for (let i = 0; i < c.length; i++) {
    while (i >= 32 && recStart + view.getUint32(recStart, true) <= i) { recStart += view.getUint32(recStart, true); rec++; }
    if (c[i] !== ts[i]) {
      const where = i < 32 ? `batch header byte ${i}` : `record ${rec} (pid ${view.getUint32(recStart + 16, true)}, valid 0x${view.getUint32(recStart + 12, true).toString(16)}) byte ${i - recStart}`;
      return `${where}: C wrote 0x${c[i]!.toString(16)}, the FORMAT.md encoder 0x${ts[i]!.toString(16)}`;
    }
  }
  return undefined;
}

/**
 * The C side and the decoder against each other: a batch the library wrote, decoded and
 * encoded again by the FORMAT.md encoder, is the same bytes (fields whose validity bit is
 * clear must hold 0, padding is zero, items in the documented order).
 */
function assertReencodesExactly(raw: Uint8Array): void {
  const batch = decodeBatch(raw);
  const again = encodeBatch(batch.records, batch.bootWallNs, { lostCount: batch.lostCount, more: batch.flags.more });
  // A truncated argv may end inside an argument without its NUL: not reproducible from args.
  const exact = batch.records.every((r) => !r.argv?.truncated && r.previous.every((p) => !p.argv?.truncated));
  if (exact) {
    const diff = firstDifference(raw, again);
    assert.equal(diff, undefined, `C batch and its re-encoding differ: ${diff}`);
  }
  decodeBatch(again).records.forEach((r, i) => assert.deepEqual(withoutRaw(r), withoutRaw(batch.records[i]!)));
}

/** Polls raw batches until `want` says it has seen enough, or 30 s pass. */
async function collect(h: QuarkHandle, want: (recs: ProcessRecord[]) => boolean): Promise<{ batches: Uint8Array[]; records: ProcessRecord[] }> {
  const batches: Uint8Array[] = [];
  const records: ProcessRecord[] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !want(records)) {
    const raw = await h.pollRaw(200);
    if (raw === null) continue;
    batches.push(raw);
    records.push(...decodeBatch(raw).records);
  }
  return { batches, records };
}

test('the initial snapshot holds this test process and a zombie, and decodes cleanly', async (t) => {
  const h = need(t);
  if (!h) return;
  const zombies = zombiePids();
  const { batches, records } = await collect(h, (recs) => recs.some((r) => r.flags.snapshot && r.ids?.pid === process.pid)
    && zombies.every((z) => recs.some((r) => r.ids?.pid === z)));
  for (const z of zombies) assert.ok(records.some((r) => r.flags.snapshot && r.ids?.pid === z), `zombie ${z} missing from the snapshot`);
  const self = records.find((r) => r.flags.snapshot && r.ids?.pid === process.pid);
  assert.ok(self, 'own process missing from the snapshot');
  assert.equal(self.source, 'procfs');
  assert.equal(self.ids?.ppid, process.ppid);
  assert.equal(self.cwd?.value, process.cwd());
  for (const r of records) assertWellFormed(r);
  for (const raw of batches) assertReencodesExactly(raw);
});

test('spawned processes arrive aggregated, with exit codes, signals, argv and cwd', async (t) => {
  const h = need(t);
  if (!h) return;
  const tag = randomUUID();
  const pids = {
    ok: await run('/bin/true', [`ok-${tag}`]),
    three: await run('/bin/sh', ['-c', 'exit 3', `three-${tag}`]),
    killed: await run('/bin/sh', ['-c', 'kill -9 $$', `killed-${tag}`]),
  };
  const byPid = (recs: ProcessRecord[], pid: number): ProcessRecord | undefined =>
    recs.find((r) => r.ids?.pid === pid && r.flags.exit);
  const { batches, records } = await collect(h, (recs) => Object.values(pids).every((p) => byPid(recs, p)));

  const ok = byPid(records, pids.ok);
  assert.ok(ok, '/bin/true record missing');
  assert.deepEqual([ok.flags.fork, ok.flags.exec, ok.flags.exit, ok.flags.complete], [true, true, true, true]);
  assert.equal(ok.exe?.value, '/usr/bin/true');
  assert.deepEqual(ok.argv?.args, ['/bin/true', `ok-${tag}`]);
  assert.equal(ok.argc, 2);
  assert.equal(ok.ids?.ppid, process.pid);
  assert.equal(ok.cwd?.value, process.cwd());
  assert.equal(ok.exit?.code, 0);
  assert.equal(ok.exit?.signal, 0);
  assert.ok(ok.ids && ok.ids.startNs > 0n && ok.namespaces && ok.namespaces.mnt > 0);
  // Times are boot-relative; with the batch's boot time they land near now.
  const wallMs = Number((ok.bootWallNs + (ok.exit?.timeNs ?? 0n)) / 1_000_000n);
  assert.ok(Math.abs(wallMs - Date.now()) < 120_000, `exit time ${new Date(wallMs).toISOString()} is not near now`);

  const three = byPid(records, pids.three);
  assert.equal(three?.exit?.code, 3);
  assert.equal(three?.exit?.status, 3 << 8);
  const killed = byPid(records, pids.killed);
  assert.equal(killed?.exit?.signal, 9);
  assert.equal(killed?.exit?.code, -1);

  for (const raw of batches) assertReencodesExactly(raw);
  const stats = h.stats();
  assert.equal(stats.backend, 'ebpf');
  assert.equal(stats.lost, 0n);
  assert.ok(stats.recordsOut > 0n && stats.insertions > 0n);
  assert.equal(h.decodeErrors, 0);
});

test('lookup returns the cache state of a live pid and nothing for an unknown one', (t) => {
  const h = need(t);
  if (!h) return;
  const self = h.lookup(process.pid);
  assert.ok(self?.flags.lookup);
  assert.equal(self?.ids?.pid, process.pid);
  assert.equal(h.lookup(0x3ffffff0), undefined);
});

test('a poll waits on a native thread: timers keep firing meanwhile', async (t) => {
  const h = need(t);
  if (!h) return;
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 5);
  // Polls return early when records are ready; keep polling for ~600 ms of wall time.
  const until = Date.now() + 600;
  let polls = 0;
  while (Date.now() < until) { await h.poll(300); polls++; }
  clearInterval(timer);
  assert.ok(ticks >= 3, `only ${ticks} timer ticks during ${polls} polls`);
});

test('close() ends a running poll and the handle refuses further use', async (t) => {
  if (need(t) === undefined) return;
  const h2 = await QuarkHandle.open({ backends: ['ebpf'], snapshot: false });
  const pending = h2.poll(2000);
  await h2.close();
  const res = await pending;
  assert.ok(Array.isArray(res.records));
  assert.equal((await h2.poll(10)).closed, true);
  assert.throws(() => h2.stats(), /closed/);
  await h2.close(); // twice is fine
});

test('open reports the library reason: kprobe is not built yet', async (t) => {
  if (need(t) === undefined) return;
  await assert.rejects(QuarkHandle.open({ backends: ['kprobe'] }), (err: unknown) => {
    assert.ok(err instanceof QuarkOpenError);
    assert.match(err.message, /kprobe/);
    return true;
  });
});

test('a missing or unbuilt library is "unavailable" with the reason from the build', () => {
  const saved = process.env.PROCBEAT_QUARK_FFI_LIB;
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-qf-'));
  try {
    process.env.PROCBEAT_QUARK_FFI_LIB = join(dir, 'libquarkffi.so');
    assert.throws(() => loadLibrary(), (err: unknown) => err instanceof QuarkUnavailableError && /^unavailable: .*not found/.test(err.message));
    writeFileSync(join(dir, 'UNAVAILABLE'), 'quark-ffi did not build (see quark-ffi/build/make.log):\nclang not found\n');
    assert.throws(() => loadLibrary(), (err: unknown) => err instanceof QuarkUnavailableError
      && err.message === 'unavailable: quark-ffi did not build (see quark-ffi/build/make.log): clang not found');
  } finally {
    if (saved === undefined) delete process.env.PROCBEAT_QUARK_FFI_LIB;
    else process.env.PROCBEAT_QUARK_FFI_LIB = saved;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(libraryPath().endsWith('quark-ffi/build/libquarkffi.so'));
});
