import convict from 'convict';
import { childKey, closest, isPlainObject } from './keys.js';
import { registerFormats } from './schema/formats.js';
import { globalSchema, schemaLeaves, type SchemaSection } from './schema/index.js';
import { isSchemaLeaf } from './schema/section.js';

export interface SchemaProblem {
  key: string;
  problem: string;
}

/**
 * Validates the global settings against the convict schema. Shape problems (unknown keys,
 * a scalar where a mapping belongs) are found by walking the schema first, so every problem
 * in the file is reported in one pass; convict then checks each value's format and fills
 * in defaults. Returns the settings with defaults applied.
 */
export function validateGlobal(
  tree: Record<string, unknown>,
  problems: SchemaProblem[],
): Record<string, unknown> {
  registerFormats();
  const schema = globalSchema();
  const leaves: Array<[string, unknown]> = [];
  collectLeaves(tree, schema, '', leaves, problems);

  const config = convict(schema as unknown as convict.Schema<Record<string, unknown>>);
  for (const [key, value] of leaves) config.set(key, value);
  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    const given = new Map(leaves);
    const sensitive = new Set(schemaLeaves(schema).filter(([, l]) => l.sensitive === true).map(([k]) => k));
    for (const line of (err as Error).message.split('\n')) {
      const p = parseConvictLine(line);
      // Say what was given (convict leaves out falsy values), unless it is a secret.
      if (p.invalid && given.has(p.key) && !sensitive.has(p.key)) {
        p.problem += `, got ${JSON.stringify(given.get(p.key))}`;
      }
      problems.push({ key: p.key, problem: p.problem });
    }
  }
  return config.getProperties();
}

function collectLeaves(
  value: Record<string, unknown>,
  schema: SchemaSection,
  at: string,
  leaves: Array<[string, unknown]>,
  problems: SchemaProblem[],
): void {
  for (const [key, child] of Object.entries(value)) {
    const where = childKey(at, key);
    const node = schema[key];
    if (node === undefined) {
      const hint = closest(key, Object.keys(schema));
      problems.push({
        key: where,
        problem: `unknown setting${hint ? ` (did you mean '${childKey(at, hint)}'?)` : ''}`,
      });
      continue;
    }
    if (isSchemaLeaf(node)) {
      // null means "not set" in YAML (`name:`), as in beats: keep the default.
      if (child !== null) leaves.push([where, child]);
      continue;
    }
    if (child === null) continue;
    if (!isPlainObject(child)) {
      problems.push({ key: where, problem: `must be a mapping with the settings ${Object.keys(node).join(', ')}` });
      continue;
    }
    collectLeaves(child, node, where, leaves, problems);
  }
}

const INVALID = /^(.+?): (.*?)(?:: value was (.*))?$/;
const UNDECLARED = /^configuration param '(.+)' not declared in the schema$/;
const MISSING = /^configuration param '(.+)' missing from config/;

function parseConvictLine(line: string): SchemaProblem & { invalid: boolean } {
  let m = UNDECLARED.exec(line);
  if (m) return { key: m[1]!, problem: 'unknown setting', invalid: false };
  m = MISSING.exec(line);
  if (m) return { key: m[1]!, problem: 'must be set', invalid: false };
  m = INVALID.exec(line);
  if (m) {
    const problem = m[2]!.trim().replace(/^must be one of the possible values: (.*)$/, 'must be one of $1');
    return { key: m[1]!, problem, invalid: true };
  }
  return { key: '', problem: line, invalid: false };
}
