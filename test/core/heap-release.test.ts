import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { HeapRelease, type HeapReleaseDeps } from '../../core/memory/heap-release.js';
import { PromMetricsRegistry } from '../../core/monitoring/registry.js';
import { FIXTURE, httpGet, killIfRunning, spawnProcbeat, waitFor, type Spawned } from './cli-helpers.js';

const MiB = 1024 * 1024;

/** A heap whose numbers the test sets, a busy share per look, and a counter of collections. */
function fakeDeps(): HeapReleaseDeps & { total: number; used: number; busy: number; collections: number } {
  const d = {
    total: 100 * MiB, used: 20 * MiB, busy: 0, collections: 0,
    heap: () => ({ total: d.total, used: d.used }),
    busySinceLastCall: () => d.busy,
    collect: () => { d.collections++; d.total = d.used + 4 * MiB; },
  };
  return d;
}

describe('memory.release_after: the heap a burst grew is given back once procbeat is idle', () => {
  test('never while busy; once after the idle time; not again until the heap grows again', () => {
    const d = fakeDeps();
    const metrics = new PromMetricsRegistry().namespace('beat');
    const r = new HeapRelease({ idleMs: 2000, metrics }, d);
    d.busy = 0.9;
    for (let i = 0; i < 10; i++) assert.equal(r.check(1000), 0, 'a busy procbeat is left alone');
    d.busy = 0.01;
    assert.equal(r.check(1000), 0, 'idle for 1 s of 2');
    assert.equal(r.check(1000), 76 * MiB, 'idle for 2 s: the unused 76 MiB are released');
    assert.equal(d.collections, 1);
    for (let i = 0; i < 10; i++) r.check(1000);
    assert.equal(d.collections, 1, 'a heap that has not grown since is not collected again');
    d.used = 30 * MiB;
    d.total = 70 * MiB;
    d.busy = 0.5;
    r.check(1000);
    d.busy = 0;
    r.check(1000);
    r.check(1000);
    assert.equal(d.collections, 2, 'after the next burst it runs again');
    assert.equal(metrics.get('memstats.releases'), 2);
    assert.equal(metrics.get('memstats.released_bytes'), 76 * MiB + 36 * MiB);
  });

  test('a collection that leaves the heap mostly unused is followed by up to two more, 6 s apart', () => {
    const d = fakeDeps();
    // V8 keeps its young generation through the first collection and gives it up in the second.
    const shrinks = [60 * MiB, 24 * MiB];
    d.collect = () => { d.collections++; d.total = shrinks.shift() ?? d.total; };
    const r = new HeapRelease({ idleMs: 2000 }, d);
    for (let i = 0; i < 2; i++) r.check(1000);
    assert.equal(d.collections, 1, 'the first after 2 s');
    for (let i = 0; i < 5; i++) r.check(1000);
    assert.equal(d.collections, 1);
    assert.equal(r.check(1000), 36 * MiB, 'the follow-up 6 s later gets the rest');
    for (let i = 0; i < 20; i++) r.check(1000);
    assert.equal(d.collections, 2, 'nothing more once the heap is mostly used');
    const stuck = fakeDeps();
    stuck.collect = () => { stuck.collections++; };
    const r2 = new HeapRelease({ idleMs: 1000 }, stuck);
    for (let i = 0; i < 30; i++) r2.check(1000);
    assert.equal(stuck.collections, 3, 'a heap V8 will not shrink is collected at most three times per quiet spell');
  });

  test('less than 16 MiB unused is not worth a collection; 0 turns it off', () => {
    const d = fakeDeps();
    d.total = d.used + 15 * MiB;
    const r = new HeapRelease({ idleMs: 1000 }, d);
    for (let i = 0; i < 5; i++) r.check(1000);
    assert.equal(d.collections, 0);
    const off = new HeapRelease({ idleMs: 0 }, fakeDeps());
    off.start();
    off.stop();
  });

  test('with the real V8 heap, a dropped 100 MiB of objects is returned', () => {
    let junk: Array<{ i: number; s: string }> | undefined = [];
    for (let i = 0; i < 1_000_000; i++) junk.push({ i, s: `item ${i}` });
    assert.ok(junk.length > 0);
    junk = undefined;
    const before = getHeapStatistics().total_heap_size;
    const r = new HeapRelease({ idleMs: 1, idleBusyShare: 1 });
    const released = r.check(1);
    const afterTotal = getHeapStatistics().total_heap_size;
    assert.ok(released >= 32 * MiB, `released ${(released / MiB).toFixed(1)} MiB of a ${(before / MiB).toFixed(1)} MiB heap`);
    assert.ok(afterTotal <= before - 32 * MiB, `heap ${(before / MiB).toFixed(1)} -> ${(afterTotal / MiB).toFixed(1)} MiB`);
  });
});

describe('procbeat after a burst of events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-heap-release-'));
  let p: Spawned | undefined;
  after(() => {
    killIfRunning(p);
    rmSync(dir, { recursive: true, force: true });
  });

  test('/stats shows the heap given back within seconds of the burst ending', async () => {
    const file = join(dir, 'burst.yml');
    const count = 300_000;
    writeFileSync(file, [
      `procbeat.modules:\n- {module: fake, datasets: [burst], count: ${count}}\n`,
      `output.file: {path: ${join(dir, 'out')}}\n`,
      'http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: 0\n',
    ].join(''));
    p = spawnProcbeat(FIXTURE, ['run', '-e', '-c', file, '--path.home', dir], dir);
    const spawned = p;
    const url = await waitFor('the monitoring endpoint', () => {
      if (spawned.child.exitCode !== null) throw new Error(`procbeat exited early (${spawned.child.exitCode}):\n${spawned.stderr()}`);
      return /listening on (http:\/\/[^"\s]+)/.exec(spawned.stderr())?.[1];
    });
    const stats = async (): Promise<any> => JSON.parse((await httpGet(`${url}/stats`)).body);
    // Looked at once a second, as a user or a metrics scraper would: polling fast would itself
    // keep V8's allocation rate up.
    let peak = 0;
    let s: any;
    for (let i = 0; i < 60; i++) {
      s = await stats();
      peak = Math.max(peak, s.beat.memstats.heap_total);
      if ((s.libbeat.output?.events?.acked ?? 0) >= count && s.beat.memstats.releases >= 1) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(s.libbeat.output.events.acked, count);
    assert.ok(s.beat.memstats.releases >= 1, 'no heap release within 60 s');
    // How much comes back depends on V8 (its young generation shrinks only at a low allocation
    // rate); after a 20,000-process storm it is 40-60 MiB (docs/memory.md).
    assert.ok(s.beat.memstats.released_bytes > 0, `released ${s.beat.memstats.released_bytes} bytes`);
    assert.ok(s.beat.memstats.heap_total < peak, `heap ${s.beat.memstats.heap_total} after, ${peak} at most during the burst`);
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exited, 0);
  });
});
