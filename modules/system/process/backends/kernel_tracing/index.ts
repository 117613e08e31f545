/**
 * The kernel_tracing backend of system/process: process events from quark-ffi (eBPF, then
 * kprobes), each record mapped to one ProcessEvent and through the dataset's shared ECS
 * mapping. Throws when no kernel backend works; the dataset then falls back to procfs.
 */
import type { DatasetContext, EventBatch, PushDataset } from '../../../../../core/api/dataset.js';
import type { BeatEvent } from '../../../../../core/api/event.js';
import { QuarkHandle, QuarkUnavailableError, type QuarkBackendName } from '../../../../../quark-ffi/ts/binding.js';
import { pollBatches } from '../../../../../quark-ffi/ts/poller.js';
import type { ProcessRecord } from '../../../../../quark-ffi/ts/record.js';
import type { ProcessDatasetConfig } from '../../config.js';
import type { Enrichment } from '../../enrich/index.js';
import type { ProcessEvent } from '../../event.js';
import { hostBootWall } from '../../boot-wall.js';
import { clockTicksPerSecond } from '../procfs/boot.js';
import { QuarkMetrics, newCounters, type BackendCounters } from './quark-metrics.js';
import { isKernelThread, recordToProcessEvent } from './record-to-event.js';

export { QUARK_METRICS_NAMESPACE } from './quark-metrics.js';

/** What the dataset hands this backend: its enrichment and how documents are made. */
export interface KernelTracingWiring {
  enrichment: Enrichment;
  /** Publishes and logs the backend that runs. */
  announce(backend: QuarkBackendName): void;
  /** The ProcessEvent -> document mapping (enrichment's lineage, signals, redaction, then ECS). */
  documents(backend: QuarkBackendName): (ev: ProcessEvent) => BeatEvent;
}

/** How long one poll may block: bounds how long stopping takes. */
const POLL_TIMEOUT_MS = 200;
/** At stop, polls of what the library still holds stop after this many (new events keep coming). */
const MAX_STOP_POLLS = 64;
/** Decode errors are logged at most this often; all of them are counted. */
const DECODE_ERROR_LOG_INTERVAL_MS = 60_000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens quark-ffi with each configured backend in turn, logging each failure the way
 * Auditbeat does. Throws (with every reason) when none works.
 */
export async function openQuark(config: ProcessDatasetConfig, ctx: DatasetContext): Promise<QuarkHandle> {
  const kt = config.kernelTracing;
  const tried: string[] = [];
  const order = kt.backends as readonly QuarkBackendName[];
  for (let i = 0; i < order.length; i++) {
    const name = order[i]!;
    try {
      return await QuarkHandle.open({
        backends: [name],
        holdTimeMs: kt.holdTimeMs,
        ringBufferBytes: kt.ringBufferSizeBytes,
        maxCacheSize: kt.maxCacheSize,
        snapshot: true,
      });
    } catch (err) {
      // Not built at all: no other backend can do better.
      if (err instanceof QuarkUnavailableError) throw new Error(`quark-ffi ${err.message}`);
      // The library names the backend itself ("ebpf: ..."); the log line already does.
      const text = errorText(err).replace(new RegExp(`^${name}: `), '');
      tried.push(`${name}: ${text}`);
      const next = order[i + 1];
      if (next !== undefined) {
        ctx.logger.warn(`quark ${name} backend failed (${text}), trying ${next === 'kprobe' ? 'kprobes' : next}`);
      }
    }
  }
  throw new Error(`no quark backend could be opened (${tried.join('; ')})`);
}


class KernelTracingDataset implements PushDataset {
  readonly kind = 'push' as const;
  private readonly counters: BackendCounters = newCounters();
  private readonly metrics: QuarkMetrics;
  private readonly toBeatEvent: (ev: ProcessEvent) => BeatEvent;
  private readonly ticks = clockTicksPerSecond();
  private readonly selfPid = process.pid;
  private lastDecodeLog = Number.NEGATIVE_INFINITY;
  private closed: Promise<void> | undefined;
  private readonly enrichment: Enrichment;

  constructor(
    private readonly handle: QuarkHandle,
    private readonly config: ProcessDatasetConfig,
    private readonly ctx: DatasetContext,
    wiring: KernelTracingWiring,
  ) {
    const backend = handle.backend();
    this.enrichment = wiring.enrichment;
    // Parents and leaders the lineage table has not seen: quark-ffi's cache knows them
    // (also ones that already exited, within the cache's grace time).
    this.enrichment.setProcessLookup((pid) => this.lookup(pid));
    this.toBeatEvent = wiring.documents(backend);
    this.metrics = new QuarkMetrics(ctx.metrics, () => (this.handle.closed ? undefined : this.handle.stats()), this.counters);
    this.metrics.start(backend);
  }

  private lookup(pid: number): ProcessEvent | undefined {
    if (this.handle.closed) return undefined;
    try {
      const rec = this.handle.lookup(pid);
      return rec ? this.eventOf(rec) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A record as a ProcessEvent, dated with the boot offset the procfs reader uses too (boot-wall.ts). */
  private eventOf(rec: ProcessRecord): ProcessEvent | undefined {
    rec.bootWallNs = hostBootWall.steady(rec.bootWallNs);
    return recordToProcessEvent(rec, this.ticks);
  }

  /** The records worth an event, as ProcessEvents; the rest counted by reason. */
  private toEvents(records: readonly ProcessRecord[]): ProcessEvent[] {
    const out: ProcessEvent[] = [];
    for (const rec of records) {
      if (!rec.flags.snapshot && !rec.flags.fork && !rec.flags.exec && !rec.flags.exit) continue;
      const ev = this.eventOf(rec);
      if (!ev) { this.counters.droppedNoIds++; continue; }
      if (isKernelThread(ev)) { this.counters.filteredKernelThreads++; continue; }
      if (ev.pid === this.selfPid && !this.config.includeSelf) { this.counters.filteredSelf++; continue; }
      out.push(ev);
    }
    return out;
  }

  async *events(signal: AbortSignal): AsyncIterable<BeatEvent> {
    for await (const batch of this.batches(signal)) yield* batch;
  }

  /** One batch per poll, its documents built lazily as the runner queues them. */
  async *batches(signal: AbortSignal): AsyncIterable<EventBatch> {
    const stop = AbortSignal.any([signal, this.ctx.signal]);
    try {
      const polls = pollBatches(this.handle, stop, {
        pollTimeoutMs: POLL_TIMEOUT_MS,
        onDecodeError: (err) => {
          this.counters.decodeErrors++;
          const now = Date.now();
          if (now - this.lastDecodeLog >= DECODE_ERROR_LOG_INTERVAL_MS) {
            this.lastDecodeLog = now;
            this.ctx.logger.error(`quark-ffi batch skipped (${this.counters.decodeErrors} so far): ${err.message}`);
          }
        },
      });
      for await (const records of polls) yield await this.batchOf(records);
      yield* this.deliverHeld();
    } finally {
      await this.close();
    }
  }

  private async batchOf(records: readonly ProcessRecord[]): Promise<EventBatch> {
    const evs = this.toEvents(records);
    // Hashes the cache knows for the executable the kernel reported are set now, with no
    // system call; the rest of the batch is hashed concurrently. Then emit in kernel order.
    // Incomplete records carry no hash field (reference spec §2): no point hashing them.
    let misses: Promise<void>[] | undefined;
    for (const ev of evs) {
      if (ev.complete && !this.enrichment.hashKnown(ev)) (misses ??= []).push(this.enrichment.hash(ev));
    }
    if (misses !== undefined) await Promise.all(misses);
    return this.documents(evs);
  }

  private *documents(evs: Array<ProcessEvent | undefined>): Generator<BeatEvent> {
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i];
      if (ev === undefined) continue;
      // Let go of each event as its document is built: the rest of the batch must not keep it.
      evs[i] = undefined;
      this.counters.events++;
      yield this.toBeatEvent(ev);
    }
  }

  /** On stop, the records still inside their hold time are released and delivered now. */
  private async *deliverHeld(): AsyncGenerator<EventBatch> {
    if (this.handle.closed) return;
    this.handle.flush();
    for (let i = 0; i < MAX_STOP_POLLS; i++) {
      const res = await this.handle.poll(0);
      if (res.closed) return;
      yield await this.batchOf(res.records);
      if (!res.more) return;
    }
  }

  /** Records the stop could not deliver (see deliverHeld): say how many. */
  private reportHeldAtClose(): void {
    if (this.handle.closed) return;
    try {
      const held = Number(this.handle.stats().pending);
      this.counters.heldAtClose = held;
      this.metrics.publish();
      if (held > 0) {
        this.ctx.logger.warn(`quark-ffi held ${held} records within the hold time when procbeat stopped; they are not reported`);
      }
    } catch (err) {
      this.ctx.logger.warn(`quark-ffi stats at close failed: ${errorText(err)}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.metrics.publish();
      this.reportHeldAtClose();
      this.metrics.stop();
      await this.handle.close();
      await this.enrichment.close();
    })();
    return this.closed;
  }
}

/**
 * Opens quark-ffi (eBPF, then kprobes) and returns the push dataset. The wiring's
 * enrichment (hashes, lineage, signals, redaction) is the dataset's; the dataset owns it
 * until this returns, and closes it on failure.
 */
export async function openKernelTracing(
  config: ProcessDatasetConfig, ctx: DatasetContext, wiring: KernelTracingWiring,
): Promise<PushDataset> {
  const handle = await openQuark(config, ctx);
  const backend = handle.backend();
  wiring.announce(backend);
  ctx.logger.info(`quark-ffi opened with the ${backend} backend (hold time ${config.kernelTracing.holdTimeMs} ms)`);
  return new KernelTracingDataset(handle, config, ctx, wiring);
}
