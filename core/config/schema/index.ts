import { isSchemaLeaf, type SchemaLeaf, type SchemaSection } from './section.js';
import { generalSchema } from './general.js';
import { httpSchema } from './http.js';
import { loggingSchema } from './logging.js';
import { memorySchema } from './memory.js';
import { pathSchema } from './path.js';
import { queueSchema } from './queue.js';
import { setupSchema } from './setup.js';

export type { SchemaLeaf, SchemaSection } from './section.js';

/**
 * Every global setting convict validates. To add settings: write a fragment file in this
 * folder and list it here. A top-level key with a fragment is validated here, even if it is
 * also in OPAQUE_SECTIONS (e.g. once `setup.ts` exists, `setup` is checked by its schema).
 */
export const SCHEMA_SECTIONS: readonly SchemaSection[] = [
  generalSchema,
  pathSchema,
  queueSchema,
  httpSchema,
  memorySchema,
  loggingSchema,
  setupSchema,
];

/**
 * Top-level keys passed through unvalidated here because their owners validate them:
 * `output` (output registry), `processors` (processors builder), `procbeat`/`auditbeat`
 * (module registry; only `.modules` is allowed below them), `setup` (setup commands).
 */
export const OPAQUE_SECTIONS: ReadonlySet<string> = new Set(['output', 'processors', 'setup']);

/** Keys holding module lists; each top-level key allows only `modules` below it. */
export const MODULE_KEYS = ['procbeat.modules', 'auditbeat.modules'] as const;
export type ModuleKey = (typeof MODULE_KEYS)[number];

/** The whole schema, fragments merged; a key defined twice is a programming error. */
export function globalSchema(): SchemaSection {
  const merged: SchemaSection = {};
  for (const section of SCHEMA_SECTIONS) mergeSection(merged, section, '');
  return merged;
}

function mergeSection(into: SchemaSection, from: SchemaSection, at: string): void {
  for (const [key, node] of Object.entries(from)) {
    const existing = into[key];
    const where = at === '' ? key : `${at}.${key}`;
    if (existing === undefined) {
      into[key] = isSchemaLeaf(node) ? node : mergeCopy(node, where);
    } else if (!isSchemaLeaf(existing) && !isSchemaLeaf(node)) {
      mergeSection(existing, node, where);
    } else {
      throw new Error(`config schema: '${where}' is defined twice`);
    }
  }
}

function mergeCopy(node: SchemaSection, at: string): SchemaSection {
  const copy: SchemaSection = {};
  mergeSection(copy, node, at);
  return copy;
}

/** Every leaf of the schema with its dotted key, for docs and `export config`. */
export function schemaLeaves(schema: SchemaSection = globalSchema(), at = ''): Array<[string, SchemaLeaf]> {
  const out: Array<[string, SchemaLeaf]> = [];
  for (const [key, node] of Object.entries(schema)) {
    const where = at === '' ? key : `${at}.${key}`;
    if (isSchemaLeaf(node)) out.push([where, node]);
    else out.push(...schemaLeaves(node, where));
  }
  return out;
}
