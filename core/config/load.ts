import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Fields } from '../api/event.js';
import { parseByteSize } from './bytesize.js';
import { normalizeDottedKeys, RAW_SECTIONS, type DottedProblem } from './dotted.js';
import { formatDuration, parseDuration } from './duration.js';
import { ConfigError, ConfigErrors } from './errors.js';
import { expandVariables, type ExpandProblem } from './expand.js';
import { closest, isPlainObject } from './keys.js';
import { applyOverride, isOverrideProblem, parseOverride, type Override } from './overrides.js';
import { fileMode } from './schema/formats.js';
import { globalSchema, MODULE_KEYS, OPAQUE_SECTIONS, type ModuleKey } from './schema/index.js';
import type { DiskQueueConfig, LogLevel, ModuleList, ProcbeatConfig } from './types.js';
import { validateGlobal, type SchemaProblem } from './validate.js';
import { parseBeatsYaml } from './yaml.js';

export interface PathFlags {
  home?: string | undefined;
  config?: string | undefined;
  data?: string | undefined;
  logs?: string | undefined;
}

export interface LoadOptions {
  /** The config file; relative to --path.config, else --path.home, else cwd. */
  file: string;
  /** `-E key=value` flags, applied in order after the file. */
  overrides?: readonly string[];
  /** `--path.*` flags: they win over the file and -E. */
  paths?: PathFlags;
  /** `-e`: log to stderr. */
  logToStderr?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

/** Where a relative `-c` file is looked up. */
export function resolveConfigFile(file: string, paths: PathFlags = {}, cwd = process.cwd()): string {
  if (isAbsolute(file)) return file;
  const base = paths.config ?? paths.home;
  return resolve(cwd, base ?? '.', file);
}

/** Reads, merges, expands and validates the configuration; throws ConfigErrors listing every problem. */
export function loadConfig(options: LoadOptions): ProcbeatConfig {
  const cwd = options.cwd ?? process.cwd();
  const file = resolveConfigFile(options.file, options.paths, cwd);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigErrors([new ConfigError(file, '', `cannot read the config file: ${why}`)]);
  }
  return parseConfig(text, file, { ...options, cwd });
}

/** Like loadConfig, for text already in hand (`file` names it in errors). */
export function parseConfig(text: string, file: string | undefined, options: Omit<LoadOptions, 'file'> = {}): ProcbeatConfig {
  const parsed = parseBeatsYaml(text);
  if (!parsed.ok) {
    throw new ConfigErrors(parsed.problems.map((p) =>
      new ConfigError(file, '', `invalid YAML${p.line !== undefined ? ` at line ${p.line}` : ''}: ${p.message}`)));
  }
  const top = parsed.value ?? {};
  if (!isPlainObject(top)) {
    throw new ConfigErrors([new ConfigError(file, '', 'the config file must be a mapping of settings')]);
  }

  const errors: ConfigError[] = [];
  const flagKeys: string[] = [];
  const fileFor = (key: string): string | undefined => (setByFlag(key, flagKeys) ? undefined : file);
  const report = (p: DottedProblem | ExpandProblem | SchemaProblem): void => {
    errors.push(new ConfigError(fileFor(p.key), p.key, p.problem));
  };

  const dotted: DottedProblem[] = [];
  const tree = normalizeDottedKeys(top, '', dotted, { raw: RAW_SECTIONS }) as Record<string, unknown>;
  dotted.forEach(report);

  for (const override of collectOverrides(options, errors)) {
    flagKeys.push(override.key);
    const problem = applyOverride(tree, override);
    if (problem) errors.push(new ConfigError(undefined, problem.key, problem.problem));
  }

  const expandProblems: ExpandProblem[] = [];
  const expanded = expandVariables(tree, '', { env: options.env ?? process.env, root: tree }, expandProblems) as Record<string, unknown>;
  expandProblems.forEach(report);

  const { global, opaque, modules } = splitSections(expanded, report);
  const schemaProblems: SchemaProblem[] = [];
  const settings = validateGlobal(global, schemaProblems);
  schemaProblems.forEach(report);
  if (errors.length === 0) crossChecks(settings, report);
  if (errors.length === 0) queueChecks(expanded, settings, report);
  if (errors.length > 0) throw new ConfigErrors(errors);

  return build(settings, opaque, modules, expanded, file, fileFor, options.cwd ?? process.cwd());
}

function collectOverrides(options: Omit<LoadOptions, 'file'>, errors: ConfigError[]): Override[] {
  const out: Override[] = [];
  for (const flag of options.overrides ?? []) {
    const o = parseOverride(flag);
    if (isOverrideProblem(o)) errors.push(new ConfigError(undefined, o.key, o.problem));
    else out.push(o);
  }
  for (const [name, value] of Object.entries(options.paths ?? {})) {
    if (value !== undefined) out.push({ key: `path.${name}`, value });
  }
  if (options.logToStderr) out.push({ key: 'logging.to_stderr', value: true });
  return out;
}

/** True when a flag set `key` or one of its parents (error keys use `[0]`, flags `.0`). */
function setByFlag(key: string, flagKeys: readonly string[]): boolean {
  const k = key.replace(/\[(\d+)\]/g, '.$1');
  return flagKeys.some((f) => k === f || k.startsWith(`${f}.`));
}

interface Sections {
  global: Record<string, unknown>;
  opaque: Record<string, unknown>;
  modules: ModuleList[];
}

function splitSections(tree: Record<string, unknown>, report: (p: SchemaProblem) => void): Sections {
  const schemaKeys = new Set(Object.keys(globalSchema()));
  const moduleParents = new Set(MODULE_KEYS.map((k) => k.split('.')[0]!));
  const sections: Sections = { global: {}, opaque: {}, modules: [] };
  for (const [key, value] of Object.entries(tree)) {
    if (schemaKeys.has(key)) {
      sections.global[key] = value;
    } else if (OPAQUE_SECTIONS.has(key)) {
      if (key !== 'processors' && value !== null && !isPlainObject(value)) {
        report({ key, problem: `must be a mapping (e.g. ${key}.<name>: ...)` });
        continue;
      }
      sections.opaque[key] = value;
    } else if (moduleParents.has(key)) {
      if (value === null) continue;
      if (!isPlainObject(value)) {
        report({ key, problem: 'must be a mapping with the setting modules' });
        continue;
      }
      for (const [sub, blocks] of Object.entries(value)) {
        if (sub !== 'modules') {
          report({ key: `${key}.${sub}`, problem: `unknown setting (only ${key}.modules is read)` });
          continue;
        }
        sections.modules.push({ key: `${key}.modules` as ModuleKey, blocks: blocks ?? [] });
      }
    } else {
      const known = [...schemaKeys, ...OPAQUE_SECTIONS, ...moduleParents];
      const hint = closest(key, known);
      report({ key, problem: `unknown setting${hint ? ` (did you mean '${hint}'?)` : ''}` });
    }
  }
  return sections;
}

function crossChecks(settings: Record<string, unknown>, report: (p: SchemaProblem) => void): void {
  const queue = settings['queue'] as { mem: { events: number; flush: { min_events: number } } };
  if (queue.mem.flush.min_events > queue.mem.events) {
    report({
      key: 'queue.mem.flush.min_events',
      problem: `must not be larger than queue.mem.events (${queue.mem.events}), got ${queue.mem.flush.min_events}`,
    });
  }
  const logging = settings['logging'] as { files: { keepfiles: number } };
  if (logging.files.keepfiles < 2 || logging.files.keepfiles > 1024) {
    report({ key: 'logging.files.keepfiles', problem: `must be between 2 and 1024, got ${logging.files.keepfiles}` });
  }
}

/** Whether the tree configures `queue.disk` (the schema's defaults fill it in either way). */
function diskQueueSet(tree: Record<string, unknown>): boolean {
  const queue = tree['queue'];
  return isPlainObject(queue) && Object.hasOwn(queue, 'disk');
}

const MIN_DISK_MAX_SIZE = 10 * 1000 * 1000;
const MIN_DISK_SEGMENT_SIZE = 1000 * 1000;

/** Exactly one queue type, and beats' limits on the disk queue's sizes, with its messages. */
function queueChecks(tree: Record<string, unknown>, settings: Record<string, unknown>, report: (p: SchemaProblem) => void): void {
  if (!diskQueueSet(tree)) return;
  const queue = tree['queue'] as Record<string, unknown>;
  if (Object.hasOwn(queue, 'mem')) {
    report({ key: 'queue', problem: "more than one namespace configured accessing 'queue' (set either queue.mem or queue.disk)" });
    return;
  }
  const d = (settings['queue'] as RawSettings['queue']).disk;
  const maxSize = parseByteSize(d.max_size)!;
  const segmentSize = d.segment_size === null ? undefined : parseByteSize(d.segment_size)!;
  if (segmentSize !== undefined && maxSize !== 0 && maxSize < segmentSize * 2) {
    report({ key: 'queue.disk.max_size', problem: 'disk queue max_size must be at least twice as big as segment_size' });
  }
  if (maxSize !== 0 && maxSize < MIN_DISK_MAX_SIZE) {
    report({ key: 'queue.disk.max_size', problem: `disk queue max_size (${maxSize}) cannot be less than 10MB` });
  }
  if (segmentSize !== undefined && segmentSize < MIN_DISK_SEGMENT_SIZE) {
    report({ key: 'queue.disk.segment_size', problem: `disk queue segment_size (${segmentSize}) cannot be less than 1MB` });
  }
  const retry = parseDuration(d.retry_interval)!;
  const maxRetry = parseDuration(d.max_retry_interval)!;
  if (maxRetry < retry) {
    report({
      key: 'queue.disk.max_retry_interval',
      problem: `disk queue max_retry_interval (${formatDuration(maxRetry)}) can't be less than retry_interval (${formatDuration(retry)})`,
    });
  }
}

function diskQueue(s: RawSettings, tree: Record<string, unknown>, home: string, data: string): DiskQueueConfig | undefined {
  if (!diskQueueSet(tree)) return undefined;
  const d = s.queue.disk;
  // max_size 0 means no limit in beats; the segment size then falls back to beats' 100MiB.
  const maxSize = parseByteSize(d.max_size)!;
  const segmentSize = d.segment_size === null ? (maxSize === 0 ? 100 * 1024 * 1024 : Math.floor(maxSize / 10)) : parseByteSize(d.segment_size)!;
  return {
    path: d.path === null ? resolve(data, 'diskqueue') : resolve(home, d.path),
    maxSize: maxSize === 0 ? Number.MAX_SAFE_INTEGER : maxSize,
    segmentSize,
    readAhead: d.read_ahead,
    writeAhead: d.write_ahead,
    retryIntervalMs: parseDuration(d.retry_interval)!,
    maxRetryIntervalMs: parseDuration(d.max_retry_interval)!,
  };
}

/** The typed view of the validated settings. */
function build(
  settings: Record<string, unknown>,
  opaque: Record<string, unknown>,
  modules: ModuleList[],
  tree: Record<string, unknown>,
  file: string | undefined,
  fileFor: (key: string) => string | undefined,
  cwd: string,
): ProcbeatConfig {
  const s = settings as unknown as RawSettings;
  const home = resolve(cwd, s.path.home ?? '.');
  const under = (p: string | null, fallback: string): string => resolve(home, p ?? fallback);
  const logs = under(s.path.logs, 'logs');
  const data = under(s.path.data, 'data');
  const output = opaque['output'];
  // `setup` is opaque until a schema fragment covers it; then convict's values (with defaults).
  const setup = opaque['setup'] ?? settings['setup'];
  return {
    file,
    fileFor,
    name: s.name ?? hostname(),
    tags: s.tags,
    fields: s.fields,
    fieldsUnderRoot: s.fields_under_root,
    shutdownTimeoutMs: parseDuration(s.shutdown_timeout)!,
    path: { home, config: under(s.path.config, '.'), data, logs },
    queue: {
      mem: {
        events: s.queue.mem.events,
        ...(parseByteSize(s.queue.mem.bytes)! > 0 ? { bytes: parseByteSize(s.queue.mem.bytes)! } : {}),
        flushMinEvents: s.queue.mem.flush.min_events,
        flushTimeoutMs: parseDuration(s.queue.mem.flush.timeout)!,
      },
      disk: diskQueue(s, tree, home, data),
    },
    http: { enabled: s.http.enabled, host: s.http.host, port: s.http.port },
    memory: { releaseAfterMs: parseDuration(s.memory.release_after)! },
    logging: {
      level: s.logging.level,
      toStderr: s.logging.to_stderr,
      toFiles: s.logging.to_files,
      files: {
        path: s.logging.files.path === null ? logs : resolve(home, s.logging.files.path),
        name: s.logging.files.name,
        rotateEveryBytes: parseByteSize(s.logging.files.rotateeverybytes)!,
        keepFiles: s.logging.files.keepfiles,
        permissions: fileMode(s.logging.files.permissions),
      },
      metrics: { enabled: s.logging.metrics.enabled, periodMs: parseDuration(s.logging.metrics.period)! },
    },
    output: isPlainObject(output) ? output : undefined,
    processors: opaque['processors'],
    setup: isPlainObject(setup) ? setup : undefined,
    modules,
    settings,
    tree,
  };
}

/** The settings as convict returns them (schema spelling, values unconverted). */
interface RawSettings {
  name: string | null;
  tags: string[];
  fields: Fields;
  fields_under_root: boolean;
  shutdown_timeout: string | number;
  path: { home: string | null; config: string | null; data: string | null; logs: string | null };
  queue: {
    mem: { events: number; bytes: string | number; flush: { min_events: number; timeout: string | number } };
    disk: {
      path: string | null;
      max_size: string | number;
      segment_size: string | number | null;
      read_ahead: number;
      write_ahead: number;
      retry_interval: string | number;
      max_retry_interval: string | number;
    };
  };
  http: { enabled: boolean; host: string; port: number };
  memory: { release_after: string | number };
  logging: {
    level: LogLevel;
    to_stderr: boolean;
    to_files: boolean;
    files: { path: string | null; name: string; rotateeverybytes: string | number; keepfiles: number; permissions: string | number };
    metrics: { enabled: boolean; period: string | number };
  };
}
