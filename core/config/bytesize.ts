/**
 * Byte sizes as beats reads them: a number with an optional unit, case-insensitive:
 * b, kb/kib, mb/mib, gb/gib, tb/tib, pb/pib, eb/eib. As in beats (go-humanize), kb is
 * 1000 and kib 1024. A bare number is bytes.
 */
const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, kib: 1024,
  m: 1e6, mb: 1e6, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, tib: 1024 ** 4,
  p: 1e15, pb: 1e15, pib: 1024 ** 5,
  e: 1e18, eb: 1e18, eib: 1024 ** 6,
};

export const BYTE_SIZE_HINT = 'must be a byte size such as 1024, 10KiB, 100MiB or 1GB';

/** Bytes (rounded down to an integer), or undefined when `value` is not a byte size. */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}
