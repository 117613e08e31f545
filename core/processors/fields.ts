import type { FieldValue, Fields } from '../api/event.js';

/**
 * Dotted-path access to an event's fields, as beats' conditions and processors see them:
 * `process.parent.pid` walks nested objects; a key that itself contains dots (rare, but
 * legal in a document) is found too, because every split of the path is tried.
 */

export function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type Lookup = { found: true; value: FieldValue } | { found: false };

const MISSING: Lookup = { found: false };

export function lookup(obj: Fields, path: string): Lookup {
  const direct = obj[path];
  if (direct !== undefined) return { found: true, value: direct };
  let dot = path.indexOf('.');
  while (dot !== -1) {
    const child = obj[path.slice(0, dot)];
    if (isFields(child)) {
      const r = lookup(child, path.slice(dot + 1));
      if (r.found) return r;
    }
    dot = path.indexOf('.', dot + 1);
  }
  return MISSING;
}

/** Removes the value at `path`; returns whether something was there. Empty parents stay, as in beats. */
export function deletePath(obj: Fields, path: string): boolean {
  if (obj[path] !== undefined) {
    delete obj[path];
    return true;
  }
  let dot = path.indexOf('.');
  while (dot !== -1) {
    const child = obj[path.slice(0, dot)];
    if (isFields(child) && deletePath(child, path.slice(dot + 1))) return true;
    dot = path.indexOf('.', dot + 1);
  }
  return false;
}

/** Sets `value` at the nested path `parts`, creating (or replacing non-object) parents. */
export function putPath(obj: Fields, parts: readonly string[], value: FieldValue): void {
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    const next = cur[k];
    if (isFields(next)) {
      cur = next;
    } else {
      const created: Fields = {};
      cur[k] = created;
      cur = created;
    }
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Copies `src` into `dst`: objects merge recursively, anything else replaces (beats' DeepUpdate). */
export function deepUpdate(dst: Fields, src: Fields): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    const cur = dst[k];
    if (isFields(v) && isFields(cur)) deepUpdate(cur, v);
    else dst[k] = cloneValue(v);
  }
}

/** Like deepUpdate, but keeps every value `dst` already has. */
export function deepFill(dst: Fields, src: Fields): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    const cur = dst[k];
    if (cur === undefined) dst[k] = cloneValue(v);
    else if (isFields(v) && isFields(cur)) deepFill(cur, v);
  }
}

/** A deep copy, so that a value shared by many events is never mutated through one of them. */
export function cloneValue(v: FieldValue): FieldValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneValue);
  const out: Fields = {};
  // Runs for every event (add_host_metadata): keys, not entries, to allocate less.
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const c = v[keys[i]!];
    if (c !== undefined) out[keys[i]!] = cloneValue(c);
  }
  return out;
}

/**
 * Nested object to dotted leaf keys: `{a: {b: 1}}` → `{'a.b': 1}`. Arrays and scalars are
 * leaves. Used for condition configs, where YAML's dotted keys may arrive nested.
 */
export function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
      flatten(v as Record<string, unknown>, key, out);
    } else {
      out[key] = v;
    }
  }
  return out;
}
