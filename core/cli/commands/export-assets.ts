import { loadBeatInfo } from '../../beat/info.js';
import { buildSetupAssets } from '../../setup/assets.js';
import { setupSettingsFromConfig } from '../../setup/from-config.js';
import type { Command, CommandContext } from '../command.js';
import { configFromFlags } from '../shared.js';

/** The bodies `setup` would load, built from the configuration; nothing is contacted. */
function assets(ctx: CommandContext, force: { ilm?: boolean } = {}) {
  const config = configFromFlags(ctx.flags);
  const info = loadBeatInfo({ paths: config.path, persist: false });
  const settings = setupSettingsFromConfig(config, info);
  // export prints what was asked for, whatever setup.*.enabled says
  settings.template.enabled = true;
  if (force.ilm) settings.ilm.enabled = true;
  return buildSetupAssets(settings, { beatName: info.name, version: info.version });
}

function printJson(ctx: CommandContext, body: unknown): number {
  ctx.io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  return 0;
}

export const exportTemplateCommand: Command = {
  path: ['export', 'template'],
  summary: 'Export the index template as JSON',
  description:
    'Print the body of the composable index template `procbeat setup` loads (PUT _index_template/<setup.template.name>), ' +
    'generated from fields.yml and the setup.template.* and setup.ilm.* settings. It names the ingest pipeline as ' +
    'index.default_pipeline: load that too (procbeat export pipeline).',
  async run(ctx) {
    return printJson(ctx, assets(ctx).template!.body);
  },
};

export const exportIlmPolicyCommand: Command = {
  path: ['export', 'ilm-policy'],
  summary: 'Export the ILM policy as JSON',
  description: 'Print the body of the ILM policy `procbeat setup` loads (PUT _ilm/policy/<setup.ilm.policy_name>).',
  async run(ctx) {
    return printJson(ctx, assets(ctx, { ilm: true }).ilm!.body);
  },
};

export const exportPipelineCommand: Command = {
  path: ['export', 'pipeline'],
  summary: 'Export the ingest pipelines as JSON',
  description:
    'Print the ingest pipelines `procbeat setup` loads, as GET _ingest/pipeline shows them ({"<id>": body}); ' +
    'with an ID, print only that pipeline\'s body (PUT _ingest/pipeline/<ID>).',
  argsUsage: '[ID]',
  acceptsArgs: true,
  async run(ctx) {
    const { pipelines } = assets(ctx);
    if (ctx.args.length > 1) {
      ctx.io.stderr.write('Error: export pipeline takes at most one pipeline id\n');
      return 1;
    }
    const id = ctx.args[0];
    if (id !== undefined) {
      const p = pipelines.find((x) => x.id === id);
      if (!p) {
        ctx.io.stderr.write(`Error: no ingest pipeline '${id}'; known: ${pipelines.map((x) => x.id).join(', ') || 'none'}\n`);
        return 1;
      }
      return printJson(ctx, p.body);
    }
    return printJson(ctx, Object.fromEntries(pipelines.map((p) => [p.id, p.body])));
  },
};
