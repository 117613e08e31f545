/**
 * The two glibc malloc knobs procbeat turns, through ffi-rs (loaded on first use):
 * - malloc_trim(0) after a burst: the C library (quark-ffi), libuv's threads and V8 leave
 *   freed memory in glibc's arenas, 20-25 MiB after a 20,000-process storm;
 * - mallopt(M_ARENA_MAX): by default glibc gives each thread that allocates an arena of its
 *   own (up to 8 per core), and each keeps what it once held; two are plenty for procbeat's
 *   few allocating threads and hold ~15 MiB less.
 * Without glibc (musl) both are no-ops.
 */
import { createRequire } from 'node:module';

type FfiRs = typeof import('ffi-rs');

const LIB = 'procbeat-glibc';
/** Arenas for procbeat's threads (glibc's default: up to 8 per core). */
export const PROCBEAT_MALLOC_ARENAS = 2;
const M_ARENA_MAX = -8;
let ffi: FfiRs | null | undefined;

function glibc(): FfiRs | null {
  if (ffi === undefined) {
    try {
      const loaded = createRequire(import.meta.url)('ffi-rs') as FfiRs;
      loaded.open({ library: LIB, path: 'libc.so.6' });
      ffi = loaded;
    } catch {
      ffi = null;
    }
  }
  return ffi;
}

function callInt(funcName: string, args: number[]): number | undefined {
  const f = glibc();
  if (f === null) return undefined;
  try {
    return f.load({ library: LIB, funcName, retType: f.DataType.I32, paramsType: args.map(() => f.DataType.I32), paramsValue: args }) as number;
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
