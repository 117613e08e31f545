import type { DatasetDefinition, ModuleBlock } from '../api/dataset.js';
import { ConfigError, ConfigErrors } from '../config/errors.js';
import { childKey, isPlainObject } from '../config/keys.js';
import { MODULE_KEYS } from '../config/schema/index.js';
import type { ProcbeatConfig } from '../config/types.js';
import { takeModuleSettings, type ModuleProcessingSettings } from './module-settings.js';
import { datasetId, datasetsOf, findDataset, knownModules } from './registry.js';

/** One dataset to run: where it was configured and its validated config. */
export interface DatasetPlan {
  /** `system/process` */
  readonly id: string;
  readonly module: string;
  readonly dataset: string;
  /** The module block's key, e.g. `auditbeat.modules[0]`. */
  readonly key: string;
  readonly definition: DatasetDefinition;
  readonly config: unknown;
  /** The block's own processors, fields, tags, index, pipeline, keep_null, service.name. */
  readonly moduleSettings: ModuleProcessingSettings;
}

/** Keys of a module block the framework reads; the rest goes to the datasets. */
const FRAMEWORK_KEYS = new Set(['module', 'datasets', 'metricsets', 'enabled']);

/**
 * Turns the module lists into validated dataset plans. Every problem across all blocks is
 * collected and thrown as one ConfigErrors, each naming the file and the block's key.
 */
export function planDatasets(config: Pick<ProcbeatConfig, 'modules' | 'fileFor'>): DatasetPlan[] {
  const errors: ConfigError[] = [];
  const fail = (key: string, problem: string): void => { errors.push(new ConfigError(config.fileFor(key), key, problem)); };
  const plans: DatasetPlan[] = [];

  for (const list of config.modules) {
    if (!Array.isArray(list.blocks)) {
      fail(list.key, 'must be a list of module blocks (- module: system ...)');
      continue;
    }
    list.blocks.forEach((block: unknown, i: number) => {
      plans.push(...planBlock(block, childKey(list.key, i), fail));
    });
  }
  if (errors.length === 0 && plans.length === 0) {
    const key = config.modules[0]?.key ?? MODULE_KEYS[0];
    fail(key, 'no modules enabled: add a block such as `- module: system` with `datasets: [process]`');
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return plans;
}

function planBlock(block: unknown, key: string, fail: (key: string, problem: string) => void): DatasetPlan[] {
  if (!isPlainObject(block)) {
    fail(key, 'must be a mapping with module and datasets');
    return [];
  }
  const enabled = block['enabled'] ?? true;
  if (typeof enabled !== 'boolean') {
    fail(childKey(key, 'enabled'), `must be true or false, got ${JSON.stringify(enabled)}`);
    return [];
  }
  const module = block['module'];
  if (typeof module !== 'string' || module === '') {
    fail(childKey(key, 'module'), module === undefined ? 'required: name the module, e.g. module: system' : 'must be a module name');
    return [];
  }
  if (datasetsOf(module).length === 0) {
    fail(childKey(key, 'module'), `unknown module '${module}' (known: ${knownModules().join(', ') || 'none'})`);
    return [];
  }
  const names = datasetNames(block, key, module, fail);
  if (names === undefined || !enabled) return [];

  const rest: ModuleBlock = {};
  for (const [k, v] of Object.entries(block)) if (!FRAMEWORK_KEYS.has(k)) rest[k] = v;
  const moduleSettings = takeModuleSettings(rest, key, fail);

  const plans: DatasetPlan[] = [];
  const seen = new Set<string>();
  for (const { name, at } of names) {
    const definition = findDataset(module, name);
    if (definition === undefined) {
      fail(at, `unknown dataset '${name}' in module '${module}' (known: ${datasetsOf(module).join(', ')})`);
      continue;
    }
    const result = definition.validate(structuredClone(rest));
    if (!result.ok) {
      for (const problem of result.errors) {
        if (!seen.has(problem)) fail(key, problem);
        seen.add(problem);
      }
      continue;
    }
    plans.push({ id: datasetId(module, name), module, dataset: name, key, definition, config: result.config, moduleSettings });
  }
  return plans;
}

function datasetNames(
  block: Record<string, unknown>,
  key: string,
  module: string,
  fail: (key: string, problem: string) => void,
): Array<{ name: string; at: string }> | undefined {
  const field = 'datasets' in block ? 'datasets' : 'metricsets' in block ? 'metricsets' : undefined;
  if ('datasets' in block && 'metricsets' in block) {
    fail(childKey(key, 'metricsets'), 'use either datasets or metricsets, not both');
    return undefined;
  }
  if (field === undefined) {
    // As in Auditbeat, a block without a list runs every dataset of the module.
    return datasetsOf(module).map((name) => ({ name, at: childKey(key, 'datasets') }));
  }
  const list = block[field];
  const at = childKey(key, field);
  if (!Array.isArray(list) || list.length === 0) {
    fail(at, `must be a non-empty list of dataset names, e.g. [${datasetsOf(module)[0] ?? 'process'}]`);
    return undefined;
  }
  const out: Array<{ name: string; at: string }> = [];
  const seen = new Set<string>();
  list.forEach((name: unknown, i: number) => {
    const itemKey = childKey(at, i);
    if (typeof name !== 'string') fail(itemKey, `must be a dataset name, got ${JSON.stringify(name)}`);
    else if (seen.has(name)) fail(itemKey, `dataset '${name}' is listed twice`);
    else {
      seen.add(name);
      out.push({ name, at: itemKey });
    }
  });
  return out;
}
