import type { Logger } from 'pino';
import type { BeatEvent } from '../../api/event.js';
import type { MetricsNamespace } from '../../api/metrics.js';
import { LogThrottle } from '../log-throttle.js';
import type { EventQueue, QueuedBatch } from '../queue.js';
import { decodeEvent, encodeEvent } from './event-codec.js';
import { DiskStore, type DiskStoreOptions, type StoredItem } from './store.js';

/** `queue.disk.*` as the pipeline needs it: sizes in bytes, intervals in ms, path absolute. */
export interface DiskQueueSettings {
  path: string;
  maxSize: number;
  segmentSize: number;
  readAhead: number;
  writeAhead: number;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
}

interface DiskBatch extends QueuedBatch {
  readonly items: StoredItem[];
  finished: boolean;
}

const GAUGE_EVERY_MS = 1000;

/**
 * queue.disk over the byte store: events are encoded on the way in, decoded when a batch
 * is taken, and acknowledged to the store in order: a batch finished early waits for the
 * ones before it, so the store's single ack point never passes an unfinished event.
 */
export class DiskEventQueue implements EventQueue {
  readonly persistent = true;
  readonly bytes = 0;
  readonly recovered: number;
  private readonly store: DiskStore;
  private readonly outstanding: DiskBatch[] = [];
  private outstandingEvents = 0;
  private lost = 0;
  private readonly gaugeTimer: NodeJS.Timeout;
  private readonly unstorable: LogThrottle;

  constructor(
    private readonly settings: DiskQueueSettings,
    private readonly metrics: MetricsNamespace,
    private readonly logger: Logger,
    onChange: () => void,
  ) {
    this.store = openStore({
      path: settings.path,
      maxSize: settings.maxSize,
      segmentSize: settings.segmentSize,
      writeAhead: settings.writeAhead,
      retryIntervalMs: settings.retryIntervalMs,
      maxRetryIntervalMs: settings.maxRetryIntervalMs,
      logger,
      onChange: () => {
        onChange();
        this.updateGauges();
      },
    });
    this.unstorable = new LogThrottle(logger, 'error');
    this.recovered = this.store.stats().recovered;
    logger.info({ path: settings.path, max_size: settings.maxSize, segment_size: settings.segmentSize },
      `disk queue in ${settings.path} (max_size ${settings.maxSize} bytes, segment_size ${settings.segmentSize} bytes)`);
    metrics.set('queue.max_bytes', settings.maxSize);
    this.updateGauges();
    this.gaugeTimer = setInterval(() => this.updateGauges(), GAUGE_EVERY_MS);
    this.gaugeTimer.unref();
  }

  get length(): number {
    const room = this.settings.readAhead - this.outstandingEvents;
    return room <= 0 ? 0 : Math.min(room, this.store.unread());
  }

  hasRoom(): boolean {
    return this.store.canAppend();
  }

  push(event: BeatEvent): boolean {
    let bytes: Buffer;
    try {
      bytes = encodeEvent(event);
      // The pipeline checked hasRoom(), so only an event larger than a segment is refused.
      return this.store.append(bytes);
    } catch (err) {
      this.unstorable.log({ err, path: this.settings.path, segment_size: this.settings.segmentSize },
        `disk queue: an event cannot be stored (${(err as Error).message}); it is dropped`);
      return false;
    }
  }

  oldestSince(): number | undefined {
    return this.length > 0 ? performance.now() : undefined;
  }

  take(max: number): QueuedBatch {
    const items = this.store.read(Math.min(max, this.settings.readAhead - this.outstandingEvents));
    this.lost += this.store.takeLost();
    const events: BeatEvent[] = [];
    for (const item of items) {
      const e = decodeEvent(item.payload);
      if (e instanceof Error) {
        this.lost++;
        this.logger.warn({ path: this.settings.path, seq: item.seq, segment: item.segment, position: item.end - item.payload.length },
          `disk queue: an intact frame does not hold an event (${e.message}); skipped`);
      } else {
        events.push(e);
      }
    }
    const batch: DiskBatch = { events, items, finished: false };
    if (items.length > 0) {
      this.outstanding.push(batch);
      this.outstandingEvents += items.length;
    }
    this.updateGauges();
    return batch;
  }

  done(b: QueuedBatch): void {
    const batch = b as DiskBatch;
    batch.finished = true;
    let last: StoredItem | undefined;
    let count = 0;
    while (this.outstanding[0]?.finished) {
      const head = this.outstanding.shift()!;
      this.outstandingEvents -= head.items.length;
      count += head.items.length;
      last = head.items.at(-1) ?? last;
    }
    if (last) this.store.ackThrough(last, count);
    this.updateGauges();
  }

  takeLost(): number {
    const n = this.lost;
    this.lost = 0;
    return n;
  }

  close(): void {
    clearInterval(this.gaugeTimer);
    this.store.close();
    this.updateGauges();
  }

  private updateGauges(): void {
    const s = this.store.stats();
    const m = this.metrics;
    m.set('queue.filled.bytes', s.bytes);
    m.set('queue.disk.events', s.events);
    m.set('queue.disk.segments', s.segments);
    m.set('queue.disk.pending', s.pending);
    m.set('queue.disk.acked', s.acked);
    m.set('queue.disk.retried', s.retried);
    m.set('queue.disk.recovered', s.recovered);
    m.set('queue.disk.corrupted.events', s.corruptedEvents);
    m.set('queue.disk.corrupted.bytes', s.corruptedBytes);
    m.set('queue.disk.blocked', s.blocked ? 1 : 0);
    const oldest = this.outstanding[0]?.items[0]?.time;
    m.set('queue.disk.oldest_unacked.age.ms', oldest === undefined ? 0 : Math.max(0, Date.now() - oldest));
  }
}

function openStore(opts: DiskStoreOptions): DiskStore {
  try {
    return new DiskStore(opts);
  } catch (err) {
    throw new Error(`cannot open the disk queue in ${opts.path}: ${(err as Error).message}`, { cause: err });
  }
}
