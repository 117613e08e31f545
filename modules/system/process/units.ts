/**
 * Beats-style scalar units: Go durations ("1m30s", "500ms") and humanized byte sizes
 * ("100 MiB", "50mb"). Each parser returns a value or a reason, so the config layer can
 * wrap the reason in the message the reference spec prescribes.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration string, e.g. "10s", "1h30m", "1.5h", "250ms". A bare number (YAML `period: 10`)
 * means seconds, as beats reads integers in duration settings.
 */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: `invalid duration ${String(input)}` };
    return { ok: true, value: input * 1000 };
  }
  if (typeof input !== 'string') return { ok: false, reason: `expected a duration, got ${typeof input}` };
  const text = input.trim();
  if (text === '') return { ok: false, reason: 'empty duration' };
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) return { ok: true, value: Number(text) * 1000 };
  if (text === '0') return { ok: true, value: 0 };
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  let matched = false;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) return { ok: false, reason: `invalid duration '${input}'` };
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2]!] ?? 0);
    rest = rest.slice(m[0].length);
    matched = true;
  }
  if (!matched) return { ok: false, reason: `invalid duration '${input}'` };
  return { ok: true, value: sign * total };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3, kb: 1e3, ki: 2 ** 10, kib: 2 ** 10,
  m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20,
  g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30,
  t: 1e12, tb: 1e12, ti: 2 ** 40, tib: 2 ** 40,
  p: 1e15, pb: 1e15, pi: 2 ** 50, pib: 2 ** 50,
  e: 1e18, eb: 1e18, ei: 2 ** 60, eib: 2 ** 60,
};

/**
 * A byte size as humanized text ("100 MiB", "1.5gb", "4096") or a plain number of bytes.
 * Units are case-insensitive: b, kb (1000), kib (1024), mb, mib, gb, gib, tb, tib, pb, pib, eb, eib.
 */
export function parseByteSize(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: `invalid size ${String(input)}` };
    return { ok: true, value: Math.floor(input) };
  }
  if (typeof input !== 'string') return { ok: false, reason: `expected a size such as '100 MiB', got ${typeof input}` };
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return { ok: false, reason: `cannot parse '${input}' as a size (expected e.g. '100 MiB')` };
  const unit = m[2]!.toLowerCase();
  const factor = BYTE_UNITS[unit];
  if (factor === undefined) return { ok: false, reason: `unknown size unit '${m[2]}' in '${input}'` };
  return { ok: true, value: Math.floor(Number(m[1]) * factor) };
}
