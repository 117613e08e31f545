import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SteadyBootWall } from '../../modules/system/process/boot-wall.js';

describe('the boot offset both backends date kernel times with', () => {
  test('small clock steps (a VM clock steered 5 ms a second) keep one offset, so a process keeps one process.start', () => {
    const w = new SteadyBootWall();
    const first = 1_796_412_096_445_433_881n;
    assert.equal(w.steady(first), first);
    // 100 s of 5 ms steps: 500 ms in all, every sample answered with the first one.
    for (let s = 1n; s <= 100n; s++) assert.equal(w.steady(first + s * 5_000_000n), first);
  });

  test('a real step (the clock set by more than a second) is followed', () => {
    const w = new SteadyBootWall();
    const first = 1_000_000_000_000_000_000n;
    w.steady(first);
    const later = first + 3_600_000_000_000n;
    assert.equal(w.steady(later), later);
    assert.equal(w.steady(later - 2_000_000n), later);
    assert.equal(w.steady(first), first, 'back by an hour: followed too');
  });
});
