import { ConfigError } from '../config/errors.js';

/**
 * Reading one processor's settings with beats' rules: dotted keys equal nested keys,
 * unknown keys are errors, and every problem names its full key path
 * (e.g. `processors[1].drop_fields.fields`).
 */

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects problems so that one pass reports all of them. */
export class Problems {
  readonly errors: ConfigError[] = [];
  constructor(readonly file: string | undefined) {}
  add(key: string, problem: string): void {
    this.errors.push(new ConfigError(this.file, key, problem));
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * `{'a.b': 1, a: {c: 2}}` → `{a: {b: 1, c: 2}}`, recursively (also inside lists), so the
 * two spellings YAML allows become one. A key given both as a value and as a parent is a problem.
 */
export function expandDots(v: unknown, key: string, problems: Problems): unknown {
  if (Array.isArray(v)) return v.map((item, i) => expandDots(item, `${key}[${i}]`, problems));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(v)) {
    const parts = k.split('.').filter((p) => p !== '');
    if (parts.length === 0) {
      out[k] = expandDots(raw, `${key}.${k}`, problems);
      continue;
    }
    let cur = out;
    let curKey = key;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      curKey = curKey ? `${curKey}.${p}` : p;
      const next = cur[p];
      if (next === undefined) {
        const created: Record<string, unknown> = {};
        cur[p] = created;
        cur = created;
      } else if (isRecord(next)) {
        cur = next;
      } else {
        problems.add(curKey, `is given both as a value and as a parent of '${k}'`);
        cur = {};
      }
    }
    const last = parts[parts.length - 1]!;
    const leafKey = curKey ? `${curKey}.${last}` : last;
    const value = expandDots(raw, leafKey, problems);
    const existing = cur[last];
    if (existing !== undefined && isRecord(existing) && isRecord(value)) {
      mergeInto(existing, value, leafKey, problems);
    } else if (existing !== undefined) {
      problems.add(leafKey, 'is given twice');
    } else {
      cur[last] = value;
    }
  }
  return out;
}

function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>, key: string, problems: Problems): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = dst[k];
    if (cur === undefined) dst[k] = v;
    else if (isRecord(cur) && isRecord(v)) mergeInto(cur, v, `${key}.${k}`, problems);
    else problems.add(`${key}.${k}`, 'is given twice');
  }
}

type KeyTree = Map<string, KeyTree | null>;

function keyTree(paths: readonly string[]): KeyTree {
  const root: KeyTree = new Map();
  for (const p of paths) {
    let node = root;
    const parts = p.split('.');
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        if (!node.has(part)) node.set(part, null);
        return;
      }
      let child = node.get(part);
      if (!child) {
        child = new Map();
        node.set(part, child);
      }
      node = child;
    });
  }
  return root;
}

/** One map of settings (already dot-expanded) at `key`. */
export class Section {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly key: string,
    readonly problems: Problems,
  ) {}

  at(name: string): string {
    return `${this.key}.${name}`;
  }

  /** Reports every key that is not one of `paths` (dotted paths name nested settings). */
  known(paths: readonly string[]): void {
    this.checkKeys(this.raw, keyTree(paths), this.key);
  }

  private checkKeys(obj: Record<string, unknown>, tree: KeyTree, key: string): void {
    for (const [k, v] of Object.entries(obj)) {
      const here = `${key}.${k}`;
      if (!tree.has(k)) {
        this.problems.add(here, `unknown setting; expected one of: ${[...tree.keys()].join(', ')}`);
        continue;
      }
      const sub = tree.get(k);
      if (!sub || v === null || v === undefined) continue;
      if (!isRecord(v)) {
        this.problems.add(here, `expected a map, got ${describe(v)}`);
        continue;
      }
      this.checkKeys(v, sub, here);
    }
  }

  get(name: string): unknown {
    let cur: unknown = this.raw;
    for (const part of name.split('.')) {
      if (!isRecord(cur)) return undefined;
      cur = cur[part];
    }
    return cur;
  }

  has(name: string): boolean {
    const v = this.get(name);
    return v !== undefined && v !== null;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    // ${VAR} expansion yields strings; beats accepts these spellings.
    if (v === 'true' || v === 'false') return v === 'true';
    this.problems.add(this.at(name), `expected true or false, got ${describe(v)}`);
    return dflt;
  }

  string(name: string, dflt: string): string {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.problems.add(this.at(name), `expected a string, got ${describe(v)}`);
    return dflt;
  }

  /** A required, non-empty list of strings. */
  stringList(name: string): string[] {
    const v = this.get(name);
    if (v === undefined || v === null) {
      this.problems.add(this.at(name), 'is required: a list of field names');
      return [];
    }
    if (!Array.isArray(v)) {
      this.problems.add(this.at(name), `expected a list of strings, got ${describe(v)}`);
      return [];
    }
    if (v.length === 0) {
      this.problems.add(this.at(name), 'must not be empty');
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string' && item !== '') out.push(item);
      else this.problems.add(`${this.at(name)}[${i}]`, `expected a non-empty string, got ${describe(item)}`);
    });
    return out;
  }
}
