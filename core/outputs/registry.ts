/**
 * The output registry: `output.<type>` sections in the config → one running Output.
 *
 * How an output gets here: its module calls `registerOutput('<type>', factory)` when it is
 * imported. createOutput() first imports every module of BUILTIN_OUTPUT_MODULES (lazily,
 * once); a module of that list that does not exist in this build (e.g. elasticsearch before
 * it lands) is skipped, any other import failure is an error. So an output in
 * `core/outputs/<type>/index.ts` only has to register itself and be listed here; this file
 * never imports an output statically.
 *
 * Rules, as in beats: exactly one output enabled (a section is enabled unless `enabled: false`);
 * each factory validates its own settings (unknown keys are errors, `enabled` is removed
 * before the factory sees them) and defines its defaults.
 *
 * Counting: the pipeline counts `output.events.{batches,total,acked,dropped}` from each
 * BatchResult. Outputs must not touch those keys; they add their own to the `output`
 * namespace (`write.bytes`, `write.errors`, `events.duplicates`, ...).
 */
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { BeatInfo } from '../api/dataset.js';
import type { MetricsRegistry } from '../api/metrics.js';
import type { Output } from '../api/output.js';
import { ConfigError, ConfigErrors } from '../config/errors.js';

export const BUILTIN_OUTPUT_MODULES: readonly string[] = ['./console.js', './file/index.js', './elasticsearch/index.js'];

/** Where the settings come from, for error messages. */
export interface OutputWhere {
  file?: string;
  /** `output.<type>` */
  key: string;
  info: BeatInfo;
}

export interface OutputContext extends OutputWhere {
  logger: Logger;
  metrics: MetricsRegistry;
}

export interface OutputFactory {
  /** Checks the settings without side effects (for `procbeat test config`); throws ConfigError(s). */
  validate(config: Record<string, unknown>, where: OutputWhere): void;
  /** Builds the output (may open files, connect); validates as `validate` does. */
  create(config: Record<string, unknown>, ctx: OutputContext): Promise<Output>;
}

const factories = new Map<string, OutputFactory>();

export function registerOutput(type: string, factory: OutputFactory): void {
  factories.set(type, factory);
}

export function registeredOutputs(): string[] {
  return [...factories.keys()].sort();
}

let builtinsLoaded: Promise<void> | undefined;

function isMissingModule(err: unknown, spec: string): boolean {
  const e = err as { code?: string; message?: string; url?: string };
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') return false;
  const url = new URL(spec, import.meta.url);
  // Only this very module may be missing; a missing dependency inside it is a real error.
  return (e.url !== undefined && e.url === url.href) || (e.message ?? '').includes(`'${fileURLToPath(url)}'`);
}

export function loadBuiltinOutputs(): Promise<void> {
  builtinsLoaded ??= (async () => {
    for (const spec of BUILTIN_OUTPUT_MODULES) {
      try {
        await import(spec);
      } catch (err) {
        if (!isMissingModule(err, spec)) throw err;
      }
    }
  })();
  return builtinsLoaded;
}

function isEnabled(value: Record<string, unknown>): boolean {
  const e = value.enabled;
  return !(e === false || e === 'false');
}

interface Selected {
  type: string;
  config: Record<string, unknown>;
  key: string;
}

/** Picks the one enabled output section; throws ConfigErrors naming the keys otherwise. */
export async function selectOutput(section: Record<string, unknown> | undefined, file: string | undefined): Promise<Selected> {
  await loadBuiltinOutputs();
  const problems: ConfigError[] = [];
  const enabled: Selected[] = [];
  for (const [type, raw] of Object.entries(section ?? {})) {
    const key = `output.${type}`;
    if (!factories.has(type)) {
      problems.push(new ConfigError(file, key, `unknown output type '${type}'; available: ${registeredOutputs().join(', ')}`));
      continue;
    }
    if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
      problems.push(new ConfigError(file, key, `expected a map of settings, got ${JSON.stringify(raw)}`));
      continue;
    }
    const value = (raw ?? {}) as Record<string, unknown>;
    const e = value.enabled;
    if (e !== undefined && typeof e !== 'boolean' && e !== 'true' && e !== 'false') {
      problems.push(new ConfigError(file, `${key}.enabled`, `expected true or false, got ${JSON.stringify(e)}`));
      continue;
    }
    if (!isEnabled(value)) continue;
    const { enabled: _ignored, ...config } = value;
    enabled.push({ type, config, key });
  }
  if (problems.length === 0) {
    if (enabled.length === 0) problems.push(new ConfigError(file, 'output', 'no output is enabled'));
    else if (enabled.length > 1) {
      problems.push(new ConfigError(file, 'output', `exactly one output must be enabled, found: ${enabled.map((s) => s.type).join(', ')}`));
    }
  }
  if (problems.length > 0) throw new ConfigErrors(problems);
  return enabled[0]!;
}

/** Validates the `output` section without creating anything. */
export async function validateOutput(section: Record<string, unknown> | undefined, where: { file?: string; info: BeatInfo }): Promise<void> {
  const sel = await selectOutput(section, where.file);
  factories.get(sel.type)!.validate(sel.config, { file: where.file, key: sel.key, info: where.info });
}

/** The one enabled output, built and ready. */
export async function createOutput(
  section: Record<string, unknown> | undefined,
  ctx: { file?: string; logger: Logger; metrics: MetricsRegistry; info: BeatInfo },
): Promise<Output> {
  const sel = await selectOutput(section, ctx.file);
  return factories.get(sel.type)!.create(sel.config, {
    file: ctx.file,
    key: sel.key,
    info: ctx.info,
    logger: ctx.logger.child({ output: sel.type }),
    metrics: ctx.metrics,
  });
}

// ---- option parsing for factories -------------------------------------------------------

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true, allowUnionTypes: true });

function problemOf(e: ErrorObject, where: OutputWhere): ConfigError {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let key = [where.key, ...path].join('.');
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    key = `${key}.${(e.params as { additionalProperty: string }).additionalProperty}`;
    const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    problem = `unknown setting; expected one of: ${known.join(', ')}`;
  } else if (e.keyword === 'required') {
    key = `${key}.${(e.params as { missingProperty: string }).missingProperty}`;
    problem = 'is required';
  } else if (e.data !== undefined && typeof e.data !== 'object') {
    problem = `${problem}, got ${JSON.stringify(e.data)}`;
  }
  return new ConfigError(where.file, key, problem);
}

/**
 * A checker for one output's settings from a JSON schema (defaults filled in, numeric and
 * boolean strings from `${VAR}` coerced, unknown keys refused); errors name `output.<type>.<key>`.
 */
export function optionsParser<T>(schema: JSONSchemaType<T> | Record<string, unknown>): (config: Record<string, unknown>, where: OutputWhere) => T {
  const validate = ajv.compile(schema) as ValidateFunction<T>;
  return (config, where) => {
    const data: unknown = structuredClone(config);
    if (validate(data)) return data;
    throw new ConfigErrors((validate.errors ?? []).map((e) => problemOf(e, where)));
  };
}
