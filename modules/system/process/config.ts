/**
 * The system/process dataset's settings: defaults, the typed config and validation.
 * Validation order and message texts follow the reference spec §1 (Auditbeat's), so an
 * existing Auditbeat configuration fails (or passes) the same way here.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { ModuleBlock } from '../../../core/api/dataset.js';
import {
  HASH_TYPES, KERNEL_TRACING_BACKENDS, processConfigSchema,
  type HashType, type KernelTracingBackendName,
} from './config-schema.js';
import { DEFAULT_MAX_WAIT_MS } from './enrich/hasher/hasher.js';
import { parseByteSize, parseDuration } from './units.js';
import { compileArgsRedaction, type ArgsRedactionConfig } from './enrich/redact.js';

export { HASH_TYPES, KERNEL_TRACING_BACKENDS };
export type { HashType, KernelTracingBackendName };

export type ProcessBackendName = 'procfs' | 'kernel_tracing';

export interface HashConfig {
  hashTypes: HashType[];
  maxFileSizeBytes: number;
  scanRateBytesPerSec: number;
  /** LRU entries of the executable hash cache. */
  cacheSize: number;
  /** How long an event waits for a hash being computed; 0 waits without bound. */
  maxWaitMs: number;
}

export interface KernelTracingConfig {
  /** Window in which fork, exec and exit of one pid are merged; 0 disables aggregation. */
  holdTimeMs: number;
  /** Tried in this order. */
  backends: KernelTracingBackendName[];
  ringBufferSizeBytes: number;
  /** Upper bound of quark-ffi's process cache, in entries. */
  maxCacheSize: number;
}

export interface ProcessDatasetConfig {
  periodMs: number;
  /** `process.state.period` when non-zero, else `state.period`. */
  statePeriodMs: number;
  backend: ProcessBackendName;
  hash: HashConfig;
  kernelTracing: KernelTracingConfig;
  /** Report procbeat's own process too. */
  includeSelf: boolean;
  /** `process.args_redaction` (docs/hashing.md), validated; compiled by the dataset. */
  argsRedaction: ArgsRedactionConfig;
  /** The enrichment's process table (docs/enrichment.md). */
  lineage: LineageConfig;
}

export interface LineageConfig {
  /** `process.lineage.cache_size`: processes kept. */
  cacheSize: number;
  /** `process.lineage.grace_period`: how long an exited process stays for its children's events. */
  gracePeriodMs: number;
}

export const DEFAULTS = {
  period: '10s',
  statePeriod: '12h',
  backend: 'procfs' as ProcessBackendName,
  hashTypes: ['sha1'] as HashType[],
  maxFileSize: '100 MiB',
  scanRatePerSec: '50 MiB',
  hashCacheSize: 4096,
  // Long enough to hash a max_file_size executable in a start-up burst (docs/hashing.md).
  hashMaxWait: `${DEFAULT_MAX_WAIT_MS}ms`,
  holdTime: '1000ms',
  kernelBackends: ['ebpf', 'kprobe'] as KernelTracingBackendName[],
  ringBufferSize: '8 MiB',
  maxCacheSize: 65536,
  includeSelf: false,
  lineageCacheSize: 16384,
  lineageGracePeriod: '30s',
};

const UNPACK_PREFIX = 'failed to unpack the system/process config: ';

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
const validateShape = ajv.compile(processConfigSchema);

function keyOf(err: ErrorObject): string {
  // instancePath is a JSON pointer (/process/hash/hash_types/0); config keys are dotted.
  return err.instancePath.split('/').filter((p) => p !== '').join('.');
}

function describeAjvError(err: ErrorObject): string {
  const key = keyOf(err);
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty?: unknown }).additionalProperty);
    return `unknown key '${key ? `${key}.` : ''}${extra}'`;
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return `${key}: must be one of ${allowed.map((v) => `'${String(v)}'`).join(', ')}`;
  }
  return `${key || '<module block>'}: ${err.message ?? 'is invalid'}`;
}

type Obj = Record<string, unknown>;
function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function asList(v: unknown): unknown[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

export type ValidationResult =
  | { ok: true; config: ProcessDatasetConfig }
  | { ok: false; errors: string[] };

/** Validates a module block (dotted keys already nested) into the typed config. */
export function validateProcessConfig(block: ModuleBlock): ValidationResult {
  if (!validateShape(block)) {
    const seen = new Set<string>();
    const errors: string[] = [];
    for (const e of validateShape.errors ?? []) {
      const text = UNPACK_PREFIX + describeAjvError(e);
      if (!seen.has(text)) { seen.add(text); errors.push(text); }
    }
    return { ok: false, errors };
  }
  const root = obj(block);
  const proc = obj(root.process);
  const hash = obj(proc.hash);
  const kt = obj(proc.kernel_tracing);

  // Durations are unpacked (typed) values in beats, so a bad one is an unpack failure.
  const unpackErrors: string[] = [];
  const duration = (key: string, raw: unknown, fallback: string): number => {
    const parsed = parseDuration(raw ?? fallback);
    if (!parsed.ok) { unpackErrors.push(`${UNPACK_PREFIX}${key}: ${parsed.reason}`); return 0; }
    if (parsed.value < 0) { unpackErrors.push(`${UNPACK_PREFIX}${key}: duration must not be negative`); return 0; }
    return parsed.value;
  };
  const periodMs = duration('period', root.period, DEFAULTS.period);
  const statePeriodMs = duration('state.period', obj(root.state).period, DEFAULTS.statePeriod);
  const processStatePeriodMs = duration('process.state.period', obj(proc.state).period, '0s');
  const maxWaitMs = duration('process.hash.max_wait', hash.max_wait, DEFAULTS.hashMaxWait);
  const holdTimeMs = duration('process.kernel_tracing.hold_time', kt.hold_time, DEFAULTS.holdTime);
  const lineage = obj(proc.lineage);
  const gracePeriodMs = duration('process.lineage.grace_period', lineage.grace_period, DEFAULTS.lineageGracePeriod);
  if (root.period !== undefined && periodMs === 0 && unpackErrors.length === 0) {
    unpackErrors.push(`${UNPACK_PREFIX}period: must be greater than 0`);
  }
  const effectiveStateMs = processStatePeriodMs !== 0 ? processStatePeriodMs : statePeriodMs;
  if (effectiveStateMs === 0 && unpackErrors.length === 0) {
    unpackErrors.push(`${UNPACK_PREFIX}state.period: must be greater than 0`);
  }

  let kernelBackends = DEFAULTS.kernelBackends;
  const rawBackends = asList(kt.backends);
  if (rawBackends !== undefined) {
    const bad = rawBackends.filter((b) => !(KERNEL_TRACING_BACKENDS as readonly unknown[]).includes(b));
    if (bad.length > 0) {
      unpackErrors.push(`${UNPACK_PREFIX}process.kernel_tracing.backends: must be one of 'ebpf', 'kprobe', got '${bad.map(String).join("', '")}'`);
    } else if (rawBackends.length === 0) {
      unpackErrors.push(`${UNPACK_PREFIX}process.kernel_tracing.backends: must list at least one of 'ebpf', 'kprobe'`);
    } else {
      kernelBackends = [...new Set(rawBackends as KernelTracingBackendName[])];
    }
  }
  let ringBufferSizeBytes = 0;
  const ring = parseByteSize(kt.ring_buffer_size ?? DEFAULTS.ringBufferSize);
  if (!ring.ok) unpackErrors.push(`${UNPACK_PREFIX}process.kernel_tracing.ring_buffer_size: ${ring.reason}`);
  else if (ring.value <= 0) unpackErrors.push(`${UNPACK_PREFIX}process.kernel_tracing.ring_buffer_size: must be positive`);
  else ringBufferSizeBytes = ring.value;
  if (unpackErrors.length > 0) return { ok: false, errors: unpackErrors };

  // Reference spec §1: hash settings first, every error collected, then the backend.
  const errors: string[] = [];
  const rawTypes = asList(hash.hash_types);
  const hashTypes: HashType[] = [];
  for (const t of rawTypes ?? DEFAULTS.hashTypes) {
    const lower = String(t).toLowerCase();
    if ((HASH_TYPES as readonly string[]).includes(lower)) hashTypes.push(lower as HashType);
    else errors.push(`invalid hash_types value '${lower}'`);
  }
  const rawMax = hash.max_file_size ?? DEFAULTS.maxFileSize;
  const max = parseByteSize(rawMax);
  let maxFileSizeBytes = 0;
  if (!max.ok) errors.push(`invalid max_file_size value: ${max.reason}`);
  else if (max.value <= 0) errors.push(`max_file_size value (${String(rawMax)}) must be positive`);
  else maxFileSizeBytes = max.value;
  const rate = parseByteSize(hash.scan_rate_per_sec ?? DEFAULTS.scanRatePerSec);
  let scanRateBytesPerSec = 0;
  if (!rate.ok) errors.push(`invalid scan_rate_per_sec value: ${rate.reason}`);
  else scanRateBytesPerSec = rate.value;

  const backend = proc.backend ?? DEFAULTS.backend;
  if (backend !== 'procfs' && backend !== 'kernel_tracing') {
    errors.push(`invalid process.backend '${String(backend)}'`);
  }
  const redaction = compileArgsRedaction(proc.args_redaction);
  if (!redaction.ok) errors.push(...redaction.errors);
  if (errors.length > 0 || !redaction.ok) return { ok: false, errors };

  return {
    ok: true,
    config: {
      periodMs,
      statePeriodMs: effectiveStateMs,
      backend: backend as ProcessBackendName,
      hash: {
        hashTypes: [...new Set(hashTypes)],
        maxFileSizeBytes,
        scanRateBytesPerSec,
        cacheSize: typeof hash.cache_size === 'number' ? hash.cache_size : DEFAULTS.hashCacheSize,
        maxWaitMs,
      },
      kernelTracing: {
        holdTimeMs,
        backends: kernelBackends,
        ringBufferSizeBytes,
        maxCacheSize: typeof kt.max_cache_size === 'number' ? kt.max_cache_size : DEFAULTS.maxCacheSize,
      },
      includeSelf: typeof proc.include_self === 'boolean' ? proc.include_self : DEFAULTS.includeSelf,
      argsRedaction: redaction.config,
      lineage: {
        cacheSize: typeof lineage.cache_size === 'number' ? lineage.cache_size : DEFAULTS.lineageCacheSize,
        gracePeriodMs,
      },
    },
  };
}
