/**
 * Where a document goes: the index (or data stream) name and the ingest pipeline, as the bulk
 * action line carries them. Kept apart from encoding so every producer of an action line
 * (events, the dead-letter index) names its target the same way.
 */

/**
 * The bulk `pipeline` value that skips the index's default pipeline. An empty or missing
 * `pipeline` does not: Elasticsearch then runs `index.default_pipeline`.
 */
export const NO_PIPELINE = '_none';

/**
 * Elasticsearch refuses index and data stream names with capitals (400
 * invalid_index_name_exception on every document); beats lowercases the rendered name, so
 * `%{[host.name]}` on a host called `Web-01` still lands in one valid index.
 */
export function indexName(rendered: string): string {
  return rendered.toLowerCase();
}
