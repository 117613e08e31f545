import type { Client } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import { readSetupSettings, type SetupSettings } from './settings.js';

/**
 * Index management when the Elasticsearch output first connects, as beats does it: without the
 * template, the first write to `procbeat-<version>` would create a plain index with guessed
 * mappings instead of the data stream, and a later `setup` could not repair that.
 *
 * The run command hands the validated `setup` settings over with configureSetupOnConnect();
 * when it has not, beats' defaults apply (template and ILM policy enabled). What exists is kept
 * unless it is an out-of-date procbeat template; an asset the role may not write is left as it
 * is and logged once (see runSetup's `connect` mode).
 */
let configured: unknown;

export function configureSetupOnConnect(setupSettings: unknown): void {
  configured = setupSettings;
}

export interface OnConnectContext {
  beatName: string;
  version: string;
  outputIndex?: string;
  file?: string;
  logger: Logger;
}

/** Resolves the settings now (a bad combination refuses to start) and returns the hook. */
export function setupOnConnect(ctx: OnConnectContext): ((client: Client) => Promise<void>) | undefined {
  const settingsCtx: Parameters<typeof readSetupSettings>[1] = { beatName: ctx.beatName, version: ctx.version };
  if (ctx.outputIndex !== undefined) settingsCtx.outputIndex = ctx.outputIndex;
  if (ctx.file !== undefined) settingsCtx.file = ctx.file;
  const custom = ctx.outputIndex !== undefined && ctx.outputIndex !== `${ctx.beatName}-${ctx.version}`;
  if (configured === undefined && custom) {
    // without the user's setup.* settings, a template for a custom index cannot be named
    ctx.logger.warn('output.elasticsearch.index is customised and no setup settings were handed over: no index management on connect; run procbeat setup');
    return undefined;
  }
  const settings: SetupSettings = readSetupSettings(configured, settingsCtx);
  // both off: the cluster is managed by someone else (e.g. a publish-only API key); touch nothing
  if (!settings.template.enabled && !settings.ilm.enabled) return undefined;
  return async (client) => {
    // load.js brings the Elasticsearch client library: only once this output connects.
    const { describeStep, runSetup } = await import('./load.js');
    const steps = await runSetup(client, settings, { indexManagement: true, pipelines: true }, { beatName: ctx.beatName, version: ctx.version }, 'connect');
    // runs once per start: each step, a refusal included, is said once and publishing goes on
    for (const s of steps) {
      const fields = { setup: s.kind, name: s.name, action: s.action };
      if (s.action === 'denied' || s.action === 'kept') ctx.logger.warn(fields, describeStep(s));
      else ctx.logger.info(fields, describeStep(s));
    }
  };
}
