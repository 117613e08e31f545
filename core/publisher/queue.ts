import { encodedBytes, isEncoded, type OutputEvent } from '../api/output.js';
import { Ring } from './ring.js';

/** Events taken from a queue for one output batch; handed back through `done`. */
export interface QueuedBatch {
  readonly events: OutputEvent[];
  /** Bytes of the encoded events among them (queue.mem.bytes accounting). */
  readonly bytes?: number;
}

/**
 * The buffer between the pipeline's front (processors, admission) and the output: the
 * memory queue (queue.mem) or the disk queue (queue.disk). The pipeline owns the counting;
 * a queue only stores, hands out and forgets.
 */
export interface EventQueue {
  /** Events survive a restart: shutdown need not drain them. */
  readonly persistent: boolean;
  /** Events already queued when it opened (a disk queue after a restart). */
  readonly recovered: number;
  /** Events ready for a batch now. */
  readonly length: number;
  /** Whether one more event fits, with `active` events queued or in flight. */
  hasRoom(active: number): boolean;
  /** False when this one event cannot be stored (the pipeline counts it as dropped). */
  push(event: OutputEvent, now: number): boolean;
  /** Bytes of encoded events queued or in flight (0 when the queue holds events as objects). */
  readonly bytes: number;
  /** When the oldest ready event entered (performance.now() clock), or undefined. */
  oldestSince(): number | undefined;
  take(max: number): QueuedBatch;
  /** The output is finished with the batch (every event acked or given up on). */
  done(batch: QueuedBatch): void;
  /** Events found damaged and skipped since the last call. */
  takeLost(): number;
  close(): void;
}

/**
 * queue.mem: a ring of `events` slots; room is counted over queued + in flight, in events
 * and, for encoded events, in bytes (`maxBytes`; the event that crosses it still fits, so
 * one larger than the bound is never stuck).
 */
export class MemoryQueue implements EventQueue {
  readonly persistent = false;
  readonly recovered = 0;
  private readonly ring: Ring<OutputEvent>;
  private used = 0;

  constructor(private readonly max: number, private readonly maxBytes = Number.POSITIVE_INFINITY) {
    this.ring = new Ring(max);
  }

  get length(): number {
    return this.ring.length;
  }

  get bytes(): number {
    return this.used;
  }

  hasRoom(active: number): boolean {
    return active < this.max && this.used < this.maxBytes;
  }

  push(event: OutputEvent, now: number): boolean {
    this.ring.push(event, now);
    if (isEncoded(event)) this.used += encodedBytes(event);
    return true;
  }

  oldestSince(): number | undefined {
    return this.ring.oldestSince();
  }

  take(max: number): QueuedBatch {
    const events = this.ring.take(max);
    let bytes = 0;
    for (const e of events) if (isEncoded(e)) bytes += encodedBytes(e);
    return { events, bytes };
  }

  done(batch: QueuedBatch): void {
    this.used -= batch.bytes ?? 0;
  }

  takeLost(): number {
    return 0;
  }

  close(): void {}
}
