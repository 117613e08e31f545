import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BeatInfo } from '../api/dataset.js';
import type { Output } from '../api/output.js';
import { loadBeatInfo } from '../beat/info.js';
import type { ProcbeatConfig } from '../config/types.js';
import { componentLogger, createLogger, type LoggerHandle } from '../logging/logger.js';
import { HeapRelease } from '../memory/heap-release.js';
import { startMetricsLog } from '../monitoring/metrics-log.js';
import { PromMetricsRegistry } from '../monitoring/registry.js';
import { startMonitoringServer, type MonitoringServer } from '../monitoring/server.js';
import { createOutput, validateOutput } from '../outputs/registry.js';
import { buildProcessors, type Processor } from '../processors/index.js';
import { configureSetupOnConnect } from '../setup/auto.js';
import type { Pipeline } from '../publisher/api.js';
import { createPipeline } from '../publisher/pipeline.js';
import { planDatasets } from '../registry/plan.js';
import { Runner } from '../runner/runner.js';
import { buildPlansProcessing, type ModuleProcessing } from '../runner/module-processing.js';
import type { CommandIO } from './command.js';

export interface RunBeatOptions {
  /** Resolves (with a reason) when procbeat should stop; default: SIGINT or SIGTERM. */
  stopWhen?: Promise<string>;
  /** Pino redact paths for secrets in the output's logged settings. */
  redact?: readonly string[];
}

/** Signals that stop procbeat cleanly; a second one exits at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * `procbeat run`: config → datasets planned → logger → beat info → metrics → output and
 * processors validated → monitoring endpoint → output → pipeline → runner, then waits for a stop signal and shuts down in
 * reverse: datasets stop, the queue drains into the output (bounded by shutdown_timeout),
 * everything closes, exit code 0. Startup failures are printed to stderr (and logged) and
 * give exit code 1.
 */
export async function runBeat(config: ProcbeatConfig, io: CommandIO, options: RunBeatOptions = {}): Promise<number> {
  const plans = planDatasets(config);

  let logging: LoggerHandle;
  try {
    logging = createLogger({ ...config.logging, files: config.logging.files, redact: options.redact ?? [] });
  } catch (err) {
    io.stderr.write(`procbeat: cannot set up logging: ${(err as Error).message}\n`);
    return 1;
  }
  const logger = logging.logger;
  const log = componentLogger(logger, 'beat');
  const cleanups: Array<() => Promise<void> | void> = [() => logging.close()];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch (err) { log.warn({ err }, 'cleanup step failed'); }
    }
  };
  const fail = async (what: string, err: unknown): Promise<number> => {
    const message = err instanceof Error ? err.message : String(err);
    log.error({ err }, `${what}: ${message}`);
    io.stderr.write(`${message}\n`);
    await cleanup();
    return 1;
  };

  // Listen from the start, so a signal during startup still ends in a clean shutdown.
  const signals = listenForSignals(log);
  cleanups.push(() => signals.remove());

  let info: BeatInfo;
  try {
    info = loadBeatInfo({ paths: config.path });
  } catch (err) {
    return fail('cannot load the beat identity', err);
  }
  log.info(
    { 'agent.id': info.uuid, 'host.id': info.hostId, paths: config.path, datasets: plans.map((p) => p.id) },
    `${info.name} ${info.version} starting on ${info.hostname} (uuid ${info.uuid}, pid ${process.pid})`,
  );

  const metrics = new PromMetricsRegistry();
  const startedAt = Date.now();
  const ephemeralId = randomUUID();

  // Settings problems first, before anything listens or opens files.
  let processors: Processor[];
  let moduleProcessing: Array<ModuleProcessing | undefined>;
  try {
    await validateOutput(config.output, { file: config.file, info });
    processors = await buildProcessors(config.processors, {
      file: config.file, key: 'processors', logger: componentLogger(logger, 'processors'), info, metrics,
    });
    moduleProcessing = await buildPlansProcessing(plans, {
      fileFor: (k) => config.fileFor(k), logger: componentLogger(logger, 'processors'), info,
    }, metrics);
  } catch (err) {
    return fail('invalid configuration', err);
  }

  let outputName: string | undefined;
  if (config.http.enabled) {
    let server: MonitoringServer;
    try {
      server = await startMonitoringServer({
        host: config.http.host, port: config.http.port, registry: metrics, info, name: config.name,
        ephemeralId, startedAt, logger: componentLogger(logger, 'monitoring'),
        state: () => ({
          output: { name: outputName ?? null },
          module: { names: [...new Set(plans.map((p) => p.module))], count: plans.length },
        }),
      });
    } catch (err) {
      return fail('cannot start the monitoring endpoint', err);
    }
    cleanups.push(() => server.close());
  }

  let output: Output | undefined;
  let pipeline: Pipeline;
  try {
    // The Elasticsearch output loads template, ILM policy and pipeline on first connect, with these settings.
    configureSetupOnConnect(config.setup);
    output = await createOutput(config.output, { file: config.file, logger: componentLogger(logger, 'output'), metrics, info });
    pipeline = createPipeline({
      queue: config.queue.mem,
      ...(config.queue.disk ? { disk: { ...config.queue.disk } } : {}),
      processors,
      output,
      metrics,
      logger: componentLogger(logger, 'publisher'),
      info,
      fields: config.fields,
      fieldsUnderRoot: config.fieldsUnderRoot,
      tags: [...config.tags],
      // agent.name and agent.ephemeral_id must match what / and /stats report.
      ...(config.name ? { name: config.name } : {}),
      ephemeralId,
    });
  } catch (err) {
    await output?.close().catch(() => undefined);
    return fail('cannot start the output', err);
  }
  // From here the pipeline owns the output: closing the pipeline closes it.
  outputName = output.name;

  if (config.logging.metrics.enabled) {
    const stopMetricsLog = startMetricsLog(metrics, componentLogger(logger, 'monitoring'), config.logging.metrics.periodMs);
    cleanups.push(stopMetricsLog);
  }

  // Processors with background work (add_docker_metadata's event stream) start before events flow.
  for (const p of processors) p.start?.();
  cleanups.push(async () => { for (const p of processors) await p.close?.(); });

  const runner = new Runner({ plans, pipeline, logger, metrics, info, processing: moduleProcessing });
  runner.start();
  const heapRelease = new HeapRelease({ idleMs: config.memory.releaseAfterMs, metrics: metrics.namespace('beat') });
  heapRelease.start();
  cleanups.push(() => heapRelease.stop());
  log.info(`${info.name} is running; stop it with SIGINT or SIGTERM`);

  const reason = await Promise.race([options.stopWhen ?? signals.stopped, signals.stopped]);
  log.info({ shutdown_timeout_ms: config.shutdownTimeoutMs }, `stopping (${reason}): draining the queue for up to ${config.shutdownTimeoutMs}ms`);
  await runner.stop(config.shutdownTimeoutMs);
  const drained = await pipeline.close(config.shutdownTimeoutMs);
  if (drained.undelivered > 0) {
    log.warn({ undelivered: drained.undelivered }, `${drained.undelivered} queued event(s) not delivered before shutdown_timeout; counted as dropped`);
  }
  await cleanupKeepingLogger(cleanups, log);
  log.info({ uptime_ms: Date.now() - startedAt }, `${info.name} stopped`);
  logging.close();
  return 0;
}

/** Runs every cleanup except the logger's own (the first one), newest first. */
async function cleanupKeepingLogger(cleanups: Array<() => Promise<void> | void>, log: Logger): Promise<void> {
  for (const fn of cleanups.slice(1).reverse()) {
    try { await fn(); } catch (err) { log.warn({ err }, 'cleanup step failed'); }
  }
}

function listenForSignals(log: Logger): { stopped: Promise<string>; remove(): void } {
  let first = true;
  let resolve!: (reason: string) => void;
  const stopped = new Promise<string>((r) => { resolve = r; });
  const handler = (signal: NodeJS.Signals): void => {
    if (first) {
      first = false;
      log.info(`received ${signal}`);
      resolve(signal);
      return;
    }
    log.warn(`received ${signal} again: exiting without waiting for the queue`);
    process.exit(1);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    stopped,
    remove: () => { for (const s of STOP_SIGNALS) process.off(s, handler); },
  };
}
