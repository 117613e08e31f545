import { toDocument, type BeatEvent } from '../../api/event.js';
import { isEncoded, type OutputEvent } from '../../api/output.js';
import type { FormatString } from './format-string.js';
import { indexName, NO_PIPELINE } from './routing.js';

/** One event on its way through bulk requests, serialised once and re-sent as is on retries. */
export interface BulkItem {
  /** The NDJSON action line, e.g. `{"create":{"_index":"procbeat-0.1.0"}}`. */
  action: string;
  /** The NDJSON document line. */
  source: string;
  /** Failed attempts so far (transient failures only). */
  attempts: number;
  /** Set once the event was rewritten for the dead-letter index. */
  deadLettered: boolean;
}

export interface EncodeSettings {
  index: FormatString;
  pipeline: FormatString | undefined;
}

/** Routing keys an event's `meta` may carry, as beats' `@metadata` does. */
const META_OP_TYPES = new Set(['create', 'index']);

export function encodeEvent(event: BeatEvent, s: EncodeSettings): BulkItem | { error: string } {
  const meta = event.meta ?? {};
  let index: string;
  if (meta['index'] !== undefined && meta['index'] !== '') {
    index = indexName(meta['index']);
  } else {
    const r = s.index.render(event.fields, event.timestamp);
    if ('error' in r) return { error: `cannot select the index: ${r.error}` };
    index = indexName(r.value);
  }
  let pipeline: string | undefined;
  if (meta['pipeline'] !== undefined) {
    // an event that asks for no pipeline must also skip the template's default one
    pipeline = meta['pipeline'] === '' ? NO_PIPELINE : meta['pipeline'];
  } else if (s.pipeline) {
    const r = s.pipeline.render(event.fields, event.timestamp);
    if ('error' in r) return { error: `cannot select the pipeline: ${r.error}` };
    pipeline = r.value === '' ? undefined : r.value.toLowerCase();
  }
  // data streams only accept `create`; a plain index may ask for `index` explicitly
  const opType = meta['op_type'] !== undefined && META_OP_TYPES.has(meta['op_type']) ? meta['op_type'] : 'create';
  const target: Record<string, string> = { _index: index };
  if (meta['_id'] !== undefined && meta['_id'] !== '') target['_id'] = meta['_id'];
  if (pipeline !== undefined) target['pipeline'] = pipeline;

  let source: string;
  try {
    source = JSON.stringify(toDocument(event));
  } catch (e) {
    return { error: `cannot serialise the event: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { action: JSON.stringify({ [opType]: target }), source, attempts: 0, deadLettered: false };
}

/** The bulk item of an event, encoded now or when it entered the queue (Output.encode). */
export function bulkItemOf(event: OutputEvent, s: EncodeSettings): BulkItem | { error: string } {
  if (!isEncoded(event)) return encodeEvent(event, s);
  if (event.error !== undefined) return { error: event.error };
  return { action: event.head ?? '', source: event.body, attempts: 0, deadLettered: false };
}

/**
 * Rewrites a refused event for the dead-letter index the way beats does: the original fields
 * become the `message` string, and `error.type` / `error.message` say why it was refused.
 * No pipeline runs on it, not even the index's default one: a pipeline may be what refused
 * the document in the first place.
 */
export function toDeadLetter(item: BulkItem, index: string, status: number, error: string): void {
  const { '@timestamp': ts, ...fields } = JSON.parse(item.source) as Record<string, unknown>;
  const target: Record<string, string> = { _index: indexName(index), pipeline: NO_PIPELINE };
  item.action = JSON.stringify({ create: target });
  item.source = JSON.stringify({
    '@timestamp': ts,
    message: JSON.stringify(fields),
    error: { type: status, message: error },
  });
  item.deadLettered = true;
  item.attempts = 0;
}
