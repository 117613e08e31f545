import type { errors as EsErrors } from '@elastic/elasticsearch';
import { loadBeatInfo } from '../../beat/info.js';
import { redactUrl } from '../../outputs/elasticsearch/hosts.js';
import { elasticsearchFromConfig, setupSettingsFromConfig } from '../../setup/from-config.js';
import type { Command } from '../command.js';
import { configFromFlags } from '../shared.js';

function reason(e: unknown, errors: typeof EsErrors): string {
  if (e instanceof errors.ResponseError) return `HTTP ${e.statusCode ?? '?'}`;
  return e instanceof Error ? e.message : String(e);
}

export const testOutputCommand: Command = {
  path: ['test', 'output'],
  summary: 'Test that procbeat can reach Elasticsearch',
  description:
    'Connect to every host of output.elasticsearch, print the cluster name and the Elasticsearch version, ' +
    'and check that the index template procbeat writes through exists. Exits 0 when all is well, 1 otherwise.',
  async run({ flags, io }) {
    const config = configFromFlags(flags);
    const info = loadBeatInfo({ paths: config.path, persist: false });
    const es = elasticsearchFromConfig(config, info, 'procbeat test output');
    const settings = setupSettingsFromConfig(config, info);
    const userAgent = `${info.name}/${info.version}`;
    // The Elasticsearch client is loaded for the commands that use it only (~30 MiB of RSS).
    const [{ errors }, { createClient }] = await Promise.all([import('@elastic/elasticsearch'), import('../../outputs/elasticsearch/client.js')]);
    let ok = true;

    for (const host of es.hosts) {
      io.stdout.write(`elasticsearch: ${redactUrl(host)}...\n`);
      if (!host.startsWith('https:')) io.stdout.write('  TLS... WARN secure connection disabled\n');
      const client = createClient({ ...es, hosts: [host] }, { userAgent });
      try {
        const about = await client.info();
        io.stdout.write(`  connection... OK\n  cluster: ${about.cluster_name}\n  version: ${about.version.number}\n`);
      } catch (e) {
        ok = false;
        io.stdout.write(`  connection... ERROR ${redactUrl(reason(e, errors))}\n`);
      } finally {
        await client.close();
      }
    }

    if (settings.template.enabled) {
      const name = settings.template.name;
      io.stdout.write(`index template ${name}... `);
      const client = createClient(es, { userAgent });
      try {
        if (await client.indices.existsIndexTemplate({ name })) io.stdout.write('OK\n');
        else {
          ok = false;
          io.stdout.write('MISSING (run procbeat setup, or start procbeat once: it loads the template on connect)\n');
        }
      } catch (e) {
        ok = false;
        io.stdout.write(`ERROR ${redactUrl(reason(e, errors))}\n`);
      } finally {
        await client.close();
      }
    }
    return ok ? 0 : 1;
  },
};
