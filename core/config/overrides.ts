import { normalizeDottedKeys, RAW_SECTIONS, type DottedProblem } from './dotted.js';
import { childKey, isPlainObject } from './keys.js';
import { parseFlagValue } from './yaml.js';

/** One `-E key=value` flag, parsed. */
export interface Override {
  /** Dotted key; a numeric part indexes into a list (`procbeat.modules.0.period`). */
  key: string;
  value: unknown;
}

export interface OverrideProblem {
  key: string;
  problem: string;
}

export function parseOverride(flag: string): Override | OverrideProblem {
  const eq = flag.indexOf('=');
  if (eq <= 0) return { key: flag, problem: `-E expects key=value, got '${flag}'` };
  const key = flag.slice(0, eq).trim();
  if (key.split('.').some((p) => p === '')) return { key, problem: `-E: invalid key '${key}'` };
  const parsed = parseFlagValue(flag.slice(eq + 1));
  if (!parsed.ok) {
    return { key, problem: `-E: cannot parse the value '${flag.slice(eq + 1)}': ${parsed.problems[0]?.message ?? 'invalid YAML'}` };
  }
  const problems: DottedProblem[] = [];
  // Processor lists keep their keys as written (see RAW_SECTIONS).
  const value = key.split('.').at(-1) === 'processors'
    ? parsed.value
    : normalizeDottedKeys(parsed.value, key, problems, { raw: RAW_SECTIONS });
  if (problems.length > 0) return { key, problem: problems[0]!.problem };
  return { key, value };
}

export function isOverrideProblem(o: Override | OverrideProblem): o is OverrideProblem {
  return 'problem' in o;
}

/**
 * Sets `override.key` in `tree` (mutating it). Mappings merge into an existing mapping;
 * anything else replaces. Returns a problem when a step of the key is not a mapping or list.
 */
export function applyOverride(tree: Record<string, unknown>, override: Override): OverrideProblem | undefined {
  const parts = override.key.split('.');
  let node: Record<string, unknown> | unknown[] = tree;
  let at = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(part)) {
        return { key: override.key, problem: `-E: '${at}' is a list; use a number to pick an item` };
      }
      const index = Number(part);
      if (index > node.length) {
        return { key: override.key, problem: `-E: '${at}' has ${node.length} items; cannot set item ${index}` };
      }
      at = childKey(at, index);
      if (last) { node[index] = merge(node[index], override.value); return undefined; }
      if (node[index] === undefined) node[index] = {};
      const next: unknown = node[index];
      if (!isPlainObject(next) && !Array.isArray(next)) return notContainer(override.key, at);
      node = next;
    } else {
      at = childKey(at, part);
      if (part === '__proto__') return { key: override.key, problem: "-E: '__proto__' is reserved" };
      if (last) { node[part] = merge(node[part], override.value); return undefined; }
      if (node[part] === undefined || node[part] === null) node[part] = {};
      const next: unknown = node[part];
      if (!isPlainObject(next) && !Array.isArray(next)) return notContainer(override.key, at);
      node = next;
    }
  }
  return undefined;
}

function notContainer(key: string, at: string): OverrideProblem {
  return { key, problem: `-E: cannot set '${key}': '${at}' already has a value that is not a mapping` };
}

function merge(existing: unknown, value: unknown): unknown {
  if (!isPlainObject(existing) || !isPlainObject(value)) return value;
  const out: Record<string, unknown> = { ...existing };
  for (const [k, v] of Object.entries(value)) out[k] = merge(out[k], v);
  return out;
}
