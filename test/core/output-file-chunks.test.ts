/**
 * The file output writes a batch a slice at a time from one reused buffer (so a batch of
 * ~10 MB never exists as one string plus one Buffer). What lands on disk must not change:
 * byte for byte the NDJSON of each event, in order, with lines longer than the buffer,
 * multi-byte characters across slice boundaries, and rotation in the middle of a batch.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { createFileOutput, type FileOptions } from '../../core/outputs/file/index.js';
import { ndjsonLine } from '../../core/outputs/file/ndjson.js';
import { WRITE_CHUNK_BYTES } from '../../core/outputs/file/rotator.js';
import { MemoryMetrics, event, silentLogger } from './publisher-support.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(os.tmpdir(), 'procbeat-file-chunks-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function opts(dir: string, over: Partial<FileOptions> = {}): FileOptions {
  return { path: dir, filename: 'procbeat', rotateEveryKb: 1024 * 1024, numberOfFiles: 1024, rotateOnStartup: true, permissions: 0o600, ...over };
}

/** Events of varying sizes, some with multi-byte text, one far longer than the write buffer. */
function batch(n: number, seed: number): BeatEvent[] {
  const out: BeatEvent[] = [];
  for (let i = 0; i < n; i++) {
    const size = i === Math.floor(n / 2) ? WRITE_CHUNK_BYTES + 12_345 : 200 + ((i * 7919 + seed) % 6000);
    const text = i % 3 === 0 ? 'é€😀'.repeat(Math.ceil(size / 9)) : 'x'.repeat(size);
    out.push(event({ seq: seed * 100_000 + i, text }, new Date(1_700_000_000_000 + i)));
  }
  return out;
}

async function contents(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((f) => f.startsWith('procbeat'));
  const num = (f: string): number => (f === 'procbeat' ? 0 : Number(f.slice('procbeat.'.length)));
  const parts: string[] = [];
  for (const f of names.sort((a, b) => num(b) - num(a))) parts.push(await readFile(join(dir, f), 'utf8'));
  return parts.join('');
}

describe('output.file writes large batches in slices', () => {
  it('a batch several times the write buffer lands byte for byte, in order', async () => {
    const dir = join(root, 'one-file');
    const output = await createFileOutput(opts(dir), { metrics: new MemoryMetrics(), logger: silentLogger });
    const events = [...batch(1600, 1), ...batch(400, 2)];
    const expected = events.map(ndjsonLine).join('');
    assert.ok(Buffer.byteLength(expected) > 5 * WRITE_CHUNK_BYTES, 'the batch spans many slices');
    const r = await output.publish(events);
    assert.deepEqual(r, { acked: events.length, dropped: 0 });
    await output.close();
    assert.equal(await contents(dir), expected);
  });

  it('with rotation inside a batch: every file holds whole lines, together exactly the batch', async () => {
    const dir = join(root, 'rotating');
    const output = await createFileOutput(opts(dir, { rotateEveryKb: 700 }), { metrics: new MemoryMetrics(), logger: silentLogger });
    const events = batch(1600, 3);
    const r = await output.publish(events);
    assert.deepEqual(r, { acked: events.length, dropped: 0 });
    await output.close();
    const files = (await readdir(dir)).filter((f) => f.startsWith('procbeat'));
    assert.ok(files.length > 5, `expected rotations, got ${files.length} files`);
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      assert.ok(text.endsWith('\n'), `${f} ends inside a line`);
      const lines = text.slice(0, -1).split('\n');
      assert.ok(Buffer.byteLength(text) <= 700 * 1024 || lines.length === 1, `${f} is over the limit with ${lines.length} lines`);
    }
    assert.equal(await contents(dir), events.map(ndjsonLine).join(''));
  });
});
