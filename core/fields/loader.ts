/**
 * Reads fields.yml (beats format) into a flat list of field definitions. A malformed file
 * fails with the file, the line and the field at fault, never with a half-read list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { FIELD_TYPES, type FieldDefinition, type FieldType, type MultiField } from './types.js';

export class FieldsFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly field: string, problem: string) {
    super(`${file}:${line}: ${field ? `field '${field}': ` : ''}${problem}`);
    this.name = 'FieldsFileError';
  }
}

const FIELD_KEYS = new Set([
  'name', 'type', 'description', 'fields', 'example', 'ignore_above', 'object_type', 'level',
  'required', 'format', 'default_field', 'short', 'pattern', 'multi_fields',
]);
const MULTI_FIELD_KEYS = new Set(['name', 'type', 'default_field']);
/** Types a value can also be indexed as; structured types cannot be multi-fields. */
const NO_MULTI_FIELDS: ReadonlySet<string> = new Set(['object', 'nested', 'flattened']);
const GROUP_KEYS = new Set(['key', 'title', 'description', 'fields', 'release', 'anchor', 'short_config']);

/** The repository's fields.yml, found from this file both in core/fields and in dist/core/fields. */
export function defaultFieldsPath(): string {
  for (const rel of ['../../fields.yml', '../../../fields.yml']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('../../../fields.yml', import.meta.url));
}

export function loadFields(path: string = defaultFieldsPath()): FieldDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FieldsFileError(path, 0, '', `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseFields(text, path);
}

export function parseFields(text: string, file = 'fields.yml'): FieldDefinition[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 0);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new FieldsFileError(file, e.linePos?.[0]?.line ?? 0, '', `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const fail = (node: Node | null | undefined, field: string, problem: string): never => {
    throw new FieldsFileError(file, lineOf(node), field, problem);
  };
  const root = doc.contents;
  if (!isSeq(root)) fail(root, '', 'expected a list of field groups (- key: ...)');

  const out: FieldDefinition[] = [];
  const seen = new Map<string, number>();

  const str = (map: YAMLMap, key: string): { value: string | undefined; node: Node | undefined } => {
    const node = map.get(key, true) as Node | undefined;
    if (node === undefined) return { value: undefined, node };
    if (!isScalar(node) || typeof node.value !== 'string') return { value: undefined, node };
    return { value: node.value, node };
  };

  const walk = (list: unknown, prefix: string, group: string): void => {
    if (!isSeq(list)) fail(list as Node, prefix, "'fields' must be a list");
    for (const item of (list as { items: unknown[] }).items) {
      const node = item as Node;
      if (!isMap(item)) fail(node, prefix, 'each field must be a map with name, type and description');
      const map = item as YAMLMap;
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : '';
        if (!FIELD_KEYS.has(k)) fail(pair.key as Node, prefix, `unknown key '${k}' in a field`);
      }
      const name = str(map, 'name');
      if (!name.value || name.value.trim() === '') fail(name.node ?? node, prefix, "missing or non-string 'name'");
      const full = prefix ? `${prefix}.${name.value}` : name.value!;
      const type = str(map, 'type');
      if (!type.value) fail(type.node ?? node, full, "missing or non-string 'type'");
      const desc = str(map, 'description');
      if (!desc.value || desc.value.trim() === '') fail(desc.node ?? node, full, "missing or empty 'description'");
      const children = map.get('fields', true) as Node | undefined;
      if (type.value === 'group') {
        if (children === undefined) fail(node, full, "a group needs 'fields'");
        walk(children, full, group);
        continue;
      }
      if (children !== undefined) fail(children, full, `a field of type '${type.value}' cannot have 'fields' (use type: group)`);
      if (!(FIELD_TYPES as readonly string[]).includes(type.value!)) {
        fail(type.node, full, `unknown type '${type.value}' (expected group or one of ${FIELD_TYPES.join(', ')})`);
      }
      const line = lineOf(node);
      const dup = seen.get(full);
      if (dup !== undefined) fail(node, full, `declared twice (first at line ${dup})`);
      seen.set(full, line);
      const def: FieldDefinition = { name: full, type: type.value as FieldType, description: desc.value!.trim(), group, line };
      const example = map.get('example');
      if (typeof example === 'string' || typeof example === 'number' || typeof example === 'boolean') def.example = example;
      const ignoreAbove = map.get('ignore_above');
      if (ignoreAbove !== undefined) {
        if (typeof ignoreAbove !== 'number' || !Number.isInteger(ignoreAbove) || ignoreAbove <= 0) {
          fail(map.get('ignore_above', true) as Node, full, "'ignore_above' must be a positive integer");
        }
        def.ignoreAbove = ignoreAbove as number;
      }
      const objectType = str(map, 'object_type');
      if (objectType.node !== undefined) {
        if (def.type !== 'object') fail(objectType.node, full, "'object_type' only applies to type: object");
        if (!objectType.value || !(FIELD_TYPES as readonly string[]).includes(objectType.value)) {
          fail(objectType.node, full, `unknown object_type '${String(objectType.value)}'`);
        }
        def.objectType = objectType.value as FieldType;
      }
      const multi = map.get('multi_fields', true) as Node | undefined;
      if (multi !== undefined) {
        if (NO_MULTI_FIELDS.has(def.type)) fail(multi, full, `a field of type '${def.type}' cannot have 'multi_fields'`);
        def.multiFields = parseMultiFields(multi, full, fail);
      }
      out.push(def);
    }
  };

  for (const item of (root as { items: unknown[] }).items) {
    if (!isMap(item)) fail(item as Node, '', 'each top-level entry must be a group map with key, title, fields');
    const map = item as YAMLMap;
    for (const pair of map.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!GROUP_KEYS.has(k)) fail(pair.key as Node, '', `unknown key '${k}' in a top-level group`);
    }
    const key = str(map, 'key');
    if (!key.value) fail(key.node ?? (item as Node), '', "top-level group without a string 'key'");
    const fields = map.get('fields', true) as Node | undefined;
    if (fields === undefined) fail(item as Node, '', `group '${key.value}' has no 'fields'`);
    walk(fields, '', key.value!);
  }

  // A leaf may not also be the parent of another field (process.pid and process.pid.x).
  const names = new Set(out.map((d) => d.name));
  for (const d of out) {
    const parts = d.name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('.');
      if (names.has(parent)) {
        const p = out.find((x) => x.name === parent)!;
        if (p.type !== 'object' && p.type !== 'flattened' && p.type !== 'nested') {
          throw new FieldsFileError(file, d.line, d.name, `'${parent}' (line ${p.line}) is a ${p.type} and cannot have sub-fields`);
        }
      }
    }
  }
  return out;
}

type Fail = (node: Node | null | undefined, field: string, problem: string) => never;

/** `multi_fields: [{name: text, type: match_only_text, default_field: false}]`, as ECS writes them. */
function parseMultiFields(node: Node, field: string, fail: Fail): MultiField[] {
  if (!isSeq(node) || node.items.length === 0) fail(node, field, "'multi_fields' must be a non-empty list of {name, type}");
  const out: MultiField[] = [];
  for (const item of (node as { items: unknown[] }).items) {
    if (!isMap(item)) fail(item as Node, field, "each of 'multi_fields' must be a map with name and type");
    const map = item as YAMLMap;
    for (const pair of map.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!MULTI_FIELD_KEYS.has(k)) fail(pair.key as Node, field, `unknown key '${k}' in multi_fields`);
    }
    const name = map.get('name');
    const type = map.get('type');
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name)) {
      fail(map.get('name', true) as Node ?? (item as Node), field, "a multi_fields entry needs a 'name' without dots");
    }
    const at = `${field}.${name as string}`;
    if (typeof type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(type) || NO_MULTI_FIELDS.has(type)) {
      fail(map.get('type', true) as Node ?? (item as Node), at, `unknown multi_fields type '${String(type)}'`);
    }
    if (out.some((m) => m.name === name)) fail(item as Node, at, 'declared twice in multi_fields');
    const mf: MultiField = { name: name as string, type: type as FieldType };
    const df = map.get('default_field');
    if (df !== undefined) {
      if (typeof df !== 'boolean') fail(map.get('default_field', true) as Node, at, "'default_field' must be true or false");
      mf.defaultField = df as boolean;
    }
    out.push(mf);
  }
  return out;
}
