import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { limitMallocArenas } from '../../core/memory/glibc.js';

const GLIBC_JS = new URL('../../core/memory/glibc.js', import.meta.url).href;

/**
 * A node process whose eight worker threads each allocate through glibc (zlib), optionally
 * after limitMallocArenas(2); prints how many glibc arenas (64 MiB-aligned heaps) it has.
 */
function arenasWith(limit: boolean): number {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { readFileSync } from 'node:fs';
    if (${limit}) { const { limitMallocArenas } = await import(${JSON.stringify(GLIBC_JS)}); if (!limitMallocArenas(2, {})) throw new Error('mallopt failed'); }
    const code = "const z = require('node:zlib'); const keep = []; for (let i = 0; i < 2000; i++) keep.push(z.deflateSync(Buffer.alloc(2000, i))); require('node:worker_threads').parentPort.postMessage(keep.length);";
    const ws = Array.from({ length: 8 }, () => new Worker(code, { eval: true, execArgv: [] }));
    await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
    const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((l) => { const [range, perm] = l.split(' '); const [a, b] = range.split('-').map((x) => BigInt('0x' + x)); return { a, b, perm }; });
    const HEAP = 64n << 20n;
    let n = 0;
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i], next = maps[i + 1];
      if (m.perm !== 'rw-p' || m.a % HEAP !== 0n) continue;
      if (m.b - m.a === HEAP || (next && next.perm === '---p' && next.a === m.b && next.b - m.a === HEAP)) n++;
    }
    console.log(n);
    process.exit(0);`;
  const env = { ...process.env };
  delete env['MALLOC_ARENA_MAX'];
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' }).trim());
}

describe('glibc malloc arenas', () => {
  test('procbeat caps the arenas its threads allocate from', (t) => {
    const uncapped = arenasWith(false);
    if (uncapped <= 3) {
      t.skip(`glibc gave eight allocating threads only ${uncapped} arenas here: nothing to cap`);
      return;
    }
    const capped = arenasWith(true);
    // Two arenas, plus at most one a thread took before the cap.
    assert.ok(capped <= 3, `${capped} arenas with the cap, ${uncapped} without`);
  });

  test("an operator's MALLOC_ARENA_MAX wins", () => {
    assert.equal(limitMallocArenas(2, { MALLOC_ARENA_MAX: '4' }), false);
  });
});
