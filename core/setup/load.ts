import { isDeepStrictEqual } from 'node:util';
import { errors, type Client } from '@elastic/elasticsearch';
import { buildSetupAssets, type AssetSources, type SetupAssets } from './assets.js';
import type { SetupSettings } from './settings.js';

export interface SetupSelection {
  /** The index template and the ILM policy (`--index-management`). */
  indexManagement: boolean;
  /** The modules' ingest pipelines (`--pipelines`). */
  pipelines: boolean;
}

export type SetupAction = 'loaded' | 'overwritten' | 'updated' | 'unchanged' | 'kept' | 'disabled';

export interface SetupStep {
  kind: 'index template' | 'ILM policy' | 'ingest pipeline';
  name: string;
  action: SetupAction;
  /** Why, for `kept` and `disabled`. */
  note?: string;
}

export class SetupError extends Error {
  constructor(readonly step: string, cause: unknown) {
    super(`${step}: ${describeError(cause)}`);
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

function isNotFound(e: unknown): boolean {
  return e instanceof errors.ResponseError && e.statusCode === 404;
}

/**
 * `procbeat setup`: loads the pipelines first (so the template never names a missing default
 * pipeline), then the ILM policy, then the index template. Idempotent: what exists is kept
 * unless `overwrite` says otherwise; a pipeline (its id carries the version) is replaced only
 * when its body differs.
 */
export async function runSetup(
  client: Client,
  settings: SetupSettings,
  select: SetupSelection,
  sources: AssetSources,
): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  let assets: SetupAssets = buildSetupAssets(settings, { ...sources, withDefaultPipeline: false });

  if (select.pipelines) {
    for (const p of assets.pipelines) {
      const step = `ingest pipeline ${p.id}`;
      let existing: unknown;
      try {
        const got = await client.ingest.getPipeline({ id: p.id });
        existing = got[p.id];
      } catch (e) {
        if (!isNotFound(e)) throw new SetupError(step, e);
      }
      if (existing !== undefined && isDeepStrictEqual(existing, p.body)) {
        steps.push({ kind: 'ingest pipeline', name: p.id, action: 'unchanged' });
        continue;
      }
      try {
        await client.ingest.putPipeline({ id: p.id, ...p.body });
      } catch (e) {
        throw new SetupError(step, e);
      }
      steps.push({ kind: 'ingest pipeline', name: p.id, action: existing === undefined ? 'loaded' : 'updated' });
    }
  }

  if (select.indexManagement) {
    // name the default pipeline only if it is in the cluster now
    let pipelineThere = select.pipelines;
    if (!pipelineThere && assets.pipelines.length === 1) {
      try {
        await client.ingest.getPipeline({ id: assets.pipelines[0]!.id });
        pipelineThere = true;
      } catch (e) {
        if (!isNotFound(e)) throw new SetupError(`ingest pipeline ${assets.pipelines[0]!.id}`, e);
      }
    }
    assets = buildSetupAssets(settings, { ...sources, pipelines: assets.pipelines, withDefaultPipeline: pipelineThere });

    if (assets.ilm) {
      const { name, body } = assets.ilm;
      const step = `ILM policy ${name}`;
      let exists = true;
      try {
        await client.ilm.getLifecycle({ name });
      } catch (e) {
        if (!isNotFound(e)) throw new SetupError(step, e);
        exists = false;
      }
      if (exists && !settings.ilm.overwrite) {
        steps.push({ kind: 'ILM policy', name, action: 'kept', note: 'exists; set setup.ilm.overwrite: true to replace it' });
      } else {
        try {
          await client.ilm.putLifecycle({ name, ...body });
        } catch (e) {
          throw new SetupError(step, e);
        }
        steps.push({ kind: 'ILM policy', name, action: exists ? 'overwritten' : 'loaded' });
      }
    } else {
      steps.push({ kind: 'ILM policy', name: settings.ilm.policyName, action: 'disabled', note: 'setup.ilm.enabled: false' });
    }

    if (assets.template) {
      const { name, body } = assets.template;
      const step = `index template ${name}`;
      let exists: boolean;
      try {
        exists = await client.indices.existsIndexTemplate({ name });
      } catch (e) {
        throw new SetupError(step, e);
      }
      if (exists && !settings.template.overwrite) {
        steps.push({ kind: 'index template', name, action: 'kept', note: 'exists; set setup.template.overwrite: true to replace it' });
      } else {
        try {
          await client.indices.putIndexTemplate({ name, ...body });
        } catch (e) {
          throw new SetupError(step, e);
        }
        steps.push({ kind: 'index template', name, action: exists ? 'overwritten' : 'loaded' });
      }
    } else {
      steps.push({ kind: 'index template', name: settings.template.name, action: 'disabled', note: 'setup.template.enabled: false' });
    }
  }
  return steps;
}

export function describeStep(s: SetupStep): string {
  const what = `${s.kind[0]!.toUpperCase()}${s.kind.slice(1)} ${s.name}`;
  switch (s.action) {
    case 'loaded': return `${what}: loaded`;
    case 'overwritten': return `${what}: overwritten`;
    case 'updated': return `${what}: updated (its body had changed)`;
    case 'unchanged': return `${what}: already loaded, unchanged`;
    case 'kept': return `${what}: ${s.note ?? 'exists, kept'}`;
    case 'disabled': return `${what}: not loaded (${s.note ?? 'disabled'})`;
  }
}
