/**
 * glibc's malloc_trim(0) through ffi-rs: after a burst, the C library (quark-ffi), libuv's
 * threads and V8's own allocations leave freed memory in glibc's arenas, 20-25 MiB after a
 * 20,000-process storm; this hands it back to the system. A libc without malloc_trim (musl)
 * makes it a no-op.
 */
import { createRequire } from 'node:module';

type FfiRs = typeof import('ffi-rs');

const LIB = 'procbeat-malloc-trim';
let ffi: FfiRs | undefined;
let available: boolean | undefined;

/** Returns whether memory was given back (false also when it cannot be called here). */
export function mallocTrim(): boolean {
  if (available === undefined) {
    try {
      // Loaded on the first release, not at start: a procbeat that never bursts never pays for it.
      ffi = createRequire(import.meta.url)('ffi-rs') as FfiRs;
      ffi.open({ library: LIB, path: 'libc.so.6' });
      available = true;
    } catch {
      available = false;
    }
  }
  if (!available || ffi === undefined) return false;
  try {
    const { DataType, load } = ffi;
    return load({ library: LIB, funcName: 'malloc_trim', retType: DataType.I32, paramsType: [DataType.I32], paramsValue: [0] }) === 1;
  } catch {
    available = false;
    return false;
  }
}
