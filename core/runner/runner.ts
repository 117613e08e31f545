import type { Logger } from 'pino';
import type { BeatInfo, Dataset, DatasetContext, EventBatch, PeriodicDataset, PushDataset } from '../api/dataset.js';
import type { BeatEvent } from '../api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../api/metrics.js';
import type { Pipeline } from '../publisher/api.js';
import type { DatasetPlan } from '../registry/plan.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.js';
import type { ModuleProcessing } from './module-processing.js';

/** Events published in a row before the runner lets the event loop turn. */
const YIELD_EVERY = 256;

export interface RunnerOptions {
  plans: readonly DatasetPlan[];
  /** `offer` is optional: without it each event of a batch waits on `publish`. */
  pipeline: Pick<Pipeline, 'publish'> & Partial<Pick<Pipeline, 'offer'>>;
  logger: Logger;
  metrics: MetricsRegistry;
  info: BeatInfo;
  backoff?: BackoffOptions;
  /** Each plan's module-level step (same order as `plans`), from buildPlansProcessing. */
  processing?: ReadonlyArray<ModuleProcessing | undefined>;
}

export interface StopResult {
  /** Datasets that had not returned when the timeout ran out (e.g. blocked on a full queue). */
  stuck: string[];
}

/**
 * Runs every planned dataset under a supervisor: push datasets are pulled a batch at a time
 * when they offer batches (else one event at a time); an event waits only when the queue is
 * full (the backpressure). Periodic ones are fetched every period, the
 * first time right away. A dataset that throws, or ends on its own, is closed, logged and
 * created again after an exponential backoff. Metrics: namespace `runner`, per dataset
 * `<module>.<dataset>.{events,starts,failures,running}`.
 */
export class Runner {
  private readonly controller = new AbortController();
  private readonly loops = new Map<string, Promise<void>>();
  private readonly ns: MetricsNamespace;
  private readonly log: Logger;
  private sinceYield = 0;

  constructor(private readonly options: RunnerOptions) {
    this.ns = options.metrics.namespace('runner');
    this.log = options.logger.child({ 'log.logger': 'runner' });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(): void {
    this.options.plans.forEach((plan, i) => {
      const name = this.loops.has(plan.id) ? `${plan.id}#${i}` : plan.id;
      this.loops.set(name, this.supervise(plan, this.options.processing?.[i]));
    });
    this.log.info({ datasets: [...this.loops.keys()] }, `started ${this.loops.size} dataset(s)`);
  }

  /** Resolves when every dataset loop has ended. */
  async done(): Promise<void> {
    await Promise.all(this.loops.values());
  }

  /** Aborts the datasets and waits up to `timeoutMs` for them to return. */
  async stop(timeoutMs: number): Promise<StopResult> {
    this.controller.abort();
    const pending = new Set(this.loops.keys());
    const all = [...this.loops].map(async ([name, loop]) => {
      await loop;
      pending.delete(name);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); }),
    ]);
    clearTimeout(timer);
    const stuck = [...pending];
    if (stuck.length > 0) this.log.warn({ datasets: stuck }, `datasets still running after ${timeoutMs}ms: ${stuck.join(', ')}`);
    return { stuck };
  }

  private async supervise(plan: DatasetPlan, processing: ModuleProcessing | undefined): Promise<void> {
    const signal = this.controller.signal;
    const key = `${plan.module}.${plan.dataset}`;
    const logger = this.options.logger.child({ 'log.logger': key });
    const backoff = new Backoff(this.options.backoff ?? DEFAULT_BACKOFF);
    const ctx: DatasetContext = { logger, metrics: this.options.metrics, info: this.options.info, signal };
    this.ns.set(`${key}.running`, 0);

    while (!signal.aborted) {
      const startedAt = Date.now();
      let failure: unknown;
      let dataset: Dataset | undefined;
      try {
        dataset = await plan.definition.create(plan.config, ctx);
        this.ns.inc(`${key}.starts`);
        this.ns.set(`${key}.running`, 1);
        if (dataset.kind === 'push') await this.runPush(dataset, key, signal, processing);
        else await this.runPeriodic(dataset, key, signal, processing);
        if (!signal.aborted) failure = new Error('the dataset stopped on its own');
      } catch (err) {
        failure = err;
      } finally {
        this.ns.set(`${key}.running`, 0);
        await dataset?.close?.().catch((err: unknown) => logger.warn({ err }, `closing ${plan.id} failed`));
      }
      if (signal.aborted) break;
      this.ns.inc(`${key}.failures`);
      const delay = backoff.next(Date.now() - startedAt);
      logger.error({ err: failure }, `dataset ${plan.id} failed: ${errorText(failure)}; restarting in ${delay}ms`);
      await sleep(delay, signal);
    }
    logger.debug(`dataset ${plan.id} stopped`);
  }

  /**
   * A push dataset ends its iterator when `signal` aborts; what it still yields then (e.g.
   * records a kernel source held for aggregation) is published too, so a stop loses nothing.
   */
  private async runPush(dataset: PushDataset, key: string, signal: AbortSignal, processing: ModuleProcessing | undefined): Promise<void> {
    if (dataset.batches !== undefined) {
      for await (const batch of dataset.batches(signal)) await this.publishBatch(batch, key, processing);
      return;
    }
    for await (const event of dataset.events(signal)) await this.publish(event, key, processing);
  }

  /** Each event is queued before the next is built; only a full queue or a turn of the event loop waits. */
  private async publishBatch(batch: EventBatch, key: string, processing: ModuleProcessing | undefined): Promise<void> {
    // Counted a stretch at a time: this loop runs once per kernel record.
    let n = 0;
    for (const event of batch) {
      n++;
      const wait = this.deliver(event, key, processing);
      if (wait !== undefined) await wait;
      if (++this.sinceYield >= YIELD_EVERY) {
        this.ns.inc(`${key}.events`, n);
        n = 0;
        await this.turn();
      }
    }
    this.ns.inc(`${key}.events`, n);
  }

  /**
   * The module block's own settings and processors (before the global ones: beats' order),
   * then into the pipeline. A promise only when the event must wait for room in the queue.
   */
  private deliver(event: BeatEvent, key: string, processing: ModuleProcessing | undefined): Promise<void> | undefined {
    const processed = processing === undefined ? event : processing.run(event);
    if (processed instanceof Promise) {
      this.publishHeld(processed, key);
      return undefined;
    }
    if (processed === null) return undefined;
    const pipeline = this.options.pipeline;
    return pipeline.offer !== undefined ? pipeline.offer(processed) : pipeline.publish(processed);
  }

  /**
   * A publish into a queue with room resolves as a microtask; a source that always has an
   * event ready would then never let timers, I/O or the HTTP endpoint run.
   */
  private turn(): Promise<void> {
    this.sinceYield = 0;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  private publishHeld(held: Promise<BeatEvent | null>, key: string): void {
    // A module processor holds this one event (bounded by that processor); the rest flow on.
    void held
      .then((e) => (e === null ? undefined : this.options.pipeline.publish(e)))
      .catch((err: unknown) => this.log.warn(`a held event of ${key} was not published: ${err instanceof Error ? err.message : String(err)}`));
  }

  private async runPeriodic(dataset: PeriodicDataset, key: string, signal: AbortSignal, processing: ModuleProcessing | undefined): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      const events = await dataset.fetch(signal);
      for (const event of events) {
        if (signal.aborted) return;
        await this.publish(event, key, processing);
      }
      // The period runs from fetch start to fetch start, as in beats.
      await sleep(dataset.periodMs - (Date.now() - started), signal);
    }
  }

  private async publish(event: BeatEvent, key: string, processing: ModuleProcessing | undefined): Promise<void> {
    const wait = this.deliver(event, key, processing);
    if (wait !== undefined) await wait;
    this.ns.inc(`${key}.events`);
    if (++this.sinceYield >= YIELD_EVERY) await this.turn();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs the datasets for `durationMs` (or until `until` resolves), then stops them: for tests
 * and tools that need a bounded run. The pipeline is not closed here.
 */
export async function runFor(options: RunnerOptions & { durationMs: number; stopTimeoutMs?: number }): Promise<StopResult> {
  const runner = new Runner(options);
  runner.start();
  await sleep(options.durationMs, new AbortController().signal);
  return runner.stop(options.stopTimeoutMs ?? 5000);
}
