import type { BeatInfo } from '../api/dataset.js';
import { ConfigError, ConfigErrors } from '../config/errors.js';
import type { ProcbeatConfig } from '../config/types.js';
import { validateElasticsearchConfig, type ElasticsearchOutputConfig } from '../outputs/elasticsearch/config.js';
import { readSetupSettings, type SetupSettings } from './settings.js';

type Info = Pick<BeatInfo, 'name' | 'version'>;

function esSection(config: ProcbeatConfig): Record<string, unknown> | undefined {
  const es = config.output?.['elasticsearch'];
  return typeof es === 'object' && es !== null && !Array.isArray(es) ? (es as Record<string, unknown>) : undefined;
}

/**
 * `output.elasticsearch` for the commands that talk to the cluster (setup, test output).
 * Other outputs may be configured too; these commands need this one and say so.
 */
export function elasticsearchFromConfig(config: ProcbeatConfig, info: Info, command: string): ElasticsearchOutputConfig {
  const es = esSection(config);
  if (es === undefined || es['enabled'] === false || es['enabled'] === 'false') {
    throw new ConfigErrors([
      new ConfigError(config.file, 'output.elasticsearch', `${command} needs the Elasticsearch output; set output.elasticsearch.hosts (e.g. -E output.elasticsearch.hosts=["localhost:9200"])`),
    ]);
  }
  const { enabled: _enabled, ...settings } = es;
  return validateElasticsearchConfig(settings, { file: config.fileFor('output.elasticsearch'), beatName: info.name, beatVersion: info.version });
}

/** `setup.*`, checked against output.elasticsearch.index when that is configured. */
export function setupSettingsFromConfig(config: ProcbeatConfig, info: Info): SetupSettings {
  const index = esSection(config)?.['index'];
  const ctx: Parameters<typeof readSetupSettings>[1] = { beatName: info.name, version: info.version };
  if (typeof index === 'string') ctx.outputIndex = index;
  const file = config.fileFor('setup');
  if (file !== undefined) ctx.file = file;
  return readSetupSettings(config.setup ?? config.settings['setup'], ctx);
}
