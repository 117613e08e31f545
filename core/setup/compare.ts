import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

/**
 * How setup decides whether what the cluster holds is what it would load. Elasticsearch adds
 * to what it was given (9.2+ puts `created_date_millis` / `modified_date_millis` on every
 * pipeline, ILM adds `version` and `in_use_by`, templates come back with their settings
 * normalised to strings), so "the same" means: every key we send comes back equal.
 */
export function holdsAllOf(ours: object, theirs: unknown): boolean {
  if (typeof theirs !== 'object' || theirs === null || Array.isArray(theirs)) return false;
  const t = theirs as Record<string, unknown>;
  return Object.entries(ours).every(([k, v]) => v === undefined || isDeepStrictEqual(v, t[k]));
}

/**
 * A digest of a body, stored in the template's `_meta` so the next setup can tell "the same
 * template" without comparing settings Elasticsearch has rewritten.
 */
export function fingerprint(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}

/** -1, 0 or 1 for dotted numeric versions (`0.1.0` < `0.10.0`); a pre-release suffix is ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** What a template's `_meta` says about who wrote it; the fields buildIndexTemplate sets. */
export interface TemplateMeta {
  beat?: string;
  version?: string;
  revision?: number;
  fingerprint?: string;
}

export function templateMeta(body: unknown): TemplateMeta {
  const meta = (body as { _meta?: unknown } | null | undefined)?._meta;
  if (typeof meta !== 'object' || meta === null) return {};
  const m = meta as Record<string, unknown>;
  const out: TemplateMeta = {};
  if (typeof m['beat'] === 'string') out.beat = m['beat'];
  if (typeof m['version'] === 'string') out.version = m['version'];
  if (typeof m['revision'] === 'number') out.revision = m['revision'];
  if (typeof m['fingerprint'] === 'string') out.fingerprint = m['fingerprint'];
  return out;
}

/** `index.default_pipeline` of a template body, in the nested or the flat settings form. */
export function templateDefaultPipeline(body: unknown): string | undefined {
  const settings = (body as { template?: { settings?: Record<string, unknown> } } | null | undefined)?.template?.settings;
  if (settings === undefined) return undefined;
  const flat = settings['index.default_pipeline'];
  if (typeof flat === 'string') return flat;
  const index = settings['index'];
  const nested = typeof index === 'object' && index !== null ? (index as Record<string, unknown>)['default_pipeline'] : undefined;
  return typeof nested === 'string' ? nested : undefined;
}

/**
 * Why an existing template written by this beat is out of date against `ours`, or undefined
 * when it is not: an older beat version, an older template revision of the same version, or
 * no default pipeline where ours now names one (the pipeline was loaded after the template).
 */
export function outdatedBecause(existing: unknown, ours: { body: unknown; beatName: string }): string | undefined {
  const have = templateMeta(existing);
  const want = templateMeta(ours.body);
  if (have.beat !== ours.beatName) return undefined;
  if (have.version === undefined || want.version === undefined) return 'it carries no version';
  const byVersion = compareVersions(have.version, want.version);
  if (byVersion < 0) return `it was written by ${ours.beatName} ${have.version}`;
  if (byVersion > 0) return undefined;
  if ((have.revision ?? 0) < (want.revision ?? 0)) return `it is revision ${have.revision ?? 1}, this is revision ${want.revision}`;
  const pipeline = templateDefaultPipeline(ours.body);
  if (pipeline !== undefined && templateDefaultPipeline(existing) === undefined) return `it does not name the default pipeline ${pipeline}`;
  return undefined;
}
