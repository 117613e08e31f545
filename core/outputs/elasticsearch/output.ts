import type { Logger } from 'pino';
import type { BaseConnection, Client } from '@elastic/elasticsearch';
import type { BeatEvent } from '../../api/event.js';
import type { MetricsRegistry } from '../../api/metrics.js';
import type { BatchResult, EncodedEvent, Output, OutputEvent } from '../../api/output.js';
import { Backoff, sleep } from './backoff.js';
import { sendBulk, type BulkRequestSettings } from './bulk-send.js';
import { createClient } from './client.js';
import type { ElasticsearchOutputConfig } from './config.js';
import { bulkItemOf, encodeEvent, toDeadLetter, type BulkItem, type EncodeSettings } from './encode.js';
import { compileFormatString } from './format-string.js';
import { redactUrl } from './hosts.js';
import { OutputMetrics } from './metrics.js';

export interface ElasticsearchOutputDeps {
  logger: Logger;
  metrics: MetricsRegistry;
  /** `procbeat/<version>`, sent as the user agent. */
  userAgent: string;
  /** Values for `%{[agent.version]}` and the like when an event does not carry the field. */
  formatFallbacks?: Readonly<Record<string, string>>;
  /** How long `close()` waits for in-flight batches before giving up on them (default 30 s). */
  closeTimeoutMs?: number;
  /** Replaces the HTTP layer (tests use @elastic/elasticsearch-mock). */
  Connection?: typeof BaseConnection;
  /**
   * Runs once before the first bulk request (index management, as beats does on connect).
   * While it fails, events wait and it is retried with backoff; waiting costs no retries.
   */
  onConnect?: (client: Client) => Promise<void>;
}

/** Bounds the number of bulk requests in flight (`worker` per host). */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * `output.elasticsearch`: bulk-indexes batches with `op_type: create` and settles every event:
 * acked (2xx, or 409 = already there), dropped by `non_indexable_policy` (other 4xx), re-sent to
 * the dead-letter index, retried with backoff (429, 5xx, connection failures, timeouts) until
 * `max_retries`, or dropped at shutdown. `publish` resolves when every event is settled.
 */
export class ElasticsearchOutput implements Output {
  readonly name = 'elasticsearch';
  readonly client: Client;
  private readonly metrics: OutputMetrics;
  private readonly log: Logger;
  private readonly routing: EncodeSettings;
  private readonly request: BulkRequestSettings;
  private readonly slots: Slots;
  private readonly stopping = new AbortController();
  private readonly inflight = new Set<Promise<BatchResult>>();
  private readonly closeTimeoutMs: number;
  private closed = false;
  private shutdownDropped = 0;
  private readonly onConnect: ((client: Client) => Promise<void>) | undefined;
  private connected: Promise<void> | undefined;
  private connectedOk = false;

  constructor(private readonly config: ElasticsearchOutputConfig, deps: ElasticsearchOutputDeps) {
    const index = compileFormatString(config.index, deps.formatFallbacks);
    if ('error' in index) throw new Error(`output.elasticsearch.index: ${index.error}`);
    let pipeline: EncodeSettings['pipeline'];
    if (config.pipeline !== undefined) {
      const p = compileFormatString(config.pipeline, deps.formatFallbacks);
      if ('error' in p) throw new Error(`output.elasticsearch.pipeline: ${p.error}`);
      pipeline = p;
    }
    this.routing = { index, pipeline };
    this.request = { compressionLevel: config.compressionLevel, parameters: config.parameters };
    this.log = deps.logger;
    this.onConnect = deps.onConnect;
    this.connectedOk = deps.onConnect === undefined;
    this.metrics = new OutputMetrics(deps.metrics);
    this.slots = new Slots(config.worker * Math.max(1, config.hosts.length));
    this.closeTimeoutMs = deps.closeTimeoutMs ?? 30_000;
    const clientOpts: Parameters<typeof createClient>[1] = { userAgent: deps.userAgent };
    if (deps.Connection) clientOpts.Connection = deps.Connection;
    this.client = createClient(config, clientOpts);
    this.log.info(
      { hosts: config.hosts.map(redactUrl), index: config.index, bulk_max_size: config.bulkMaxSize, worker: config.worker },
      'elasticsearch output ready',
    );
  }

  encode(event: BeatEvent): EncodedEvent {
    const enc = encodeEvent(event, this.routing);
    return 'error' in enc ? { encoded: true, body: '', error: enc.error } : { encoded: true, head: enc.action, body: enc.source };
  }

  publish(events: readonly OutputEvent[], signal?: AbortSignal): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error('the elasticsearch output is closed'));
    const run = this.publishBatch(events, signal);
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run)).catch(() => undefined);
    return run;
  }

  private async publishBatch(events: readonly OutputEvent[], signal?: AbortSignal): Promise<BatchResult> {
    const result: BatchResult = { acked: 0, dropped: 0 };
    if (events.length === 0) return result;
    this.metrics.addActive(events.length);

    const items: BulkItem[] = [];
    let encodeFailures = 0;
    let firstEncodeError = '';
    for (const ev of events) {
      const enc = bulkItemOf(ev, this.routing);
      if ('error' in enc) {
        encodeFailures++;
        if (firstEncodeError === '') firstEncodeError = enc.error;
      } else {
        items.push(enc);
      }
    }
    if (encodeFailures > 0) {
      this.settleDropped(result, encodeFailures);
      this.log.warn({ dropped: encodeFailures }, `dropped ${encodeFailures} event(s) that cannot be sent: ${firstEncodeError}`);
    }

    const size = this.config.bulkMaxSize > 0 ? this.config.bulkMaxSize : items.length;
    const chunks: BulkItem[][] = [];
    for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
    // one signal for this batch: the caller's (pipeline shutdown) or ours (close timeout);
    // listeners are removed afterwards so a long run does not pile them up on `stopping`
    const batch = new AbortController();
    const abort = (): void => batch.abort();
    const sources = signal ? [signal, this.stopping.signal] : [this.stopping.signal];
    for (const s of sources) {
      if (s.aborted) batch.abort();
      else s.addEventListener('abort', abort, { once: true });
    }
    try {
      await Promise.all(chunks.map((c) => this.runChunk(c, batch.signal, result)));
    } finally {
      for (const s of sources) s.removeEventListener('abort', abort);
    }
    return result;
  }

  private async runChunk(items: BulkItem[], signal: AbortSignal, result: BatchResult): Promise<void> {
    await this.slots.acquire();
    try {
      await this.deliver(items, signal, result);
    } finally {
      this.slots.release();
    }
  }

  /** The on-connect hook, once for all workers; a failure is retried by the next caller. */
  private async connect(signal: AbortSignal): Promise<boolean> {
    const backoff = new Backoff(this.config.backoff.initMs, this.config.backoff.maxMs);
    while (!this.connectedOk) {
      if (signal.aborted) return false;
      this.connected ??= this.onConnect!(this.client).then(
        () => {
          this.connectedOk = true;
        },
        (e: unknown) => {
          this.connected = undefined;
          throw e;
        },
      );
      try {
        await this.connected;
      } catch (e) {
        this.metrics.inc('write.errors');
        const wait = backoff.next();
        this.log.error({ retry_in_ms: Math.round(wait) }, `elasticsearch index management on connect failed: ${redactUrl(e instanceof Error ? e.message : String(e))}`);
        if (!(await sleep(wait, signal))) return false;
      }
    }
    return true;
  }

  /** Sends until every item is settled. */
  private async deliver(items: BulkItem[], signal: AbortSignal, result: BatchResult): Promise<void> {
    if (!this.connectedOk && !(await this.connect(signal))) {
      this.dropAtShutdown(result, items.length);
      return;
    }
    const backoff = new Backoff(this.config.backoff.initMs, this.config.backoff.maxMs);
    let pending = items;
    let isRetry = false;
    while (pending.length > 0) {
      if (signal.aborted) {
        this.dropAtShutdown(result, pending.length);
        return;
      }
      if (isRetry) this.metrics.inc('retries');
      const outcome = await sendBulk(this.client, pending, this.request, signal);
      this.metrics.inc('bulk.requests');
      this.metrics.inc('write.bytes', outcome.bytes);
      if (outcome.kind === 'aborted') {
        this.dropAtShutdown(result, pending.length);
        return;
      }

      const retry: BulkItem[] = [];
      const resend: BulkItem[] = [];
      // While the cluster cannot be reached at all, events wait for it without using up
      // max_retries, as beats' output waits for its connection: an outage loses nothing.
      const unreachable = outcome.kind === 'failed' && outcome.unreachable === true;
      const tally: Refusals = { dropped: 0, deadLettered: 0, deadLetterRefused: 0, first: '' };
      if (outcome.kind === 'failed') {
        if (outcome.status === 413) {
          // too large for http.max_content_length: halve until it fits, one event alone is refused
          if (pending.length > 1) {
            const half = Math.ceil(pending.length / 2);
            this.log.warn({ events: pending.length }, 'bulk request too large (HTTP 413), splitting it in two');
            await this.deliver(pending.slice(0, half), signal, result);
            await this.deliver(pending.slice(half), signal, result);
            return;
          }
          this.refuse(pending[0]!, 413, outcome.reason, result, resend, tally);
        } else {
          this.metrics.inc(outcome.readError ? 'read.errors' : 'write.errors');
          if (outcome.status === 429) this.metrics.inc('events.toomany', pending.length);
          retry.push(...pending);
          this.log.warn({ events: pending.length, status: outcome.status }, `bulk request failed: ${redactUrl(outcome.reason)}`);
        }
      } else {
        let acked = 0;
        let duplicates = 0;
        let deadLettered = 0;
        let tooMany = 0;
        for (let i = 0; i < pending.length; i++) {
          const item = pending[i]!;
          const { status, error } = outcome.items[i]!;
          if (status < 300 || status === 409) {
            acked++;
            if (status === 409) duplicates++;
            if (item.deadLettered) deadLettered++;
          } else if (status === 429) {
            tooMany++;
            retry.push(item);
          } else if (status < 500) {
            this.refuse(item, status, error ?? '', result, resend, tally);
          } else {
            retry.push(item);
          }
        }
        if (acked > 0) {
          this.metrics.inc('events.duplicates', duplicates);
          this.metrics.inc('events.dead_letter', deadLettered);
          this.metrics.addActive(-acked);
          result.acked += acked;
        }
        if (tooMany > 0) this.metrics.inc('events.toomany', tooMany);
        if (retry.length > 0) {
          this.log.debug({ events: retry.length }, 'bulk items failed with 429/5xx, retrying them');
        }
      }

      this.logRefusals(tally);

      // transient failures count one attempt each; past max_retries the event is given up
      const kept: BulkItem[] = [];
      let exhausted = 0;
      for (const item of retry) {
        if (unreachable) { kept.push(item); continue; }
        item.attempts++;
        if (this.config.maxRetries >= 0 && item.attempts > this.config.maxRetries) exhausted++;
        else kept.push(item);
      }
      this.metrics.inc('events.failed', retry.length);
      if (exhausted > 0) {
        this.settleDropped(result, exhausted);
        this.log.error(
          { dropped: exhausted, max_retries: this.config.maxRetries },
          `dropped ${exhausted} event(s) after ${this.config.maxRetries + 1} failed attempts`,
        );
      }
      pending = kept.concat(resend);
      isRetry = kept.length > 0;
      if (kept.length > 0) {
        const wait = backoff.next();
        if (!(await sleep(wait, signal))) {
          this.dropAtShutdown(result, pending.length);
          return;
        }
      } else {
        backoff.reset();
      }
    }
  }

  /** A 4xx other than 409/429: the document itself is the problem; apply non_indexable_policy. */
  private refuse(item: BulkItem, status: number, error: string, result: BatchResult, resend: BulkItem[], tally: Refusals): void {
    if (tally.first === '') tally.first = `status ${status}: ${truncate(error)}`;
    if (item.deadLettered) {
      this.settleDropped(result, 1);
      tally.deadLetterRefused++;
      return;
    }
    this.metrics.inc('events.non_indexable');
    const policy = this.config.nonIndexablePolicy;
    if (policy.kind === 'drop') {
      this.settleDropped(result, 1);
      tally.dropped++;
      return;
    }
    toDeadLetter(item, policy.index, status, error);
    resend.push(item);
    tally.deadLettered++;
  }

  private logRefusals(t: Refusals): void {
    if (t.dropped > 0) {
      this.log.warn({ dropped: t.dropped }, `cannot index ${t.dropped} event(s), dropped them (non_indexable_policy: drop); first: ${t.first}`);
    }
    if (t.deadLettered > 0) {
      this.log.warn({ events: t.deadLettered }, `cannot index ${t.deadLettered} event(s), sending them to the dead-letter index; first: ${t.first}`);
    }
    if (t.deadLetterRefused > 0) {
      this.log.error({ dropped: t.deadLetterRefused }, `the dead-letter index refused ${t.deadLetterRefused} document(s), dropped them; first: ${t.first}`);
    }
  }

  private settleDropped(result: BatchResult, n: number): void {
    result.dropped += n;
    this.metrics.addActive(-n);
  }

  private dropAtShutdown(result: BatchResult, n: number): void {
    if (n === 0) return;
    this.shutdownDropped += n;
    this.settleDropped(result, n);
  }

  /**
   * Waits up to the close timeout for in-flight batches, then aborts what is left; those events
   * are counted as dropped and logged. Closes the client's connections.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const running = [...this.inflight];
    if (running.length > 0) {
      const all = Promise.allSettled(running);
      const timer = new AbortController();
      const finished = await Promise.race([all.then(() => true), sleep(this.closeTimeoutMs, timer.signal).then(() => false)]);
      timer.abort();
      if (!finished) {
        this.stopping.abort();
        await all;
      }
    }
    if (this.shutdownDropped > 0) {
      this.log.error({ dropped: this.shutdownDropped }, `could not deliver ${this.shutdownDropped} event(s) before shutdown`);
    }
    await this.client.close();
  }
}

interface Refusals {
  dropped: number;
  deadLettered: number;
  deadLetterRefused: number;
  first: string;
}

function truncate(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
