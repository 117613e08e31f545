/**
 * Applies a module block's own settings to that module's events, before they enter the
 * publisher pipeline (where the beat fields and the global processors run). The order
 * follows beats' client processing: routing (index, pipeline), tags, fields, service.name,
 * the module's processors, then null removal unless keep_null.
 */
import type { BeatEvent, Fields, FieldValue } from '../api/event.js';
import type { MetricsRegistry } from '../api/metrics.js';
import { ConfigError, ConfigErrors } from '../config/errors.js';
import { compileFormatString, type FormatString } from '../outputs/elasticsearch/format-string.js';
import { deepUpdate, isFields } from '../processors/fields.js';
import { buildProcessors, ProcessorError, type BuildContext, type Processor, type ProcessorResult } from '../processors/index.js';
import { LogThrottle } from '../publisher/log-throttle.js';
import { isNoop, type ModuleProcessingSettings } from '../registry/module-settings.js';
import type { DatasetPlan } from '../registry/plan.js';

/** The seam the runner calls for each event of one module block; null: filtered out. */
export interface ModuleProcessing {
  /** A Promise when one of the module's processors holds the event (add_docker_metadata). */
  run(event: BeatEvent): ProcessorResult;
}

export interface ModuleProcessingCounters {
  /** An event a module processor dropped (counted as `<module>.<dataset>.filtered`). */
  filtered(): void;
  /** A module processor failed on an event (`<module>.<dataset>.processor_errors`). */
  processorError(): void;
}

function compiled(source: string | undefined): FormatString | undefined {
  if (source === undefined) return undefined;
  const f = compileFormatString(source);
  // takeModuleSettings already refused a string that does not compile.
  return 'error' in f ? undefined : f;
}

function dropNulls(obj: Fields): void {
  for (const [k, v] of Object.entries(obj)) {
    if (v === null) delete obj[k];
    else if (isFields(v)) dropNulls(v);
  }
}

/**
 * Builds the step for one module block; undefined when the block sets nothing. Throws
 * ConfigErrors (keys like `auditbeat.modules[0].processors[1].drop_fields.fields`).
 */
export async function buildModuleProcessing(
  settings: ModuleProcessingSettings,
  ctx: BuildContext,
  counters: ModuleProcessingCounters,
): Promise<ModuleProcessing | undefined> {
  if (isNoop(settings)) return undefined;
  const processors: Processor[] = await buildProcessors(settings.processors, { ...ctx, key: `${ctx.key}.processors` });
  const index = compiled(settings.index);
  const pipeline = compiled(settings.pipeline);
  const fields: Fields | undefined = settings.fields === undefined
    ? undefined
    : settings.fieldsUnderRoot ? settings.fields : { fields: settings.fields };
  const tags = settings.tags;
  const service = settings.serviceName;
  const mayAddNulls = !settings.keepNull && (fields !== undefined || processors.length > 0);
  const errorLogs = processors.map(() => new LogThrottle(ctx.logger, 'warn'));

  const route = (event: BeatEvent, key: 'index' | 'pipeline', f: FormatString): void => {
    const r = f.render(event.fields, event.timestamp);
    // A field the format names is missing: the output's own setting decides, as in beats.
    if ('error' in r) return;
    event.meta = { ...event.meta, [key]: r.value.toLowerCase() };
  };

  /** The module's processors from `start` on; a processor that holds the event continues the chain later. */
  const runFrom = (start: number, event: BeatEvent): ProcessorResult => {
    let cur: BeatEvent = event;
    for (let i = start; i < processors.length; i++) {
      const p = processors[i]!;
      try {
        const next = p.run(cur);
        if (next === null) { counters.filtered(); return null; }
        if (next instanceof Promise) {
          return next.then((held) => {
            if (held === null) { counters.filtered(); return null; }
            return runFrom(i + 1, held);
          });
        }
        cur = next;
      } catch (err) {
        counters.processorError();
        const message = err instanceof Error ? err.message : String(err);
        errorLogs[i]!.log({ processor: p.name, index: i, key: ctx.key }, `module processor ${p.name}: ${message}`);
        if (err instanceof ProcessorError) {
          if (err.event === null) { counters.filtered(); return null; }
          cur = err.event;
        }
      }
    }
    if (mayAddNulls) dropNulls(cur.fields);
    return cur;
  };

  return {
    run(event) {
      if (index !== undefined) route(event, 'index', index);
      if (pipeline !== undefined) route(event, 'pipeline', pipeline);
      if (tags.length > 0) {
        const current = event.fields.tags;
        const list: string[] = Array.isArray(current) ? current.filter((t): t is string => typeof t === 'string') : typeof current === 'string' ? [current] : [];
        for (const t of tags) if (!list.includes(t)) list.push(t);
        event.fields.tags = list;
      }
      if (fields !== undefined) deepUpdate(event.fields, fields);
      if (service !== undefined) {
        const current = event.fields.service;
        const svc: Fields = isFields(current) ? current : {};
        if (svc.name === undefined) svc.name = service;
        event.fields.service = svc as FieldValue;
      }
      return runFrom(0, event);
    },
  };
}

/**
 * The step of every planned dataset, in the plans' order (undefined where the block sets
 * nothing). Every problem of every block is thrown at once as ConfigErrors.
 */
export async function buildPlansProcessing(
  plans: readonly DatasetPlan[],
  ctx: Omit<BuildContext, 'key' | 'file'> & { fileFor(key: string): string | undefined },
  metrics: MetricsRegistry,
): Promise<Array<ModuleProcessing | undefined>> {
  const ns = metrics.namespace('runner');
  const errors: ConfigError[] = [];
  const out: Array<ModuleProcessing | undefined> = [];
  for (const plan of plans) {
    const key = `${plan.module}.${plan.dataset}`;
    ns.inc(`${key}.filtered`, 0);
    try {
      const file = ctx.fileFor(plan.key);
      const build: BuildContext = { logger: ctx.logger, info: ctx.info, key: plan.key, ...(file !== undefined ? { file } : {}) };
      out.push(await buildModuleProcessing(plan.moduleSettings, build, {
        filtered: () => ns.inc(`${key}.filtered`),
        processorError: () => ns.inc(`${key}.processor_errors`),
      }));
    } catch (err) {
      if (err instanceof ConfigErrors) {
        // Datasets of one block share its settings: report each problem once.
        for (const e of err.errors) if (!errors.some((x) => x.message === e.message)) errors.push(e);
      } else throw err;
      out.push(undefined);
    }
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return out;
}
