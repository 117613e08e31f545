import type { BeatEvent, Fields } from '../../api/event.js';

/**
 * The adapter between today's BeatEvent and the store's opaque bytes: JSON of
 * `{t: epoch ms, f: fields, m: meta}`. The store never looks inside; when the queue carries
 * encoded documents instead of events, only this file changes.
 */
export function encodeEvent(event: BeatEvent): Buffer {
  const doc = event.meta ? { t: event.timestamp.getTime(), f: event.fields, m: event.meta } : { t: event.timestamp.getTime(), f: event.fields };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** The event, or an Error saying what is wrong with the bytes. */
export function decodeEvent(bytes: Buffer): BeatEvent | Error {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return new Error(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null) return new Error('not an object');
  const o = v as { t?: unknown; f?: unknown; m?: unknown };
  if (typeof o.t !== 'number' || typeof o.f !== 'object' || o.f === null || Array.isArray(o.f)) return new Error('missing t (time) or f (fields)');
  const event: BeatEvent = { timestamp: new Date(o.t), fields: o.f as Fields };
  if (typeof o.m === 'object' && o.m !== null) event.meta = o.m as Record<string, string>;
  return event;
}
