import { childKey, isPlainObject } from './keys.js';

/**
 * Turns dotted keys into nested mappings, as beats does: `a.b: 1` is `a: {b: 1}`.
 * Applied recursively, list items included. Two spellings that set the same leaf, or a
 * leaf that another key needs to be a mapping, are conflicts reported with the key.
 *
 * Subtrees under a key named in `raw` (e.g. `processors`) are kept as written: their
 * owners read keys such as `process.name` in conditions literally.
 */
/** Keys whose values keep their dotted keys (processor conditions name fields literally). */
export const RAW_SECTIONS: ReadonlySet<string> = new Set(['processors']);

export interface DottedProblem {
  key: string;
  problem: string;
}

export interface NormalizeOptions {
  /** Key names whose values are left untouched (at any depth). */
  raw?: ReadonlySet<string>;
}

export function normalizeDottedKeys(
  value: unknown,
  at: string,
  problems: DottedProblem[],
  options: NormalizeOptions = {},
): unknown {
  if (Array.isArray(value)) {
    return value.map((item, i) => normalizeDottedKeys(item, childKey(at, i), problems, options));
  }
  if (!isPlainObject(value)) return value;

  const out: Record<string, unknown> = {};
  for (const [rawKey, child] of Object.entries(value)) {
    const parts = rawKey.split('.');
    if (parts.some((p) => p === '')) {
      problems.push({ key: childKey(at, rawKey), problem: 'invalid key: empty part in a dotted key' });
      continue;
    }
    if (parts.includes('__proto__')) {
      problems.push({ key: childKey(at, rawKey), problem: "invalid key: '__proto__' is reserved" });
      continue;
    }
    let target = out;
    let key = at;
    let ok = true;
    for (const part of parts.slice(0, -1)) {
      key = childKey(key, part);
      const existing = target[part];
      if (existing === undefined) {
        const fresh: Record<string, unknown> = {};
        target[part] = fresh;
        target = fresh;
      } else if (isPlainObject(existing)) {
        target = existing;
      } else {
        problems.push({ key, problem: `conflicting settings: '${key}' has a value but '${childKey(at, rawKey)}' needs it to be a mapping` });
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    const last = parts[parts.length - 1]!;
    key = childKey(key, last);
    const normalized = options.raw?.has(last)
      ? child
      : normalizeDottedKeys(child, key, problems, options);
    mergeInto(target, last, normalized, key, problems);
  }
  return out;
}

function mergeInto(
  target: Record<string, unknown>,
  name: string,
  value: unknown,
  key: string,
  problems: DottedProblem[],
): void {
  if (!Object.hasOwn(target, name)) {
    target[name] = value;
    return;
  }
  const existing = target[name];
  if (isPlainObject(existing) && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) mergeInto(existing, k, v, childKey(key, k), problems);
    return;
  }
  problems.push({ key, problem: 'set more than once (a dotted key and a nested key name the same setting)' });
}
