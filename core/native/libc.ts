/**
 * glibc's libc.so.6, opened once through ffi-rs, for the libc calls Node has no API for:
 * the process module's clocks and name service, and core/memory's malloc knobs. Without
 * glibc (musl names it differently) it cannot be opened and every caller falls back.
 */
import { open } from 'ffi-rs';

/** The ffi-rs library name every libc call uses. */
export const LIBC = 'procbeat-libc';

let opened: boolean | undefined;

/** Whether libc.so.6 is open (opening it on the first call). */
export function libcOpened(): boolean {
  if (opened !== undefined) return opened;
  try {
    open({ library: LIBC, path: 'libc.so.6' });
    opened = true;
  } catch {
    opened = false;
  }
  return opened;
}
