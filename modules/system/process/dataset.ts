/**
 * The system/process dataset: picks the backend (kernel_tracing, else procfs), wires the
 * enrichment (user names, executable hashes, lineage, signals, redaction: enrich/index.ts)
 * and the ECS mapping both backends share.
 */
import { readlinkSync } from 'node:fs';
import type { Dataset, DatasetContext, DatasetDefinition, ModuleBlock } from '../../../core/api/dataset.js';
import type { BeatEvent } from '../../../core/api/event.js';
import { openKernelTracing } from './backends/kernel_tracing/index.js';
import { ProcfsBackend, type Enrich } from './backends/procfs/procfs-backend.js';
import { validateProcessConfig, type ProcessDatasetConfig } from './config.js';
import { processEventToBeatEvent } from './ecs/to-beat-event.js';
import { UserNames, type NameResolver } from './enrich/user-names.js';
import { createHasher, type Hasher } from './enrich/hasher/index.js';
import { Enrichment } from './enrich/index.js';
import { compileArgsRedaction } from './enrich/redact.js';
import type { ProcessEvent } from './event.js';

/** Where the running backend is published: `/stats` shows `system.process.backend`. */
export const BACKEND_METRIC = { namespace: 'system.process', key: 'backend' } as const;
export type RunningBackend = 'procfs' | 'ebpf' | 'kprobe';

export const FALLBACK_LOG_PREFIX = "can't use kernel_tracing, falling back to procfs: ";

/** Publishes and logs the backend that runs; the kernel_tracing backend calls it with ebpf / kprobe. */
export function announceBackend(ctx: DatasetContext, backend: RunningBackend): void {
  ctx.metrics.namespace(BACKEND_METRIC.namespace).set(BACKEND_METRIC.key, backend);
  ctx.logger.info({ 'system.process.backend': backend }, `system/process dataset running with the ${backend} backend`);
}

/**
 * The ProcessEvent -> BeatEvent mapping for this host, with a bounded user/group name cache:
 * the enrichment's lineage, signals and redaction (when given), then the ECS document.
 * Each backend gets its own, built by the dataset and handed down.
 */
export function createEcsMapper(
  ctx: DatasetContext, enrichment: Enrichment | undefined, backendName?: RunningBackend,
  names: NameResolver = new UserNames({ metrics: ctx.metrics.namespace('system.process') }),
): (event: ProcessEvent) => BeatEvent {
  const ecs = { hostId: ctx.info.hostId, names, ...(backendName ? { backendName } : {}) };
  // Lineage, signals and redaction run here, right before the document is built, so every
  // event of either backend goes through them in the order the backend produced it.
  if (enrichment === undefined) return (event) => processEventToBeatEvent(event, ecs);
  const errors = ctx.metrics.namespace('system.process');
  let lastLog = Number.NEGATIVE_INFINITY;
  return (event) => {
    try {
      enrichment.apply(event);
    } catch (err) {
      // An enrichment bug must not cost the event: it goes out with what it has.
      errors.inc('enrich.errors');
      if (Date.now() - lastLog > 60_000) {
        lastLog = Date.now();
        ctx.logger.error(`process enrichment failed for PID ${event.pid}: ${errorText(err)}`);
      }
    }
    return processEventToBeatEvent(event, ecs);
  };
}

/**
 * The enrichment of the dataset instance running in a context, for inspection only (tests
 * read its table sizes); nothing on the event path looks it up.
 */
const enrichments = new WeakMap<DatasetContext, Enrichment>();

export function enrichmentFor(ctx: DatasetContext): Enrichment | undefined {
  return enrichments.get(ctx);
}

function createEnrichment(config: ProcessDatasetConfig, ctx: DatasetContext, hasher: Hasher | undefined): Enrichment {
  const a = config.argsRedaction;
  const compiled = compileArgsRedaction({
    enabled: a.enabled,
    ...(a.patterns !== undefined ? { patterns: [...a.patterns] } : {}),
    ...(a.valuePatterns !== undefined ? { value_patterns: [...a.valuePatterns] } : {}),
  }, { metrics: ctx.metrics });
  // Validated with the config already; a failure here would be a bug, not a user error.
  if (!compiled.ok) throw new Error(compiled.errors.join('; '));
  const enrichment = new Enrichment({
    ...(hasher !== undefined ? { hasher } : {}),
    ...(compiled.redactor !== undefined ? { redactor: compiled.redactor } : {}),
    lineage: { maxEntries: config.lineage.cacheSize, graceMs: config.lineage.gracePeriodMs },
    metrics: ctx.metrics,
  });
  enrichments.set(ctx, enrichment);
  return enrichment;
}

export { processEventToBeatEvent };

/** The hasher lives in its own folder (enrich/hasher); without it, events carry no hashes. */
async function openHasher(config: ProcessDatasetConfig, ctx: DatasetContext): Promise<Hasher | undefined> {
  if (config.hash.hashTypes.length === 0) return undefined;
  try {
    return createHasher({
      hashTypes: config.hash.hashTypes,
      maxFileSize: config.hash.maxFileSizeBytes,
      cacheSize: config.hash.cacheSize,
      maxWaitMs: config.hash.maxWaitMs,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
  } catch (err) {
    ctx.logger.warn(`executable hashing is unavailable, events carry no process.hash: ${errorText(err)}`);
    return undefined;
  }
}

/** Hashes (or the reason there are none) through the enrichment, which remembers reasons per process. */
function hashEnricher(enrichment: Enrichment): Enrich {
  return (ev) => enrichment.hash(ev);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The inode of our own mount namespace, for the "same mount namespace" hashing rule. */
export function ownMountNamespace(): number | undefined {
  try {
    const m = /\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/mnt'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function createProcfs(config: ProcessDatasetConfig, ctx: DatasetContext): Promise<Dataset> {
  const hasher = await openHasher(config, ctx);
  const enrichment = createEnrichment(config, ctx, hasher);
  const backend = new ProcfsBackend({
    periodMs: config.periodMs,
    statePeriodMs: config.statePeriodMs,
    includeSelf: config.includeSelf,
    toBeatEvent: createEcsMapper(ctx, enrichment),
    ...(hasher ? { enrich: hashEnricher(enrichment) } : {}),
  }, ctx);
  announceBackend(ctx, 'procfs');
  return {
    kind: 'periodic',
    periodMs: backend.periodMs,
    fetch: (signal) => backend.fetch(signal),
    close: async () => { await enrichment.close(); },
  };
}

export const processDataset: DatasetDefinition<ProcessDatasetConfig> = {
  module: 'system',
  name: 'process',
  validate: (block: ModuleBlock) => validateProcessConfig(block),
  async create(config, ctx) {
    if (config.backend === 'kernel_tracing') {
      const enrichment = createEnrichment(config, ctx, await openHasher(config, ctx));
      try {
        return await openKernelTracing(config, ctx, {
          enrichment,
          announce: (backend) => announceBackend(ctx, backend),
          documents: (backend) => createEcsMapper(ctx, enrichment, backend),
        });
      } catch (err) {
        await enrichment.close();
        ctx.logger.warn(`${FALLBACK_LOG_PREFIX}${errorText(err)}`);
      }
    }
    return createProcfs(config, ctx);
  },
};
