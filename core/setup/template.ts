import type { estypes } from '@elastic/elasticsearch';
import type { FieldDefinition, FieldType } from '../fields/types.js';
import { fingerprint } from './compare.js';

/**
 * The body of `PUT _index_template/<name>`, typed with the client's own request type: a body
 * Elasticsearch would not accept does not compile.
 */
export type IndexTemplateBody = Required<
  Pick<estypes.IndicesPutIndexTemplateRequest, 'index_patterns' | 'data_stream' | 'priority' | 'template' | '_meta'>
>;

/** What the generator needs of a field; core/fields' FieldDefinition fits. */
export type TemplateField = Pick<FieldDefinition, 'name' | 'type'> & Partial<Pick<FieldDefinition, 'ignoreAbove' | 'objectType' | 'multiFields'>>;

export interface TemplateOptions {
  beatName: string;
  version: string;
  /** index_patterns: the data stream name (and whatever else the user configured). */
  patterns: string[];
  priority: number;
  /** `index.lifecycle.name`, when ILM is on. */
  ilmPolicy?: string;
  /** `index.default_pipeline`, when the module's ingest pipeline is loaded with it. */
  defaultPipeline?: string;
  /** `setup.template.settings`: `index.*` merged into the index settings, `_source` into the mappings. */
  settings?: Record<string, unknown>;
}

export const KEYWORD_IGNORE_ABOVE = 1024;
/**
 * The template's own revision, in its `_meta`: raise it whenever the generated template changes
 * for the same procbeat version, so a running procbeat replaces the older one on connect.
 * 2: `.text` multi-fields, `labels` strings only, `fields.*` in the default query fields.
 */
export const TEMPLATE_REVISION = 2;
/** beats' limit for index.query.default_field. */
const MAX_DEFAULT_FIELDS = 1024;

export class TemplateFieldError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`field '${field}': ${problem}`);
    this.name = 'TemplateFieldError';
  }
}

function leafMapping(type: FieldType, f: TemplateField): estypes.MappingProperty {
  switch (type) {
    case 'keyword': return { type: 'keyword', ignore_above: f.ignoreAbove ?? KEYWORD_IGNORE_ABOVE };
    case 'constant_keyword': return { type: 'constant_keyword' };
    case 'wildcard': return { type: 'wildcard' };
    case 'text': return { type: 'text', norms: false };
    case 'match_only_text': return { type: 'match_only_text' };
    case 'version': return { type: 'version' };
    case 'long': return { type: 'long' };
    case 'integer': return { type: 'integer' };
    case 'short': return { type: 'short' };
    case 'byte': return { type: 'byte' };
    case 'unsigned_long': return { type: 'unsigned_long' };
    case 'double': return { type: 'double' };
    case 'float': return { type: 'float' };
    case 'half_float': return { type: 'half_float' };
    case 'scaled_float': return { type: 'scaled_float', scaling_factor: 1000 };
    case 'date': return { type: 'date' };
    case 'date_nanos': return { type: 'date_nanos' };
    case 'boolean': return { type: 'boolean' };
    case 'ip': return { type: 'ip' };
    case 'geo_point': return { type: 'geo_point' };
    case 'binary': return { type: 'binary' };
    case 'flattened': return { type: 'flattened' };
    case 'nested': return { type: 'nested' };
    case 'object': return { type: 'object' };
  }
}

/** The JSON value type Elasticsearch sees for each object_type, as beats writes match_mapping_type. */
const MATCH_MAPPING_TYPE: Partial<Record<FieldType, string>> = {
  keyword: 'string', constant_keyword: 'string', wildcard: 'string', text: 'string', match_only_text: 'string',
  version: 'string', ip: 'string', binary: 'string',
  long: 'long', integer: 'long', short: 'long', byte: 'long', unsigned_long: 'long',
  double: 'double', float: 'double', half_float: 'double', scaled_float: 'double',
  boolean: 'boolean', date: 'date', date_nanos: 'date',
};

/** ECS multi_fields, e.g. `process.name` also as `process.name.text` (match_only_text). */
function withMultiFields(mapping: estypes.MappingProperty, f: TemplateField): estypes.MappingProperty {
  if (f.multiFields === undefined || f.multiFields.length === 0) return mapping;
  const fields: Record<string, estypes.MappingProperty> = {};
  for (const m of f.multiFields) fields[m.name] = leafMapping(m.type, { name: `${f.name}.${m.name}`, type: m.type });
  return { ...mapping, fields } as estypes.MappingProperty;
}

type ObjectNode = { kind: 'object'; declared?: FieldType; children: Map<string, Node> };
type Node = ObjectNode | { kind: 'leaf'; mapping: estypes.MappingProperty };

/**
 * Mappings from fields.yml: every declared field with its type (dotted names become nested
 * `properties`), keyword strings with ignore_above 1024, `date_detection: false`, dynamic
 * templates for `object` fields with an `object_type` and, last, strings as keyword.
 */
export function buildMappings(fields: readonly TemplateField[], meta: Record<string, string>): estypes.MappingTypeMapping {
  const root: ObjectNode = { kind: 'object', children: new Map() };
  const dynamicTemplates: Array<Partial<Record<string, estypes.MappingDynamicTemplate>>> = [];
  const all = fields.some((f) => f.name === '@timestamp') ? fields : [{ name: '@timestamp', type: 'date' as const }, ...fields];

  for (const f of all) {
    const parts = f.name.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const existing = node.children.get(part);
      if (existing === undefined) {
        const child: ObjectNode = { kind: 'object', children: new Map() };
        node.children.set(part, child);
        node = child;
      } else if (existing.kind === 'object' && (existing.declared === undefined || existing.declared === 'object' || existing.declared === 'nested')) {
        node = existing;
      } else {
        throw new TemplateFieldError(f.name, `'${parts.slice(0, i + 1).join('.')}' is declared as a value, not an object`);
      }
    }
    const last = parts[parts.length - 1]!;
    const existing = node.children.get(last);
    if (f.type === 'object' || f.type === 'nested') {
      if (existing !== undefined && existing.kind === 'leaf') throw new TemplateFieldError(f.name, 'declared twice');
      const obj: ObjectNode = existing ?? { kind: 'object', children: new Map() };
      obj.declared = f.type;
      node.children.set(last, obj);
      if (f.type === 'object' && f.objectType !== undefined && f.objectType !== 'object') {
        const mapping = leafMapping(f.objectType, f);
        // only values of that JSON type: an object under labels.* must stay an object
        const template: estypes.MappingDynamicTemplate = { path_match: `${f.name}.*`, mapping };
        const jsonType = MATCH_MAPPING_TYPE[f.objectType];
        if (jsonType !== undefined) template.match_mapping_type = jsonType;
        dynamicTemplates.push({ [f.name]: template });
      }
      continue;
    }
    if (existing !== undefined) {
      throw new TemplateFieldError(f.name, existing.kind === 'leaf' ? 'declared twice' : 'declared as a value but has sub-fields');
    }
    node.children.set(last, { kind: 'leaf', mapping: withMultiFields(leafMapping(f.type, f), f) });
  }

  dynamicTemplates.push({
    strings_as_keyword: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE } },
  });
  return {
    _meta: meta,
    date_detection: false,
    dynamic_templates: dynamicTemplates,
    properties: toProperties(root),
  };
}

function toProperties(node: ObjectNode): Record<string, estypes.MappingProperty> {
  const out: Record<string, estypes.MappingProperty> = {};
  for (const [name, child] of node.children) {
    if (child.kind === 'leaf') {
      out[name] = child.mapping;
    } else if (child.declared === 'nested') {
      out[name] = { type: 'nested', properties: toProperties(child) };
    } else if (child.children.size === 0) {
      out[name] = { type: 'object' };
    } else {
      out[name] = { properties: toProperties(child) };
    }
  }
  return out;
}

const SEARCHABLE_TEXT: ReadonlySet<FieldType> = new Set(['keyword', 'text', 'match_only_text', 'wildcard']);

/**
 * The keyword and text fields a query without a field name searches, as beats sets them:
 * multi-fields unless marked `default_field: false`, and `fields.*` for custom fields.
 */
function defaultFields(fields: readonly TemplateField[]): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (SEARCHABLE_TEXT.has(f.type)) out.push(f.name);
    for (const m of f.multiFields ?? []) if (SEARCHABLE_TEXT.has(m.type) && m.defaultField !== false) out.push(`${f.name}.${m.name}`);
  }
  const custom = fields.some((f) => f.name === 'fields' && f.type === 'object') ? ['fields.*'] : [];
  return [...out.slice(0, MAX_DEFAULT_FIELDS - custom.length), ...custom];
}

/** `PUT _index_template/<name>` body for the data stream procbeat writes to. */
export function buildIndexTemplate(fields: readonly TemplateField[], o: TemplateOptions): IndexTemplateBody {
  const meta = { beat: o.beatName, version: o.version };
  const mappings = buildMappings(fields, meta);
  const index: Record<string, unknown> = {
    refresh_interval: '5s',
    mapping: { total_fields: { limit: 10000 } },
    query: { default_field: defaultFields(fields) },
  };
  if (o.ilmPolicy !== undefined) index['lifecycle'] = { name: o.ilmPolicy };
  if (o.defaultPipeline !== undefined) index['default_pipeline'] = o.defaultPipeline;

  const user = o.settings ?? {};
  const userIndex = user['index'];
  if (isRecord(userIndex)) deepMerge(index, userIndex);
  const userSource = user['_source'];
  if (isRecord(userSource)) mappings._source = userSource as estypes.MappingSourceField;
  const rest = Object.fromEntries(Object.entries(user).filter(([k]) => k !== 'index' && k !== '_source'));

  const settings: estypes.IndicesIndexSettings = { ...rest, index: index as estypes.IndicesIndexSettings };
  const body: IndexTemplateBody = {
    index_patterns: o.patterns,
    data_stream: {},
    priority: o.priority,
    template: { settings, mappings },
    _meta: { ...meta, revision: TEMPLATE_REVISION },
  };
  // what setup compares on its next run: settings come back from Elasticsearch rewritten
  body._meta = { ...body._meta, fingerprint: fingerprint(body) };
  return body;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (isRecord(cur) && isRecord(v)) deepMerge(cur, v);
    else into[k] = v;
  }
}
