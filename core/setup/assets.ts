import { loadFields } from '../fields/loader.js';
import { defaultIlmPolicy, readIlmPolicyFile, type IlmPolicyBody } from './ilm.js';
import { discoverPipelines, type ModulePipeline } from './pipelines.js';
import type { SetupSettings } from './settings.js';
import { buildIndexTemplate, type IndexTemplateBody, type TemplateField } from './template.js';

/** Everything `setup` loads and `export` prints, built from settings, fields.yml and modules. */
export interface SetupAssets {
  template: { name: string; body: IndexTemplateBody } | undefined;
  ilm: { name: string; body: IlmPolicyBody } | undefined;
  pipelines: ModulePipeline[];
}

export interface AssetSources {
  beatName: string;
  version: string;
  /** Defaults to fields.yml at `settings.template.fieldsPath` or the shipped one. */
  fields?: readonly TemplateField[];
  /** Defaults to the pipelines found under modules/. */
  pipelines?: ModulePipeline[];
  /**
   * Whether the template names the module pipeline as `index.default_pipeline`. Only when the
   * pipeline is (or will be) in the cluster: a default pipeline that does not exist makes every
   * write fail. Default true.
   */
  withDefaultPipeline?: boolean;
}

export function buildSetupAssets(settings: SetupSettings, src: AssetSources): SetupAssets {
  const pipelines = src.pipelines ?? discoverPipelines(src.beatName, src.version);
  const ilm = settings.ilm.enabled
    ? {
        name: settings.ilm.policyName,
        body: settings.ilm.policyFile !== undefined ? readIlmPolicyFile(settings.ilm.policyFile) : defaultIlmPolicy(src.beatName, src.version),
      }
    : undefined;
  let template: SetupAssets['template'];
  if (settings.template.enabled) {
    const fields = src.fields ?? loadFields(settings.template.fieldsPath);
    const opts: Parameters<typeof buildIndexTemplate>[1] = {
      beatName: src.beatName,
      version: src.version,
      patterns: settings.template.patterns,
      priority: settings.template.priority,
      settings: settings.template.settings,
    };
    if (ilm) opts.ilmPolicy = ilm.name;
    // one data stream, one default pipeline: with several module pipelines the events must name theirs
    if ((src.withDefaultPipeline ?? true) && pipelines.length === 1) opts.defaultPipeline = pipelines[0]!.id;
    template = { name: settings.template.name, body: buildIndexTemplate(fields, opts) };
  }
  return { template, ilm, pipelines };
}
