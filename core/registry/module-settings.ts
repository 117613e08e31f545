/**
 * The beats "client" settings a module block may carry besides its datasets' own keys:
 * `processors`, `fields`, `fields_under_root`, `tags`, `index`, `pipeline`, `keep_null`
 * and `service.name`. Auditbeat applies them to that module's events only; they are read
 * here so a dataset never sees them, and applied by core/runner/module-processing.ts.
 */
import type { Fields } from '../api/event.js';
import { childKey, isPlainObject } from '../config/keys.js';
import { compileFormatString } from '../outputs/elasticsearch/format-string.js';

export const MODULE_PROCESSING_KEYS: ReadonlySet<string> = new Set([
  'processors', 'fields', 'fields_under_root', 'tags', 'index', 'pipeline', 'keep_null', 'service',
]);

export interface ModuleProcessingSettings {
  /** The raw `processors` list, built (and validated) with the global processor builders. */
  processors?: unknown[];
  fields?: Fields;
  fieldsUnderRoot: boolean;
  tags: string[];
  /** Format strings (`%{[field]}`, `%{+yyyy.MM.dd}`) for the event's index / ingest pipeline. */
  index?: string;
  pipeline?: string;
  keepNull: boolean;
  serviceName?: string;
}

/** Splits the processing keys out of `block` (removing them) and checks their types. */
export function takeModuleSettings(
  block: Record<string, unknown>,
  key: string,
  fail: (key: string, problem: string) => void,
): ModuleProcessingSettings {
  const out: ModuleProcessingSettings = { fieldsUnderRoot: false, tags: [], keepNull: false };
  const at = (k: string): string => childKey(key, k);
  const bool = (k: string): boolean | undefined => {
    const v = block[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') { fail(at(k), `must be true or false, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  };
  const format = (k: string): string | undefined => {
    const v = block[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') { fail(at(k), `must be a string, got ${JSON.stringify(v)}`); return undefined; }
    const compiled = compileFormatString(v);
    if ('error' in compiled) { fail(at(k), compiled.error); return undefined; }
    return v;
  };

  const processors = block['processors'];
  if (processors !== undefined && processors !== null) {
    if (!Array.isArray(processors)) fail(at('processors'), 'must be a list of processors');
    else out.processors = processors;
  }
  const fields = block['fields'];
  if (fields !== undefined && fields !== null) {
    if (!isPlainObject(fields)) fail(at('fields'), 'must be a map of custom fields');
    else if (Object.keys(fields).length > 0) out.fields = fields as Fields;
  }
  out.fieldsUnderRoot = bool('fields_under_root') ?? false;
  out.keepNull = bool('keep_null') ?? false;
  const tags = block['tags'];
  if (tags !== undefined && tags !== null) {
    const list = typeof tags === 'string' ? [tags] : tags;
    if (!Array.isArray(list) || !list.every((t): t is string => typeof t === 'string')) fail(at('tags'), 'must be a list of strings');
    else out.tags = [...list];
  }
  const index = format('index');
  if (index !== undefined) out.index = index;
  const pipeline = format('pipeline');
  if (pipeline !== undefined) out.pipeline = pipeline;
  const service = block['service'];
  if (service !== undefined && service !== null) {
    if (!isPlainObject(service)) fail(at('service'), 'must be a map with name');
    else {
      for (const k of Object.keys(service)) if (k !== 'name') fail(at(`service.${k}`), `unknown setting 'service.${k}' (known: service.name)`);
      const name = service['name'];
      if (name !== undefined && typeof name !== 'string') fail(at('service.name'), `must be a string, got ${JSON.stringify(name)}`);
      else if (name !== undefined && name !== '') out.serviceName = name;
    }
  }
  for (const k of MODULE_PROCESSING_KEYS) delete block[k];
  return out;
}

/**
 * True when the settings change nothing, so the runner adds no step (and no cost). keep_null
 * alone changes nothing: datasets never emit nulls, only module fields and processors can.
 */
export function isNoop(s: ModuleProcessingSettings): boolean {
  return (s.processors === undefined || s.processors.length === 0) && s.fields === undefined && s.tags.length === 0
    && s.index === undefined && s.pipeline === undefined && s.serviceName === undefined;
}
