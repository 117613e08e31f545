/**
 * The two constants that turn /proc/<pid>/stat's start time (clock ticks since boot) into a
 * wall-clock time and a boot-clock nanosecond value.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostBootWall } from '../../boot-wall.js';
import { bootWallNs } from '../../libc.js';

let cachedTck: number | undefined;

/** USER_HZ: 100 on every mainstream architecture; asked of getconf once to be sure. */
export function clockTicksPerSecond(): number {
  if (cachedTck !== undefined) return cachedTck;
  let tck = 100;
  try {
    const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const n = Number(out.trim());
    if (Number.isInteger(n) && n > 0) tck = n;
  } catch {
    // getconf missing: keep the Linux default.
  }
  cachedTck = tck;
  return tck;
}

/**
 * Boot time in ms since the epoch, with sub-millisecond precision: CLOCK_REALTIME minus
 * CLOCK_BOOTTIME, as the kernel_tracing backend takes it, so both backends give one
 * process the same process.start. /proc/stat's `btime` is whole seconds (the fraction,
 * up to a second, would shift every start); it is only the fallback, and what a
 * procRoot other than /proc (a test tree) offers. Sampled once per scrape and kept steady
 * across small clock steps, the same offset the kernel_tracing backend uses (boot-wall.ts).
 */
export function bootTimeMs(procRoot = '/proc'): number {
  if (procRoot === '/proc') {
    const ns = bootWallNs();
    if (ns !== undefined) return Number(hostBootWall.steady(ns) / 1000n) / 1000;
  }
  const text = readFileSync(`${procRoot}/stat`, 'latin1');
  const m = /^btime (\d+)$/m.exec(text);
  if (!m) throw new Error(`${procRoot}/stat has no btime line`);
  return Number(m[1]) * 1000;
}

export interface StartTime {
  wall: Date;
  bootNs: bigint;
}

export function startTimeFromTicks(ticks: bigint, bootMs: number, tck: number): StartTime {
  const bootNs = (ticks * 1_000_000_000n) / BigInt(tck);
  // Floored to the millisecond, as the kernel backend's bigint arithmetic does.
  const wall = new Date(Math.floor(bootMs + Number(bootNs / 1_000_000n)));
  return { wall, bootNs };
}
