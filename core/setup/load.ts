import { errors, type Client } from '@elastic/elasticsearch';
import { buildSetupAssets, type AssetSources, type SetupAssets } from './assets.js';
import { holdsAllOf, outdatedBecause, templateMeta } from './compare.js';
import type { SetupSettings } from './settings.js';
import type { IndexTemplateBody } from './template.js';

export interface SetupSelection {
  /** The index template and the ILM policy (`--index-management`). */
  indexManagement: boolean;
  /** The modules' ingest pipelines (`--pipelines`). */
  pipelines: boolean;
}

/**
 * Who runs setup. `command` (`procbeat setup`, a setup role): brings every asset up to date,
 * replacing a template or policy that differs, as beats' setup does, and fails on any
 * refusal. `connect` (the output's first connection, maybe a publish-only role): loads what is
 * missing, replaces only a procbeat template that is out of date, and leaves an asset it may
 * not write (HTTP 403) or cannot replace as it is, saying so, so publishing never stops there.
 */
export type SetupMode = 'command' | 'connect';

export type SetupAction = 'loaded' | 'overwritten' | 'updated' | 'unchanged' | 'kept' | 'disabled' | 'denied';

export interface SetupStep {
  kind: 'index template' | 'ILM policy' | 'ingest pipeline';
  name: string;
  action: SetupAction;
  /** Why, for `updated`, `kept`, `denied` and `disabled`. */
  note?: string;
}

/** The cluster privileges each kind of asset needs to be written (docs/elasticsearch.md). */
const WRITE_PRIVILEGE: Record<SetupStep['kind'], string> = {
  'index template': 'manage_index_templates',
  'ILM policy': 'manage_ilm',
  'ingest pipeline': 'manage_pipeline',
};
const READ_PRIVILEGE: Record<SetupStep['kind'], string> = {
  'index template': 'monitor',
  'ILM policy': 'read_ilm',
  'ingest pipeline': 'read_pipeline',
};

export class SetupError extends Error {
  constructor(readonly step: string, cause: unknown, hint = '') {
    super(`${step}: ${describeError(cause)}${hint}`);
    this.name = 'SetupError';
  }
}

function describeError(e: unknown): string {
  if (e instanceof errors.ResponseError) {
    const body = e.body as { error?: { type?: string; reason?: string } | string } | undefined;
    const err = body?.error;
    const detail = typeof err === 'string' ? err : [err?.type, err?.reason].filter(Boolean).join(': ');
    return `Elasticsearch answered HTTP ${e.statusCode ?? '?'}${detail ? ` (${detail})` : ''}`;
  }
  if (e instanceof errors.ConnectionError || e instanceof errors.TimeoutError) return `cannot reach Elasticsearch: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

function status(e: unknown): number | undefined {
  return e instanceof errors.ResponseError ? e.statusCode : undefined;
}

/** One asset's round trip: read it, decide, maybe write it, with the mode's failure rules. */
class AssetRun {
  constructor(private readonly mode: SetupMode, private readonly steps: SetupStep[]) {}

  /** The asset as the cluster holds it; null when missing; 'denied' when the role may not read it (connect mode). */
  async read<T>(kind: SetupStep['kind'], name: string, get: () => Promise<T>): Promise<T | null | 'denied'> {
    try {
      return await get();
    } catch (e) {
      if (status(e) === 404) return null;
      if (status(e) === 403 && this.mode === 'connect') {
        this.steps.push({ kind, name, action: 'denied', note: `cannot check it (HTTP 403: the role lacks ${READ_PRIVILEGE[kind]}); left as it is` });
        return 'denied';
      }
      throw new SetupError(`${kind} ${name}`, e, status(e) === 403 ? ` (reading it needs the ${READ_PRIVILEGE[kind]} cluster privilege)` : '');
    }
  }

  /** Writes the asset; false when connect mode left it as it is (the step says why). */
  async write(kind: SetupStep['kind'], name: string, exists: boolean, put: () => Promise<unknown>): Promise<boolean> {
    try {
      await put();
      return true;
    } catch (e) {
      const code = status(e);
      if (this.mode === 'connect' && (code === 403 || (exists && code !== undefined && code < 500))) {
        const why = code === 403 ? `HTTP 403: the role lacks ${WRITE_PRIVILEGE[kind]}` : describeError(e);
        const left = exists ? 'the one in the cluster is left as it is' : 'not loaded';
        this.steps.push({ kind, name, action: 'denied', note: `cannot write it (${why}); ${left}; run procbeat setup with a setup role` });
        return false;
      }
      throw new SetupError(`${kind} ${name}`, e, code === 403 ? ` (writing it needs the ${WRITE_PRIVILEGE[kind]} cluster privilege)` : '');
    }
  }
}

/**
 * Loads the pipelines first (so the template never names a missing default pipeline), then
 * the ILM policy, then the index template. Running it twice writes nothing the second time.
 */
export async function runSetup(
  client: Client,
  settings: SetupSettings,
  select: SetupSelection,
  sources: AssetSources,
  mode: SetupMode = 'command',
): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  const run = new AssetRun(mode, steps);
  let assets: SetupAssets = buildSetupAssets(settings, { ...sources, withDefaultPipeline: false });
  /** Pipelines known to be in the cluster now. */
  const present = new Set<string>();

  if (select.pipelines) {
    for (const p of assets.pipelines) {
      const got = await run.read('ingest pipeline', p.id, async () => (await client.ingest.getPipeline({ id: p.id }))[p.id]);
      if (got === 'denied') continue;
      const existing = got ?? undefined;
      if (existing !== undefined && holdsAllOf(p.body, existing)) {
        present.add(p.id);
        steps.push({ kind: 'ingest pipeline', name: p.id, action: 'unchanged' });
        continue;
      }
      if (existing !== undefined) present.add(p.id);
      if (await run.write('ingest pipeline', p.id, existing !== undefined, () => client.ingest.putPipeline({ id: p.id, ...p.body }))) {
        present.add(p.id);
        steps.push({ kind: 'ingest pipeline', name: p.id, action: existing === undefined ? 'loaded' : 'updated' });
      }
    }
  }

  if (!select.indexManagement) return steps;

  // name the default pipeline only if it is in the cluster now: one that is missing fails every write
  const only = assets.pipelines.length === 1 ? assets.pipelines[0]!.id : undefined;
  if (only !== undefined && !select.pipelines) {
    const got = await run.read('ingest pipeline', only, async () => (await client.ingest.getPipeline({ id: only }))[only]);
    if (got !== null && got !== 'denied') present.add(only);
  }
  assets = buildSetupAssets(settings, { ...sources, pipelines: assets.pipelines, withDefaultPipeline: only !== undefined && present.has(only) });

  if (assets.ilm) {
    const { name, body } = assets.ilm;
    const got = await run.read('ILM policy', name, async () => (await client.ilm.getLifecycle({ name }))[name]);
    if (got !== 'denied') {
      const exists = got !== null;
      let action: SetupAction | undefined;
      let note: string | undefined;
      if (!exists) action = 'loaded';
      else if (settings.ilm.overwrite) action = 'overwritten';
      else if (holdsAllOf(body.policy, got.policy)) action = 'unchanged';
      else if (mode === 'command') action = 'overwritten';
      else note = 'exists and differs; procbeat setup or setup.ilm.overwrite: true replaces it';
      if (action === undefined) steps.push({ kind: 'ILM policy', name, action: 'kept', note: note! });
      else if (action === 'unchanged') steps.push({ kind: 'ILM policy', name, action });
      else if (await run.write('ILM policy', name, exists, () => client.ilm.putLifecycle({ name, ...body }))) steps.push({ kind: 'ILM policy', name, action });
    }
  } else {
    steps.push({ kind: 'ILM policy', name: settings.ilm.policyName, action: 'disabled', note: 'setup.ilm.enabled: false' });
  }

  if (assets.template) {
    const { name, body } = assets.template;
    const got = await run.read('index template', name, async () => {
      const r = await client.indices.getIndexTemplate({ name });
      return r.index_templates.find((t) => t.name === name)?.index_template ?? null;
    });
    if (got !== 'denied') {
      const exists = got !== null;
      let action: SetupAction | undefined;
      let note: string | undefined;
      const outdated = exists ? outdatedBecause(got, { body, beatName: sources.beatName }) : undefined;
      if (!exists) action = 'loaded';
      else if (settings.template.overwrite) action = 'overwritten';
      else if (sameTemplate(got, body)) action = 'unchanged';
      else if (outdated !== undefined) {
        action = 'updated';
        note = `out of date: ${outdated}`;
      } else if (mode === 'command') action = 'overwritten';
      else note = 'exists and differs; procbeat setup or setup.template.overwrite: true replaces it';
      if (action === undefined) steps.push({ kind: 'index template', name, action: 'kept', note: note! });
      else if (action === 'unchanged') steps.push({ kind: 'index template', name, action });
      else if (await run.write('index template', name, exists, () => client.indices.putIndexTemplate({ name, ...body }))) {
        steps.push(note !== undefined ? { kind: 'index template', name, action, note } : { kind: 'index template', name, action });
      }
    }
  } else {
    steps.push({ kind: 'index template', name: settings.template.name, action: 'disabled', note: 'setup.template.enabled: false' });
  }
  return steps;
}

/**
 * The fingerprint says the body is the one we would load; the fields Elasticsearch returns
 * as given catch a template edited by hand that kept its `_meta`.
 */
function sameTemplate(existing: unknown, ours: IndexTemplateBody): boolean {
  if (templateMeta(existing).fingerprint !== ours._meta.fingerprint) return false;
  const { index_patterns, priority, data_stream } = ours;
  return holdsAllOf({ index_patterns, priority, data_stream }, existing);
}

export function describeStep(s: SetupStep): string {
  const what = `${s.kind[0]!.toUpperCase()}${s.kind.slice(1)} ${s.name}`;
  switch (s.action) {
    case 'loaded': return `${what}: loaded`;
    case 'overwritten': return `${what}: overwritten`;
    case 'updated': return `${what}: updated (${s.note ?? 'its body had changed'})`;
    case 'unchanged': return `${what}: already loaded, unchanged`;
    case 'kept': return `${what}: kept, ${s.note ?? 'exists'}`;
    case 'denied': return `${what}: ${s.note ?? 'not permitted'}`;
    case 'disabled': return `${what}: not loaded (${s.note ?? 'disabled'})`;
  }
}
