// The README's run command: config.example.yml is valid and prints process documents to the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, REPO, killIfRunning, runProcbeat, spawnProcbeat, waitFor } from './cli-helpers.js';

const EXAMPLE = join(REPO, 'config.example.yml');

test('config.example.yml passes procbeat test config', async () => {
  const r = await runProcbeat(['test', 'config', '-c', EXAMPLE], REPO);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Config OK/);
});

test('procbeat run with config.example.yml prints process documents and stops cleanly on SIGINT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-example-'));
  const p = spawnProcbeat(BIN, [
    'run', '-c', EXAMPLE, '-e', '-E', `path.data=${join(dir, 'data')}`, '-E', `path.logs=${join(dir, 'logs')}`,
  ], REPO);
  try {
    const doc = await waitFor('a process document on stdout', () => {
      for (const line of p.stdout().split('\n')) {
        if (!line.startsWith('{')) continue;
        const d = JSON.parse(line) as { event?: { dataset?: string }; process?: { pid?: number } };
        if (d.event?.dataset === 'process' && typeof d.process?.pid === 'number') return d;
      }
      return undefined;
    }, 60_000);
    assert.equal(doc.event?.dataset, 'process');
    p.child.kill('SIGINT');
    assert.equal(await p.exited, 0, p.stderr());
  } finally {
    killIfRunning(p);
    rmSync(dir, { recursive: true, force: true });
  }
});
