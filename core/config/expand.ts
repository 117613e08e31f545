import { childKey, getPath, isPlainObject } from './keys.js';

/**
 * `${NAME}` and `${NAME:default}` in string values, as beats does it:
 * NAME is first looked up as a setting of this config (`${path.home}`), then in the
 * environment; the default may itself contain references; `$${` is a literal `${`.
 * A value that is exactly one reference takes the type of what it expands to, so
 * `port: ${PORT}` with PORT=9200 is the number 9200 and `enabled: ${ON:true}` a boolean.
 */
export interface ExpandProblem {
  key: string;
  problem: string;
}

export interface ExpandOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The whole tree, for references to other settings. */
  root: unknown;
}

class ExpandError extends Error {}

type Lookup = (name: string) => unknown;

export function expandVariables(
  value: unknown,
  at: string,
  options: ExpandOptions,
  problems: ExpandProblem[],
): unknown {
  const resolving = new Set<string>();
  const lookup: Lookup = (name) => {
    const setting = getPath(options.root, name);
    if (setting !== undefined && setting !== null && typeof setting !== 'object') {
      if (typeof setting !== 'string') return setting;
      if (resolving.has(name)) throw new ExpandError(`cyclic reference to \${${name}}`);
      resolving.add(name);
      try {
        return expandString(setting, lookup);
      } finally {
        resolving.delete(name);
      }
    }
    return options.env[name];
  };
  return walk(value, at, lookup, problems);
}

function walk(value: unknown, at: string, lookup: Lookup, problems: ExpandProblem[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    try {
      return expandString(value, lookup);
    } catch (err) {
      if (!(err instanceof ExpandError)) throw err;
      problems.push({ key: at, problem: err.message });
      // Unset, so later checks do not report the unexpanded text a second time.
      return undefined;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => walk(v, childKey(at, i), lookup, problems));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const expanded = walk(v, childKey(at, k), lookup, problems);
      if (expanded !== undefined) out[k] = expanded;
    }
    return out;
  }
  return value;
}

interface Reference {
  start: number;
  end: number; // index after the closing brace
  name: string;
  fallback: string | undefined;
}

/** Finds the reference starting at `start` (pointing at `$`), honouring nested `${...}`. */
function readReference(text: string, start: number): Reference {
  let depth = 0;
  let colon = -1;
  for (let i = start + 2; i < text.length; i++) {
    if (text.startsWith('${', i)) { depth++; i++; continue; }
    const c = text[i];
    if (c === ':' && depth === 0 && colon < 0) colon = i;
    else if (c === '}') {
      if (depth === 0) {
        const nameEnd = colon < 0 ? i : colon;
        const name = text.slice(start + 2, nameEnd).trim();
        if (name === '') throw new ExpandError(`empty variable name in '${text}'`);
        return { start, end: i + 1, name, fallback: colon < 0 ? undefined : text.slice(colon + 1, i) };
      }
      depth--;
    }
  }
  throw new ExpandError(`unterminated variable reference in '${text}' (missing '}')`);
}

function resolve(ref: Reference, lookup: Lookup): unknown {
  const found = lookup(ref.name);
  if (found !== undefined) return found;
  if (ref.fallback !== undefined) return expandString(ref.fallback, lookup);
  throw new ExpandError(`missing variable \${${ref.name}}: set ${ref.name} in the environment or give a default as \${${ref.name}:default}`);
}

function expandString(text: string, lookup: Lookup): unknown {
  if (text.startsWith('${')) {
    const ref = readReference(text, 0);
    if (ref.end === text.length) return typed(resolve(ref, lookup));
  }
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) { out += '${'; i += 3; continue; }
    if (text.startsWith('${', i)) {
      const ref = readReference(text, i);
      out += String(resolve(ref, lookup));
      i = ref.end;
      continue;
    }
    out += text[i];
    i++;
  }
  return out;
}

/**
 * A whole-value reference keeps the type its text spells: numbers and booleans.
 * Digits with a leading zero (`0600`, a PIN-like password) stay strings.
 */
function typed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(t)) {
    const n = Number(t);
    // Past 2^53 the number would silently change; keep the text.
    return Number.isInteger(n) && !Number.isSafeInteger(n) ? value : n;
  }
  if (t === 'true') return true;
  if (t === 'false') return false;
  return value;
}
