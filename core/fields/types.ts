/** The field types fields.yml may use (the Elasticsearch mapping types procbeat emits). */
export const FIELD_TYPES = [
  'keyword', 'constant_keyword', 'wildcard', 'text', 'match_only_text', 'version',
  'long', 'integer', 'short', 'byte', 'unsigned_long',
  'double', 'float', 'half_float', 'scaled_float',
  'date', 'date_nanos', 'boolean', 'ip', 'object', 'nested', 'flattened', 'geo_point', 'binary',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldDefinition {
  /** Full dotted name, e.g. `process.parent.pid`. */
  name: string;
  type: FieldType;
  description: string;
  /** The `key` of the top-level group that declares it. */
  group: string;
  /** 1-based line of the declaration in fields.yml. */
  line: number;
  example?: string | number | boolean;
  ignoreAbove?: number;
  /** For `object` fields: the type of the values under it. */
  objectType?: FieldType;
  /** The same value indexed a second way, e.g. `process.name.text` as match_only_text (ECS `multi_fields`). */
  multiFields?: MultiField[];
}

/** One entry of a field's `multi_fields`: a sub-field name (no dots) and its own mapping type. */
export interface MultiField {
  name: string;
  type: FieldType;
  /** false keeps it out of `index.query.default_field` (ECS marks every `.text` so). */
  defaultField?: boolean;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIp(v: string): boolean {
  if (IPV4.test(v)) return true;
  // IPv6, optionally with a zone; the URL parser is a strict validator for the address part.
  const addr = v.split('%')[0]!;
  if (!addr.includes(':')) return false;
  try {
    return new URL(`http://[${addr}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/**
 * Does one JSON value (an array element, not the array) fit the declared type the way
 * Elasticsearch would index it without coercion surprises?
 */
export function valueMatchesType(type: FieldType, value: unknown): boolean {
  switch (type) {
    case 'keyword': case 'constant_keyword': case 'wildcard': case 'text': case 'match_only_text': case 'version': case 'binary':
      return typeof value === 'string';
    case 'long': case 'integer': case 'short': case 'byte': case 'unsigned_long':
      return typeof value === 'number' && Number.isInteger(value);
    case 'double': case 'float': case 'half_float': case 'scaled_float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'date': case 'date_nanos':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value));
    case 'boolean':
      return typeof value === 'boolean';
    case 'ip':
      return typeof value === 'string' && isIp(value);
    case 'object': case 'nested': case 'flattened':
      return value !== null && typeof value === 'object';
    case 'geo_point':
      return value !== null && (typeof value === 'object' || typeof value === 'string');
  }
}
