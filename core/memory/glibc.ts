/**
 * The two glibc malloc knobs procbeat turns:
 * - malloc_trim(0) after a burst: the C library (quark-ffi), libuv's threads and V8 leave
 *   freed memory in glibc's arenas, 20-25 MiB after a 20,000-process storm;
 * - mallopt(M_ARENA_MAX): by default glibc gives each thread that allocates an arena of its
 *   own (up to 8 per core), and each keeps what it once held; two are plenty for procbeat's
 *   few allocating threads and hold ~15 MiB less.
 * Without glibc (musl) both are no-ops.
 */
import { DataType, load } from 'ffi-rs';
import { LIBC, libcOpened } from '../native/libc.js';

const M_ARENA_MAX = -8;
/** Arenas for procbeat's threads (glibc's default: up to 8 per core). */
export const PROCBEAT_MALLOC_ARENAS = 2;

function callInt(funcName: string, args: number[]): number | undefined {
  if (!libcOpened()) return undefined;
  try {
    return load({ library: LIBC, funcName, retType: DataType.I32, paramsType: args.map(() => DataType.I32), paramsValue: args }) as number;
  } catch {
    return undefined;
  }
}

/** Returns whether memory was given back (false also when it cannot be called here). */
export function mallocTrim(): boolean {
  return callInt('malloc_trim', [0]) === 1;
}

/**
 * Caps glibc's arenas for the threads that allocate from now on, unless MALLOC_ARENA_MAX is
 * already set in the environment (the operator's choice wins). Returns whether it was set.
 */
export function limitMallocArenas(max: number, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['MALLOC_ARENA_MAX'] !== undefined) return false;
  return callInt('mallopt', [M_ARENA_MAX, max]) === 1;
}
