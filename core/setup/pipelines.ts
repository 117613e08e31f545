import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { estypes } from '@elastic/elasticsearch';

/** The body of `PUT _ingest/pipeline/<id>`, typed with the client's request type. */
export type IngestPipelineBody = Pick<estypes.IngestPutPipelineRequest, 'description' | 'processors' | 'on_failure' | '_meta' | 'version'>;

export interface ModulePipeline {
  /** `<beat>-<version>-<module>-<dataset>-pipeline`, as filebeat names module pipelines. */
  id: string;
  module: string;
  dataset: string;
  file: string;
  body: IngestPipelineBody;
}

/** The repository (or installed package) root, from core/setup or dist/core/setup. */
export function packageRoot(): string {
  for (const rel of ['../..', '../../..']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(p, 'modules')) && existsSync(join(p, 'package.json'))) return p;
  }
  return fileURLToPath(new URL('../../..', import.meta.url));
}

export function pipelineId(beatName: string, version: string, module: string, dataset: string): string {
  return `${beatName}-${version}-${module}-${dataset}-pipeline`;
}

/**
 * Finds `modules/<module>/<dataset>/ingest/pipeline.json` under the package root, by
 * convention as beats finds module pipelines: core never imports a module to learn this.
 */
export function discoverPipelines(beatName: string, version: string, root: string = packageRoot()): ModulePipeline[] {
  const out: ModulePipeline[] = [];
  const modulesDir = join(root, 'modules');
  if (!existsSync(modulesDir)) return out;
  for (const module of readdirSync(modulesDir, { withFileTypes: true })) {
    if (!module.isDirectory()) continue;
    for (const dataset of readdirSync(join(modulesDir, module.name), { withFileTypes: true })) {
      if (!dataset.isDirectory()) continue;
      const file = join(modulesDir, module.name, dataset.name, 'ingest', 'pipeline.json');
      if (!existsSync(file)) continue;
      out.push({
        id: pipelineId(beatName, version, module.name, dataset.name),
        module: module.name,
        dataset: dataset.name,
        file,
        body: readPipelineFile(file),
      });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Reads a pipeline file; a file that is not a pipeline body fails naming the file. */
export function readPipelineFile(file: string): IngestPipelineBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not a readable JSON pipeline: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { processors?: unknown }).processors)) {
    throw new Error(`${file}: an ingest pipeline needs a "processors" list`);
  }
  const processors = (parsed as { processors: unknown[] }).processors;
  processors.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || Object.keys(p).length !== 1) {
      throw new Error(`${file}: processors[${i}] must be an object with exactly one processor name`);
    }
  });
  return parsed as IngestPipelineBody;
}
