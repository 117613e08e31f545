import { loadBeatInfo } from '../../beat/info.js';
import { elasticsearchFromConfig, setupSettingsFromConfig } from '../../setup/from-config.js';
import type { Command } from '../command.js';
import { configFromFlags } from '../shared.js';

export const setupCommand: Command = {
  path: ['setup'],
  summary: 'Load the index template, ILM policy and ingest pipelines into Elasticsearch',
  description:
    'Prepare the Elasticsearch cluster of output.elasticsearch: load the composable index template ' +
    'for the procbeat data stream (generated from fields.yml), the ILM policy it names, and the ' +
    "modules' ingest pipelines. With no flag everything is loaded; --index-management loads the " +
    'template and the policy, --pipelines the pipelines. As beats\' setup does, it replaces a ' +
    'template, policy or pipeline that differs from what it would load; running it again uploads nothing.',
  flags: [
    { long: 'index-management', takesValue: false, help: 'Load the index template and the ILM policy' },
    { long: 'pipelines', takesValue: false, help: 'Load the ingest pipelines' },
  ],
  async run({ flags, values, io }) {
    const config = configFromFlags(flags);
    const info = loadBeatInfo({ paths: config.path, persist: false });
    const es = elasticsearchFromConfig(config, info, 'procbeat setup');
    const settings = setupSettingsFromConfig(config, info);
    let indexManagement = values.get('index-management') === true;
    let pipelines = values.get('pipelines') === true;
    if (!indexManagement && !pipelines) indexManagement = pipelines = true;

    // The Elasticsearch client is loaded for the commands that use it only (~30 MiB of RSS).
    const [{ createClient }, { describeStep, runSetup, SetupError }] = await Promise.all([
      import('../../outputs/elasticsearch/client.js'), import('../../setup/load.js'),
    ]);
    const client = createClient(es, { userAgent: `${info.name}/${info.version}` });
    try {
      const steps = await runSetup(client, settings, { indexManagement, pipelines }, { beatName: info.name, version: info.version });
      for (const s of steps) io.stdout.write(`${describeStep(s)}\n`);
      if (indexManagement) io.stdout.write('Index setup finished.\n');
      if (pipelines) io.stdout.write('Loaded ingest pipelines.\n');
      return 0;
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      io.stderr.write(`procbeat setup failed: ${e.message}\n`);
      return 1;
    } finally {
      await client.close();
    }
  },
};
