import { setupOnConnect } from '../../setup/auto.js';
import { registerOutput } from '../registry.js';
import { validateElasticsearchConfig } from './config.js';

export { validateElasticsearchConfig, SECRET_KEYS, type ElasticsearchOutputConfig } from './config.js';

registerOutput('elasticsearch', {
  validate(config, where) {
    validateElasticsearchConfig(config, { file: where.file, beatName: where.info.name, beatVersion: where.info.version });
  },
  async create(config, ctx) {
    const { name, version } = ctx.info;
    const settings = validateElasticsearchConfig(config, { file: ctx.file, beatName: name, beatVersion: version });
    const hookCtx: Parameters<typeof setupOnConnect>[0] = { beatName: name, version, logger: ctx.logger };
    if (typeof config['index'] === 'string') hookCtx.outputIndex = config['index'];
    if (ctx.file !== undefined) hookCtx.file = ctx.file;
    const onConnect = setupOnConnect(hookCtx);
    // The client library (and its HTTP stack, ~30 MiB of RSS) loads only when this output is used.
    const { ElasticsearchOutput } = await import('./output.js');
    return new ElasticsearchOutput(settings, {
      logger: ctx.logger,
      metrics: ctx.metrics,
      userAgent: `${name}/${version}`,
      formatFallbacks: { 'agent.version': version, 'agent.type': name },
      ...(onConnect ? { onConnect } : {}),
    });
  },
});
