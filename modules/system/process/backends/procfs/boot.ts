/**
 * The two constants that turn /proc/<pid>/stat's start time (clock ticks since boot) into a
 * wall-clock time and a boot-clock nanosecond value.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
 * Boot time in ms since the epoch, from the `btime` line of /proc/stat. It is read once per
 * scrape; the kernel adjusts it when the wall clock is stepped.
 */
export function bootTimeMs(procRoot = '/proc'): number {
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
  const wall = new Date(bootMs + Number(bootNs / 1_000_000n));
  return { wall, bootNs };
}
