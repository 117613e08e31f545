/**
 * The disk queue's byte store on its own: order, acknowledgements, restarts (clean and
 * kill -9), torn and damaged segments, max_size and a full disk. Real files in a temp dir.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { DiskStore, type DiskStoreOptions, type StoredItem } from '../../core/publisher/diskqueue/store.js';
import { captureLogger, silentLogger } from './publisher-support.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'procbeat-dq-'));
  dirs.push(d);
  return d;
}

function open(path: string, over: Partial<DiskStoreOptions> = {}, logger: Logger = silentLogger): DiskStore {
  return new DiskStore({
    path, maxSize: 64 << 20, segmentSize: 64 << 10, writeAhead: 100_000, retryIntervalMs: 20, maxRetryIntervalMs: 100, logger, ...over,
  });
}

const item = (i: number): Buffer => Buffer.from(JSON.stringify({ seq: i, pad: 'x'.repeat(100 + (i % 50)) }));
const seqOf = (it: StoredItem): number => (JSON.parse(it.payload.toString()) as { seq: number }).seq;

function appendAll(s: DiskStore, from: number, to: number): void {
  for (let i = from; i < to; i++) assert.ok(s.append(item(i)), `append ${i}`);
  s.flush();
}

function readAll(s: DiskStore): StoredItem[] {
  const out: StoredItem[] = [];
  for (let got = s.read(1000); got.length > 0; got = s.read(1000)) out.push(...got);
  return out;
}

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

describe('disk queue store', () => {
  it('hands items back in order across segments; acked segments are deleted; dir 0700, files 0600', () => {
    const dir = join(tempDir(), 'q');
    const s = open(dir);
    appendAll(s, 0, 2000);
    assert.ok(segmentFiles(dir).length > 3, 'several segments of 64 KiB');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const n of readdirSync(dir)) assert.equal(statSync(join(dir, n)).mode & 0o777, 0o600, n);

    const items = readAll(s);
    assert.deepEqual(items.map(seqOf), Array.from({ length: 2000 }, (_, i) => i));
    s.ackThrough(items[1499]!, 1500);
    const st = s.stats();
    assert.equal(st.events, 500);
    assert.equal(st.acked, 1500);
    const left = segmentFiles(dir);
    assert.ok(left.length <= 3 && !left.includes('0000000001.seg'), `acked segments removed: ${left.join(',')}`);
    s.close();
  });

  it('an existing directory open to others is left as it is, with a warning', () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const { logger, records } = captureLogger();
    const s = open(dir, {}, logger);
    assert.equal(statSync(dir).mode & 0o777, 0o755, 'not ours to change');
    assert.ok(records.some((r) => r['path'] === dir && String(r['msg']).includes('open to other users')));
    s.close();
  });

  it('after a clean restart resumes at the first unacked item, none twice', () => {
    const dir = tempDir();
    let s = open(dir);
    appendAll(s, 0, 300);
    const first = s.read(120);
    s.ackThrough(first.at(-1)!, 120);
    s.read(50); // read but not acked: must come again
    s.close();

    s = open(dir);
    assert.equal(s.stats().recovered, 180);
    appendAll(s, 300, 310);
    assert.deepEqual(readAll(s).map(seqOf), Array.from({ length: 190 }, (_, i) => 120 + i));
    s.close();
  });

  it('survives kill -9 of the writing process: everything written and not acked comes back', async () => {
    const dir = tempDir();
    const storeUrl = new URL('../../core/publisher/diskqueue/store.js', import.meta.url).href;
    const script = `
      import { DiskStore } from ${JSON.stringify(storeUrl)};
      import { pino } from 'pino';
      const s = new DiskStore({ path: ${JSON.stringify(dir)}, maxSize: 64 << 20, segmentSize: 64 << 10, writeAhead: 100000,
        retryIntervalMs: 20, maxRetryIntervalMs: 100, logger: pino({ level: 'silent' }) });
      for (let i = 0; i < 1000; i++) s.append(Buffer.from(JSON.stringify({ seq: i, pad: 'y'.repeat(200) })));
      s.flush();
      const got = s.read(400);
      s.ackThrough(got.at(-1), 400);
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;

    const s = open(dir);
    assert.equal(s.stats().recovered, 600);
    assert.deepEqual(readAll(s).map(seqOf), Array.from({ length: 600 }, (_, i) => 400 + i));
    s.close();
  });

  it('a damaged frame and a torn tail are skipped, counted and logged with file and position; the rest is delivered', () => {
    const dir = tempDir();
    let s = open(dir, { segmentSize: 1 << 20 });
    appendAll(s, 0, 100);
    s.close();
    const [seg] = segmentFiles(dir);
    const path = join(dir, seg!);
    const bytes = readFileSync(path);
    // Frame 40: flip payload bytes (checksum mismatch). Frame 99: cut in the middle (torn write).
    const off40 = bytes.indexOf('{"seq":40,');
    bytes[off40 + 12] ^= 0xff;
    const off99 = bytes.indexOf('{"seq":99,');
    writeFileSync(path, bytes);
    truncateSync(path, off99 + 10);

    const { logger, records } = captureLogger();
    s = open(dir, { segmentSize: 1 << 20 }, logger);
    const got = readAll(s).map(seqOf);
    const want = Array.from({ length: 99 }, (_, i) => i).filter((i) => i !== 40);
    assert.deepEqual(got, want, 'all but the damaged and the torn item are delivered');
    const st = s.stats();
    assert.equal(st.corruptedEvents, 2);
    assert.ok(st.corruptedBytes > 0);
    const warnings = records.filter((r) => String(r['msg']).includes('damaged'));
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
    assert.equal(warnings[0]!['file'], path);
    assert.equal(warnings[0]!['position'], off40 - 28, 'position of the damaged frame');
    assert.equal(warnings[1]!['file'], path);
    assert.equal(warnings[1]!['position'], off99 - 28, 'position of the torn frame');
    assert.match(String(warnings[0]!['msg']), /checksum mismatch/);

    // New items after the damage keep their own numbers and are delivered too.
    appendAll(s, 1000, 1005);
    assert.deepEqual(readAll(s).map(seqOf), [1000, 1001, 1002, 1003, 1004]);
    assert.equal(s.stats().corruptedEvents, 2, 'the torn item is counted once');
    s.close();
  });

  it('a whole lost segment is counted by its sequence gap', () => {
    const dir = tempDir();
    let s = open(dir, { segmentSize: 8 << 10 });
    appendAll(s, 0, 300);
    s.close();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 4);
    // Garbage over the whole second segment, header included.
    const victim = join(dir, files[1]!);
    writeFileSync(victim, Buffer.alloc(statSync(victim).size, 0x5a));
    const { logger, records } = captureLogger();
    s = open(dir, { segmentSize: 8 << 10 }, logger);
    const got = readAll(s).map(seqOf);
    const lost = 300 - got.length;
    assert.ok(lost > 10, `a segment's worth lost (${lost})`);
    assert.deepEqual(got, [...got].sort((a, b) => a - b));
    assert.equal(s.stats().corruptedEvents, lost, 'every lost item counted');
    assert.equal(s.takeLost(), lost);
    assert.ok(records.some((r) => r['file'] === victim && r['position'] === 0 && r['events'] === lost && r['level'] === 40));
    s.close();
  });

  it('a damaged acknowledgement state re-sends from the oldest segment instead of losing anything', () => {
    const dir = tempDir();
    let s = open(dir);
    appendAll(s, 0, 50);
    s.ackThrough(s.read(20).at(-1)!, 20);
    s.close();
    writeFileSync(join(dir, 'state.dat'), Buffer.alloc(36, 1));
    const { logger, records } = captureLogger();
    s = open(dir, {}, logger);
    assert.deepEqual(readAll(s).map(seqOf), Array.from({ length: 50 }, (_, i) => i));
    assert.ok(records.some((r) => String(r['msg']).includes('state.dat') && r['level'] === 40));
    s.close();
  });

  it('at max_size it refuses (backpressure) until acknowledged segments are deleted', () => {
    const dir = tempDir();
    const s = open(dir, { maxSize: 64 << 10, segmentSize: 16 << 10 });
    let n = 0;
    while (s.append(item(n))) {
      n++;
      s.flush();
      assert.ok(n < 10_000, 'never refuses');
    }
    assert.ok(s.stats().bytes <= 64 << 10, `${s.stats().bytes} bytes on disk`);
    assert.equal(s.canAppend(), false);
    const items = readAll(s);
    assert.equal(items.length, n);
    s.ackThrough(items.at(-1)!, items.length);
    assert.equal(s.canAppend(), true, 'room again once acknowledged segments are gone');
    s.close();
  });

  it('disk full (ENOSPC on a small tmpfs): holds events, accepts no more, retries, never throws', async (t) => {
    if (process.getuid?.() !== 0) { t.skip('needs root to mount a tmpfs'); return; }
    const mnt = tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', mnt]);
    } catch (err) {
      t.skip(`cannot mount a tmpfs: ${(err as Error).message}`);
      return;
    }
    let s: DiskStore | undefined;
    try {
      const { logger, records } = captureLogger();
      const dir = join(mnt, 'q');
      s = open(dir, { maxSize: 64 << 20, segmentSize: 128 << 10, writeAhead: 500 }, logger);
      let accepted = 0;
      for (let i = 0; i < 20_000 && s.append(item(i)); i++) {
        accepted++;
        if (i % 50 === 0) s.flush();
      }
      s.flush();
      const st = s.stats();
      assert.equal(st.blocked, true, 'writes failed and the store stopped accepting');
      assert.equal(s.canAppend(), false);
      assert.ok(st.pending > 0, 'the unwritten events are held, not dropped');
      assert.ok(records.some((r) => r['code'] === 'ENOSPC' && String(r['msg']).includes('the disk is full')));

      // Free space by delivering and acknowledging; the retry then writes what was held.
      const items = readAll(s);
      s.ackThrough(items.at(-1)!, items.length);
      const deadline = Date.now() + 5000;
      while (s.stats().blocked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(s.stats().blocked, false, 'writing works again after the retry');
      assert.ok(s.stats().retried >= 1);
      const rest = readAll(s);
      assert.equal(items.length + rest.length, accepted, 'every accepted event is on disk once');
      assert.deepEqual([...items, ...rest].map(seqOf), Array.from({ length: accepted }, (_, i) => i));
    } finally {
      try { s?.close(); } finally { execFileSync('umount', [mnt]); }
    }
  });
});
