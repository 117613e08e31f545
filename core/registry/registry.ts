import type { DatasetDefinition } from '../api/dataset.js';

/**
 * The datasets procbeat knows. Modules register theirs at import time (modules/index.ts);
 * core never imports a module, it only looks names up here.
 */
const definitions = new Map<string, DatasetDefinition>();

export function datasetId(module: string, name: string): string {
  return `${module}/${name}`;
}

export function registerDataset<C>(def: DatasetDefinition<C>): void {
  const id = datasetId(def.module, def.name);
  if (definitions.has(id)) throw new Error(`dataset ${id} is registered twice`);
  definitions.set(id, def as DatasetDefinition);
}

export function findDataset(module: string, name: string): DatasetDefinition | undefined {
  return definitions.get(datasetId(module, name));
}

export function knownModules(): string[] {
  return [...new Set([...definitions.values()].map((d) => d.module))].sort();
}

export function datasetsOf(module: string): string[] {
  return [...definitions.values()].filter((d) => d.module === module).map((d) => d.name).sort();
}
