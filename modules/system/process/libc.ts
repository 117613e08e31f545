/**
 * The few libc calls Node has no API for, through ffi-rs: the boot clock (for start times
 * that agree with the kernel backend's) and the name service (getpwuid_r / getgrgid_r, so
 * LDAP, SSSD or extrausers accounts get names as with Auditbeat). Name lookups run on a
 * native thread: a slow directory never holds the event loop.
 */
import { DataType, load } from 'ffi-rs';
import { LIBC, libcOpened } from '../../../core/native/libc.js';

const CLOCK_REALTIME = 0;
const CLOCK_BOOTTIME = 7;
const ERANGE = 34;

function clockNs(clock: number): bigint | undefined {
  const ts = Buffer.alloc(16);
  const rc = load({
    library: LIBC, funcName: 'clock_gettime', retType: DataType.I32,
    paramsType: [DataType.I32, DataType.U8Array], paramsValue: [clock, ts],
  });
  if (rc !== 0) return undefined;
  return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
}

/**
 * The wall-clock time of boot in ns (CLOCK_REALTIME - CLOCK_BOOTTIME), the offset
 * quark-ffi puts in every batch; undefined when libc cannot be called.
 */
export function bootWallNs(): bigint | undefined {
  if (!libcOpened()) return undefined;
  const real = clockNs(CLOCK_REALTIME);
  const boot = clockNs(CLOCK_BOOTTIME);
  return real === undefined || boot === undefined ? undefined : real - boot;
}

/** Bytes for the strings of one entry; a directory entry bigger than the largest is an error. */
const FIRST_BUFFER = 1024;
const MAX_BUFFER = 64 * 1024;
// One allocation per call: struct (64 bytes, larger than struct passwd / group on LP64),
// the result pointer, then the strings. The name is the first member of both structs.
const STRUCT_AT = 0;
const RESULT_AT = 64;
const STRINGS_AT = 128;

export class NameServiceError extends Error {}

/**
 * getpwuid_r / getgrgid_r: the entry's name, or undefined when the name service has no such
 * id. Throws NameServiceError when the lookup itself fails (the directory is unreachable).
 */
export async function nameServiceLookup(kind: 'user' | 'group', id: number): Promise<string | undefined> {
  if (!libcOpened()) throw new NameServiceError('libc.so.6 cannot be loaded');
  const funcName = kind === 'user' ? 'getpwuid_r' : 'getgrgid_r';
  for (let size = FIRST_BUFFER; size <= MAX_BUFFER; size *= 4) {
    const buf = Buffer.alloc(STRINGS_AT + size);
    const strings = buf.subarray(STRINGS_AT);
    const rc = await load({
      library: LIBC, funcName, retType: DataType.I32,
      paramsType: [DataType.U32, DataType.U8Array, DataType.U8Array, DataType.U64, DataType.U8Array],
      paramsValue: [id >>> 0, buf.subarray(STRUCT_AT, RESULT_AT), strings, strings.length, buf.subarray(RESULT_AT, STRINGS_AT)],
      runInNewThread: true,
    });
    if (rc === ERANGE) continue;
    if (rc !== 0) throw new NameServiceError(`${funcName}(${id}) failed: errno ${rc}`);
    const result = buf.readBigUInt64LE(RESULT_AT);
    if (result === 0n) return undefined;
    // Pointers are into our buffer: the struct's address is `result`, so the name's offset
    // in the strings area is its distance from there, less the area's start.
    const offset = Number(buf.readBigUInt64LE(STRUCT_AT) - result) - STRINGS_AT;
    if (!Number.isInteger(offset) || offset < 0 || offset >= strings.length) {
      throw new NameServiceError(`${funcName}(${id}) returned a name outside its buffer`);
    }
    const end = strings.indexOf(0, offset);
    if (end < 0) throw new NameServiceError(`${funcName}(${id}) returned an unterminated name`);
    return strings.toString('utf8', offset, end);
  }
  throw new NameServiceError(`${funcName}(${id}) needs more than ${MAX_BUFFER} bytes`);
}
