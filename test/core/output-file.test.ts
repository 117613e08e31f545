import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { ConfigErrors } from '../../core/config/errors.js';
import { createFileOutput, parseFileOptions, parsePermissions, type FileOptions } from '../../core/outputs/file/index.js';
import { createPipeline } from '../../core/publisher/pipeline.js';
import { MemoryMetrics, captureLogger, event, invariantHolds, pipelineCounts, silentLogger, testInfo } from './publisher-support.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(os.tmpdir(), 'procbeat-file-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
async function freshDir(): Promise<string> {
  const d = join(root, `d${++dirCount}`);
  await mkdir(d, { recursive: true });
  return d;
}

function opts(dir: string, over: Partial<FileOptions> = {}): FileOptions {
  return { path: dir, filename: 'procbeat', rotateEveryKb: 1, numberOfFiles: 7, rotateOnStartup: true, permissions: 0o600, ...over };
}

/** The files of the output, oldest first: procbeat.<n>, …, procbeat.1, procbeat. */
async function filesOldestFirst(dir: string, name = 'procbeat'): Promise<string[]> {
  const names = (await readdir(dir)).filter((f) => f === name || f.startsWith(`${name}.`));
  const num = (f: string): number => (f === name ? 0 : Number(f.slice(name.length + 1)));
  return names.sort((a, b) => num(b) - num(a));
}

async function linesOf(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${path} ends in the middle of a line`);
  return text.slice(0, -1).split('\n');
}

const padded = (seq: number, size: number): BeatEvent => event({ seq, pad: 'p'.repeat(size) }, new Date(1_700_000_000_000 + seq));

describe('output.file settings', () => {
  const where = (file = 'procbeat.yml') => ({ file, key: 'output.file', info: testInfo('/var/lib/procbeat') });

  it('defaults: path.data, filename procbeat, 10240 kB, 7 files, rotate on startup, 0600', () => {
    assert.deepEqual(parseFileOptions({}, where()), {
      path: '/var/lib/procbeat',
      filename: 'procbeat',
      rotateEveryKb: 10240,
      numberOfFiles: 7,
      rotateOnStartup: true,
      permissions: 0o600,
    });
    const o = parseFileOptions({ path: '/x', filename: 'events', rotate_every_kb: '64', number_of_files: 2, rotate_on_startup: 'false', permissions: '0640' }, where());
    assert.deepEqual(o, { path: '/x', filename: 'events', rotateEveryKb: 64, numberOfFiles: 2, rotateOnStartup: false, permissions: 0o640 });
  });

  it('permissions: octal strings and YAML numbers', () => {
    assert.equal(parsePermissions('0600'), 0o600);
    assert.equal(parsePermissions('600'), 0o600);
    assert.equal(parsePermissions('0o644'), 0o644);
    assert.equal(parsePermissions(600), 0o600, 'YAML 1.2 reads 0600 as the number 600');
    assert.equal(parsePermissions(640), 0o640);
    assert.equal(parsePermissions(0o600), 0o600, 'YAML 0o600 is the number 384: the mode itself');
    assert.equal(parsePermissions(0o640), 0o640, 'YAML 0o640 is 416: the mode itself');
    assert.equal(parsePermissions(900), undefined);
    assert.equal(parsePermissions('0800'), undefined);
    assert.equal(parsePermissions('rw-------'), undefined);
    assert.equal(parsePermissions(0o1777), undefined);
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['too few files', { number_of_files: 1 }, 'output.file.number_of_files', /must be >= 2, got 1/],
    ['too many files', { number_of_files: 2000 }, 'output.file.number_of_files', /must be <= 1024/],
    ['zero size', { rotate_every_kb: 0 }, 'output.file.rotate_every_kb', /must be >= 1/],
    ['size not a number', { rotate_every_kb: 'lots' }, 'output.file.rotate_every_kb', /must be integer/],
    ['bad permissions', { permissions: 'rwx' }, 'output.file.permissions', /octal file permissions/],
    ['unknown key', { rotate_every_mb: 1 }, 'output.file.rotate_every_mb', /unknown setting; expected one of: path, filename, rotate_every_kb/],
    ['filename with a slash', { filename: 'a/b' }, 'output.file.filename', /must match pattern/],
  ];
  for (const [name, config, key, problem] of bad) {
    it(`error: ${name}`, () => {
      assert.throws(
        () => parseFileOptions(config, where()),
        (err: unknown) => {
          assert.ok(err instanceof ConfigErrors);
          const hit = err.errors.find((e) => e.key === key);
          assert.ok(hit, JSON.stringify(err.errors.map((e) => e.message)));
          assert.match(hit.problem, problem);
          assert.ok(hit.message.startsWith(`procbeat.yml: ${key}: `));
          return true;
        },
      );
    });
  }
});

describe('output.file rotation', () => {
  it('rotates procbeat → procbeat.1 → …, keeps number_of_files, never splits a line', async () => {
    const dir = await freshDir();
    const metrics = new MemoryMetrics();
    const out = await createFileOutput(opts(dir, { rotateEveryKb: 1, numberOfFiles: 3 }), { metrics, logger: silentLogger });
    // ~300-byte lines: three fit in 1 KiB.
    for (let i = 0; i < 20; i++) assert.deepEqual(await out.publish([padded(i, 240)]), { acked: 1, dropped: 0 });
    // A line larger than the limit goes out whole, in a file of its own.
    await out.publish([padded(20, 5000), padded(21, 240)]);
    await out.close();
    assert.deepEqual(await filesOldestFirst(dir), ['procbeat.2', 'procbeat.1', 'procbeat']);
    const seqs: number[][] = [];
    for (const f of await filesOldestFirst(dir)) {
      const lines = await linesOf(join(dir, f));
      const size = (await stat(join(dir, f))).size;
      assert.ok(size <= 1024 || lines.length === 1, `${f}: ${size} bytes in ${lines.length} lines`);
      seqs.push(lines.map((l) => (JSON.parse(l) as { seq: number }).seq));
    }
    assert.deepEqual(seqs, [[18, 19], [20], [21]]);
    let expectBytes = 0;
    for (let i = 0; i < 22; i++) expectBytes += Buffer.byteLength(`${JSON.stringify({ '@timestamp': new Date(1_700_000_000_000 + i).toISOString(), seq: i, pad: 'p'.repeat(i === 20 ? 5000 : 240) })}\n`);
    assert.equal(metrics.namespace('output').num('write.bytes'), expectBytes);
  });

  it('rotate_on_startup: true moves an existing file aside, false appends to it', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'procbeat'), '{"old":1}\n');
    const out = await createFileOutput(opts(dir, { rotateEveryKb: 1024 }), { metrics: new MemoryMetrics(), logger: silentLogger });
    await out.publish([padded(1, 1)]);
    await out.close();
    assert.deepEqual(await linesOf(join(dir, 'procbeat.1')), ['{"old":1}']);
    assert.equal((await linesOf(join(dir, 'procbeat'))).length, 1);

    const dir2 = await freshDir();
    await writeFile(join(dir2, 'procbeat'), '{"old":1}\n');
    const out2 = await createFileOutput(opts(dir2, { rotateEveryKb: 1024, rotateOnStartup: false }), { metrics: new MemoryMetrics(), logger: silentLogger });
    await out2.publish([padded(1, 1)]);
    await out2.close();
    assert.deepEqual(await filesOldestFirst(dir2), ['procbeat']);
    assert.equal((await linesOf(join(dir2, 'procbeat')))[0], '{"old":1}');
  });

  it('creates every file (and the directory) with the configured permissions', async () => {
    const base = await freshDir();
    const dir = join(base, 'nested', 'out');
    const old = process.umask(0o022);
    try {
      const out = await createFileOutput(opts(dir, { rotateEveryKb: 1, numberOfFiles: 4, permissions: 0o640 }), { metrics: new MemoryMetrics(), logger: silentLogger });
      for (let i = 0; i < 10; i++) await out.publish([padded(i, 400)]);
      await out.close();
    } finally {
      process.umask(old);
    }
    const files = await filesOldestFirst(dir);
    assert.equal(files.length, 4);
    for (const f of files) assert.equal((await stat(join(dir, f))).mode & 0o777, 0o640, f);
  });
});

describe('output.file under load', () => {
  it('200,000 events of varying sizes through the pipeline: each exactly once, whole lines, files 0600', async () => {
    const dir = await freshDir();
    const metrics = new MemoryMetrics();
    const rotateEveryKb = 512;
    const output = await createFileOutput(opts(dir, { rotateEveryKb, numberOfFiles: 1024 }), { metrics, logger: silentLogger });
    const pipeline = createPipeline({
      queue: { events: 3200, flushMinEvents: 1600, flushTimeoutMs: 1000 },
      processors: [],
      output,
      metrics,
      logger: silentLogger,
      info: testInfo(dir),
    });
    const N = 200_000;
    const big = rotateEveryKb * 1024 + 5000;
    for (let i = 0; i < N; i++) {
      // Lines of ~250 to ~650 bytes, and a few bigger than a whole file.
      const size = i % 50_000 === 49_999 ? big : (i * 7919) % 400;
      await pipeline.publish(padded(i, size));
    }
    const r = await pipeline.close(120_000);
    assert.equal(r.undelivered, 0);
    const c = pipelineCounts(metrics);
    assert.equal(c['events.acked'], N, JSON.stringify(c));
    assert.equal(c['events.failed'], 0);
    assert.ok(invariantHolds(metrics));

    const files = await filesOldestFirst(dir);
    assert.ok(files.length > 100, `expected many rotations, got ${files.length} files`);
    assert.ok(files.length < 1024, 'no file was deleted, so every event must be on disk');
    const seen = new Uint8Array(N);
    let last = -1;
    for (const f of files) {
      const path = join(dir, f);
      const st = await stat(path);
      assert.equal(st.mode & 0o777, 0o600, `${f} mode`);
      const lines = await linesOf(path);
      assert.ok(st.size <= rotateEveryKb * 1024 || lines.length === 1, `${f}: ${st.size} bytes in ${lines.length} lines`);
      for (const line of lines) {
        const doc = JSON.parse(line) as { seq: number; pad: string; '@timestamp': string };
        assert.equal(seen[doc.seq], 0, `seq ${doc.seq} twice`);
        seen[doc.seq] = 1;
        assert.ok(doc.seq > last, 'in order');
        last = doc.seq;
      }
    }
    assert.equal(seen.reduce((n, v) => n + v, 0), N, 'every event present');
  });
});

describe('output.file write errors', () => {
  it('retries a full disk, then drops and counts; the file keeps only whole lines', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
    const mnt = await freshDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    } catch (err) {
      return t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
    }
    try {
      const { logger, records } = captureLogger();
      const metrics = new MemoryMetrics();
      const output = await createFileOutput(opts(mnt, { rotateEveryKb: 1024, numberOfFiles: 2 }), {
        metrics,
        logger,
        retry: { retries: 2, initialMs: 20, maxMs: 50 },
      });
      const pipeline = createPipeline({
        queue: { events: 100, flushMinEvents: 10, flushTimeoutMs: 50 },
        processors: [],
        output,
        metrics,
        logger,
        info: testInfo(mnt),
      });
      // ~1 kB events: 64 kB of tmpfs fills after about 60 of them.
      for (let i = 0; i < 200; i++) await pipeline.publish(padded(i, 800));
      const r = await pipeline.close(30_000);
      assert.equal(r.undelivered, 0);
      const c = pipelineCounts(metrics);
      assert.ok(c['events.failed']! > 0, `some events must fail on a full disk: ${JSON.stringify(c)}`);
      assert.ok(c['events.acked']! > 0);
      assert.equal(c['events.acked']! + c['events.failed']!, 200);
      assert.ok(invariantHolds(metrics));
      const o = metrics.namespace('output');
      assert.ok(o.num('write.errors') >= 3 && o.num('write.retries') >= 2, `${o.num('write.errors')} errors, ${o.num('write.retries')} retries`);
      assert.ok(records.some((rec) => String(rec.msg).includes('giving up')));
      // What is on disk is exactly the acked events, each a whole line.
      const seqs: number[] = [];
      for (const f of await filesOldestFirst(mnt)) for (const l of await linesOf(join(mnt, f))) seqs.push((JSON.parse(l) as { seq: number }).seq);
      assert.equal(seqs.length, c['events.acked']);
      assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b));
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
