import type { Logger } from 'pino';
import type { BeatInfo } from '../api/dataset.js';
import type { BeatEvent, Fields } from '../api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../api/metrics.js';
import type { BatchResult, EncodedEvent, Output, OutputEvent } from '../api/output.js';
import { ProcessorError, type Processor, type ProcessorResult } from '../processors/index.js';
import type { DrainResult, Pipeline } from './api.js';
import { makeBeatFields } from './beat-fields.js';
import { makeEventIds } from './event-id.js';
import { LogThrottle } from './log-throttle.js';
import { DiskEventQueue, type DiskQueueSettings } from './diskqueue/event-queue.js';
import { MemoryQueue, type EventQueue, type QueuedBatch } from './queue.js';

export interface PipelineOptions {
  /** `queue.mem.*`: capacity (events, and bytes of encoded events), and when a batch is handed to the output. */
  queue: { events: number; bytes?: number; flushMinEvents: number; flushTimeoutMs: number };
  /** `queue.disk.*`: when set, events wait in segment files instead (queue.mem is then unused). */
  disk?: DiskQueueSettings;
  processors: Processor[];
  output: Output;
  metrics: MetricsRegistry;
  logger: Logger;
  info: BeatInfo;
  /** Global `fields`, `fields_under_root`, `tags` settings. */
  fields?: Fields;
  fieldsUnderRoot?: boolean;
  tags?: string[];
  /** The beat's `name` setting for agent.name and host.name (default: the hostname). */
  name?: string;
  /** agent.ephemeral_id; pass the one monitoring shows (default: a fresh UUID). */
  ephemeralId?: string;
  /** Batches in flight to the output at once (beats' `worker`). Default 1. */
  worker?: number;
  /** Largest batch handed to the output (beats' `bulk_max_size`). Default 1600. */
  batchMaxEvents?: number;
}

export const DEFAULT_BATCH_MAX_EVENTS = 1600;

/** The rejection of `publish` once the pipeline is closed (the event is counted as dropped). */
export class PipelineClosedError extends Error {
  constructor() {
    super('the pipeline is closed');
    this.name = 'PipelineClosedError';
  }
}

interface Waiter {
  event: BeatEvent;
  resolve(): void;
  reject(err: Error): void;
}

interface Batch {
  events: OutputEvent[];
  queued: QueuedBatch;
  /** Set when close() gave up on this batch; its late result must not be counted again. */
  abandoned: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The memory queue between datasets and the one output, as beats' memqueue behaves:
 * bounded (events queued + in flight ≤ `queue.events`), FIFO, batches handed over once
 * `flushMinEvents` are queued or the oldest waited `flushTimeoutMs`.
 *
 * Accounting: every event handed to publish/tryPublish is counted in `events.total` exactly
 * once, at the moment it lands in exactly one of filtered, dropped or active; active ones
 * later move to acked or failed. So at every instant
 *   total = filtered + dropped + active + acked + failed.
 */
class MemoryPipeline implements Pipeline {
  private readonly queue: EventQueue;
  private readonly threshold: number;
  private readonly immediate: boolean;
  private readonly timeoutMs: number;
  private readonly batchMax: number;
  private readonly workers: number;
  private readonly processors: Processor[];
  private readonly addBeatFields: (event: BeatEvent) => void;
  private readonly output: Output;
  /** The output's encoder, applied when an event enters queue.mem (none with queue.disk). */
  private readonly encode: ((event: BeatEvent) => EncodedEvent) | undefined;
  private readonly logger: Logger;
  private readonly p: MetricsNamespace;
  private readonly o: MetricsNamespace;
  private readonly abort = new AbortController();
  private readonly nextId = makeEventIds();
  private readonly processorErrorLogs: LogThrottle[];
  private readonly badEventLog: LogThrottle;

  private waiters: Array<Waiter | undefined> = [];
  private waitHead = 0;
  private readonly inFlight = new Set<Batch>();
  private active = 0;
  /** Events a processor is holding (it returned a Promise); not yet counted anywhere. */
  private held = 0;
  /** Set once close() gave up waiting; held events that land later are counted as dropped. */
  private gaveUp = false;
  private closed = false;
  private closing: Promise<DrainResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private onIdle: (() => void) | undefined;

  constructor(opts: PipelineOptions) {
    const { events, flushMinEvents, flushTimeoutMs } = opts.queue;
    if (!Number.isInteger(events) || events < 1) throw new RangeError(`queue.mem.events must be an integer >= 1, got ${events}`);
    if (!(flushMinEvents >= 0)) throw new RangeError(`queue.mem.flush.min_events must be >= 0, got ${flushMinEvents}`);
    if (!(flushTimeoutMs >= 0)) throw new RangeError(`queue.mem.flush.timeout must be >= 0, got ${flushTimeoutMs}`);
    this.batchMax = Math.max(1, Math.floor(opts.batchMaxEvents ?? DEFAULT_BATCH_MAX_EVENTS));
    this.threshold = Math.max(1, Math.min(flushMinEvents, events, this.batchMax));
    // The disk queue has no flush rule: what is on disk goes out as soon as a worker is free.
    this.immediate = opts.disk !== undefined || flushTimeoutMs === 0 || flushMinEvents <= 1;
    this.timeoutMs = flushTimeoutMs;
    this.workers = Math.max(1, Math.floor(opts.worker ?? 1));
    this.processors = opts.processors;
    this.output = opts.output;
    this.encode = opts.disk === undefined && opts.output.encode !== undefined ? opts.output.encode.bind(opts.output) : undefined;
    this.logger = opts.logger;
    this.addBeatFields = makeBeatFields(opts.info, {
      fields: opts.fields,
      fieldsUnderRoot: opts.fieldsUnderRoot,
      tags: opts.tags,
      name: opts.name,
      ephemeralId: opts.ephemeralId,
    });
    this.processorErrorLogs = opts.processors.map(() => new LogThrottle(opts.logger, 'warn'));
    this.badEventLog = new LogThrottle(opts.logger, 'error');

    this.p = opts.metrics.namespace('pipeline');
    this.o = opts.metrics.namespace('output');
    for (const k of ['events.total', 'events.filtered', 'events.dropped', 'events.published', 'events.acked', 'events.failed', 'processors.errors']) this.p.inc(k, 0);
    for (const k of ['events.batches', 'events.total', 'events.acked', 'events.dropped']) this.o.inc(k, 0);
    this.queue = opts.disk
      ? new DiskEventQueue(opts.disk, this.p, opts.logger, () => {
        this.admitWaiters();
        this.dispatch();
      })
      : new MemoryQueue(events, opts.queue.bytes);
    if (!opts.disk) {
      this.p.set('queue.max_events', events);
      if (opts.queue.bytes !== undefined) this.p.set('queue.max_bytes', opts.queue.bytes);
    }
    // Events a disk queue kept from an earlier run count as published by this one.
    this.active = this.queue.recovered;
    this.p.inc('events.total', this.queue.recovered);
    this.p.set('events.held', 0);
    this.setGauges();
    if (this.queue.recovered > 0) setImmediate(() => this.dispatch());
  }

  publish(event: BeatEvent): Promise<void> {
    return this.offer(event) ?? RESOLVED;
  }

  offer(event: BeatEvent): Promise<void> | undefined {
    if (this.closed) {
      this.countDropped(1);
      return Promise.reject(new PipelineClosedError());
    }
    const e = this.process(event);
    if (e === null) return undefined;
    if (e instanceof Promise) {
      // Only this event waits; the producer goes on (the processor bounds the hold).
      this.hold(e, true);
      return undefined;
    }
    if (this.waitHead === this.waiters.length && this.queue.hasRoom(this.active)) {
      this.admit(e);
      this.dispatch();
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ event: e, resolve, reject });
    });
  }

  tryPublish(event: BeatEvent): boolean {
    if (this.closed) {
      this.countDropped(1);
      return false;
    }
    const e = this.process(event);
    if (e === null) return true;
    if (e instanceof Promise) {
      this.hold(e, false);
      return true;
    }
    if (this.waitHead === this.waiters.length && this.queue.hasRoom(this.active)) {
      this.admit(e);
      this.dispatch();
      return true;
    }
    this.countDropped(1);
    return false;
  }

  /**
   * A held event lands when its processor lets go: queued like a publish (canWait) or a
   * tryPublish (dropped and counted when the queue is full). Held events are outside the
   * queue's capacity; each processor that holds bounds how many and for how long.
   */
  private hold(pending: Promise<BeatEvent | null>, canWait: boolean): void {
    this.held++;
    this.p.set('events.held', this.held);
    pending
      .catch((err: unknown) => {
        this.logger.error({ err }, 'a held event failed in the processors; dropping it');
        this.countDropped(1);
        return null;
      })
      .then((e) => {
        this.held--;
        this.p.set('events.held', this.held);
        if (e !== null) this.land(e, canWait);
        if (this.onIdle && this.isIdle()) this.onIdle();
      });
  }

  private land(e: BeatEvent, canWait: boolean): void {
    if (this.gaveUp) {
      this.countDropped(1);
    } else if (this.waitHead === this.waiters.length && this.queue.hasRoom(this.active)) {
      this.admit(e);
      this.dispatch();
    } else if (canWait) {
      this.waiters.push({ event: e, resolve: () => undefined, reject: () => undefined });
    } else {
      this.countDropped(1);
    }
  }

  close(timeoutMs: number): Promise<DrainResult> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<DrainResult> {
    const deadline = performance.now() + timeoutMs;
    this.closed = true;
    this.clearTimer();
    if (this.queue.persistent) return this.shutdownPersistent(timeoutMs, deadline);
    this.dispatch(); // closed: flush everything queued, whatever flush.min_events/timeout say
    const drained = await this.idle(timeoutMs);
    let undelivered = 0;
    if (!drained) {
      this.gaveUp = true;
      this.abort.abort(new Error('shutdown timeout'));
      const queued = this.queue.take(this.queue.length).events.length;
      let inFlight = 0;
      for (const b of this.inFlight) {
        b.abandoned = true;
        inFlight += b.events.length;
      }
      this.inFlight.clear();
      const waiting = this.waiters.length - this.waitHead;
      for (let i = this.waitHead; i < this.waiters.length; i++) this.waiters[i]!.reject(new PipelineClosedError());
      this.waiters = [];
      this.waitHead = 0;
      // Held events are counted as dropped when their processor lets go of them.
      undelivered = queued + inFlight + waiting + this.held;
      this.active = 0;
      this.p.inc('events.total', waiting);
      this.p.inc('events.dropped', queued + inFlight + waiting);
      this.setGauges();
      this.logger.warn(
        { undelivered, queued, in_flight: inFlight, waiting, held: this.held, timeout_ms: timeoutMs },
        `shutdown: ${undelivered} events were not delivered within ${timeoutMs} ms and are counted as dropped`,
      );
    }
    await this.closeOutput(deadline);
    return { undelivered };
  }

  /**
   * A disk queue keeps what is queued for the next start: close waits only for the batches
   * in flight (their acks move the queue on), admits waiting events that fit, and writes
   * everything accepted to disk. Batches still in flight at the timeout are sent again later.
   */
  private async shutdownPersistent(timeoutMs: number, deadline: number): Promise<DrainResult> {
    this.admitWaiters();
    const waiting = this.waiters.length - this.waitHead;
    for (let i = this.waitHead; i < this.waiters.length; i++) this.waiters[i]!.reject(new PipelineClosedError());
    this.waiters = [];
    this.waitHead = 0;
    this.countDropped(waiting);
    const settled = await this.idle(timeoutMs);
    if (!settled) {
      this.abort.abort(new Error('shutdown timeout'));
      for (const b of this.inFlight) b.abandoned = true;
      this.inFlight.clear();
    }
    this.queue.close();
    this.setGauges();
    this.logger.info({ events: this.active, waiting_dropped: waiting, in_flight_abandoned: !settled },
      `shutdown: ${this.active} event(s) stay in the disk queue and are sent after the next start`);
    await this.closeOutput(deadline);
    return { undelivered: waiting };
  }

  private async closeOutput(deadline: number): Promise<void> {
    // The output gets what is left of the budget (at least a second) to close; a stuck
    // close must not hold procbeat's shutdown forever.
    const budget = Math.max(1000, deadline - performance.now());
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.output.close().then(
        () => 'closed' as const,
        (err: unknown) => {
          this.logger.error({ err, output: this.output.name }, 'closing the output failed');
          return 'failed' as const;
        },
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), budget);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.error({ output: this.output.name, timeout_ms: budget }, 'the output did not close in time; giving up on it');
  }

  /** Resolves true once nothing is queued, waiting or in flight; false after `timeoutMs`. */
  private idle(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.onIdle = undefined;
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.onIdle = () => {
        clearTimeout(t);
        this.onIdle = undefined;
        resolve(true);
      };
    });
  }

  private isIdle(): boolean {
    if (this.queue.persistent && this.closed) return this.inFlight.size === 0 && this.held === 0;
    return this.active === 0 && this.held === 0 && this.waitHead === this.waiters.length;
  }

  /**
   * Beat fields, then the processors in order. Null: filtered (or unusable), already counted.
   * A Promise: a processor holds the event; the rest of the chain runs when it lets go.
   */
  private process(event: BeatEvent): ProcessorResult {
    if (!(event?.timestamp instanceof Date) || typeof event.fields !== 'object' || event.fields === null) {
      this.badEventLog.log({ event_keys: event ? Object.keys(event) : [] }, 'dropping a malformed event (needs a Date timestamp and a fields object)');
      this.countDropped(1);
      return null;
    }
    this.addBeatFields(event);
    return this.runProcessors(event, 0);
  }

  private runProcessors(event: BeatEvent, from: number): ProcessorResult {
    let cur = event;
    for (let i = from; i < this.processors.length; i++) {
      const proc = this.processors[i]!;
      let next: ProcessorResult;
      try {
        next = proc.run(cur);
      } catch (err) {
        next = this.recover(err, i, cur);
      }
      if (next instanceof Promise) {
        const before = cur;
        return next.then(
          (e) => (e === null ? this.filtered() : this.runProcessors(e, i + 1)),
          (err: unknown) => {
            const e = this.recover(err, i, before);
            return e === null ? this.filtered() : this.runProcessors(e, i + 1);
          },
        );
      }
      if (next === null) return this.filtered();
      cur = next;
    }
    return cur;
  }

  private filtered(): null {
    this.p.inc('events.total');
    this.p.inc('events.filtered');
    return null;
  }

  /** A processor threw: ProcessorError goes on with its event (null: filter it), anything else with the event as it was. */
  private recover(err: unknown, i: number, cur: BeatEvent): BeatEvent | null {
    const proc = this.processors[i]!;
    this.p.inc('processors.errors');
    if (err instanceof ProcessorError) {
      this.processorErrorLogs[i]!.log({ processor: proc.name, index: i }, `processor ${proc.name}: ${err.message}`);
      return err.event;
    }
    this.processorErrorLogs[i]!.log({ processor: proc.name, index: i, err }, `processor ${proc.name} failed; the event goes on without it`);
    return cur;
  }

  private countDropped(n: number): void {
    this.p.inc('events.total', n);
    this.p.inc('events.dropped', n);
  }

  private admit(event: BeatEvent): void {
    // The id is given before the event is queued, so queue.disk keeps it across a crash.
    if (event.meta?.['_id'] === undefined) event.meta = { ...event.meta, _id: this.nextId() };
    if (!this.queue.push(this.encode === undefined ? event : this.encode(event), performance.now())) {
      this.countDropped(1);
      return;
    }
    this.active++;
    this.p.inc('events.total');
    this.setGauges();
  }

  private admitWaiters(): void {
    let admitted = false;
    while (this.waitHead < this.waiters.length && this.queue.hasRoom(this.active)) {
      const w = this.waiters[this.waitHead]!;
      this.waiters[this.waitHead++] = undefined;
      this.admit(w.event);
      w.resolve();
      admitted = true;
    }
    if (this.waitHead === this.waiters.length) {
      this.waiters = [];
      this.waitHead = 0;
    } else if (this.waitHead > 1024 && this.waitHead * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.waitHead);
      this.waitHead = 0;
    }
    if (admitted) this.dispatch();
  }

  private setGauges(): void {
    this.p.set('events.active', this.active);
    this.p.set('queue.filled.events', this.active);
    if (!this.queue.persistent) this.p.set('queue.filled.bytes', this.queue.bytes);
  }

  /** Hands batches to the output while workers are free and a flush rule says so. */
  private dispatch(): void {
    while (!(this.closed && this.queue.persistent) && this.inFlight.size < this.workers && this.queue.length > 0) {
      const oldest = this.queue.oldestSince()!;
      const now = performance.now();
      const ready = this.closed || this.immediate || this.queue.length >= this.threshold || now - oldest >= this.timeoutMs;
      if (!ready) {
        this.armTimer(oldest + this.timeoutMs - now);
        return;
      }
      const taken = this.queue.take(this.batchMax);
      this.countLost();
      if (taken.events.length === 0) {
        this.queue.done(taken);
        break;
      }
      this.send(taken);
    }
    if (this.queue.length === 0) this.clearTimer();
  }

  private armTimer(inMs: number): void {
    const due = performance.now() + inMs;
    if (this.timer && this.timerDue <= due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, Math.max(1, Math.ceil(inMs)));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Damaged events the disk queue skipped leave `active` as dropped. */
  private countLost(): void {
    const lost = this.queue.takeLost();
    if (lost === 0) return;
    this.active -= lost;
    this.p.inc('events.dropped', lost);
    this.setGauges();
  }

  private send(queued: QueuedBatch): void {
    const events = queued.events;
    const batch: Batch = { events, queued, abandoned: false };
    this.inFlight.add(batch);
    this.p.inc('events.published', events.length);
    this.o.inc('events.batches');
    this.o.inc('events.total', events.length);
    let result: Promise<BatchResult>;
    try {
      result = this.output.publish(events, this.abort.signal);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (r) => this.settle(batch, r),
      (err: unknown) => {
        if (batch.abandoned) return;
        this.logger.error({ err, output: this.output.name, events: events.length }, `output ${this.output.name} failed a batch; its ${events.length} events are counted as failed`);
        this.settle(batch, { acked: 0, dropped: events.length });
      },
    );
  }

  private settle(batch: Batch, r: BatchResult): void {
    if (batch.abandoned) return; // already counted as dropped by close()
    this.inFlight.delete(batch);
    const n = batch.events.length;
    let acked = r?.acked;
    let dropped = r?.dropped;
    const valid = Number.isInteger(acked) && Number.isInteger(dropped) && acked >= 0 && dropped >= 0 && acked + dropped === n;
    if (!valid) {
      this.logger.error(
        { output: this.output.name, acked, dropped, events: n },
        `output ${this.output.name} reported acked+dropped != batch size (a bug in the output); the difference is counted as dropped`,
      );
      acked = Number.isFinite(acked) ? Math.min(n, Math.max(0, Math.floor(acked))) : 0;
      dropped = n - acked;
    }
    this.p.inc('events.acked', acked);
    this.p.inc('events.failed', dropped);
    this.o.inc('events.acked', acked);
    this.o.inc('events.dropped', dropped);
    this.active -= n;
    this.queue.done(batch.queued);
    this.setGauges();
    this.admitWaiters();
    this.dispatch();
    if (this.onIdle && this.isIdle()) this.onIdle();
  }
}

/** The pipeline the runner publishes into; see MemoryPipeline for the flush and accounting rules. */
export function createPipeline(opts: PipelineOptions): Pipeline {
  return new MemoryPipeline(opts);
}
