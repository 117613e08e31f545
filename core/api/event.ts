/**
 * The unit that flows from a dataset through the pipeline to an output.
 * `fields` is the ECS document without `@timestamp`; outputs add `@timestamp`
 * from `timestamp` when they serialise.
 */
export type FieldValue = string | number | boolean | null | FieldValue[] | Fields;
export interface Fields {
  [key: string]: FieldValue | undefined;
}

export interface BeatEvent {
  timestamp: Date;
  fields: Fields;
  /**
   * Routing hints for outputs, never serialised: `pipeline`, `index`, and `_id` (the
   * Elasticsearch output sends it as the document id, so a re-send after a timeout is
   * answered 409 instead of indexing twice).
   */
  meta?: Record<string, string>;
}

/** The serialised form every output writes: `@timestamp` first, then the fields. */
export function toDocument(event: BeatEvent): Fields {
  return { '@timestamp': event.timestamp.toISOString(), ...event.fields };
}
