import type { BeatEvent } from '../api/event.js';
import { Ring } from './ring.js';

/** Events taken from a queue for one output batch; handed back through `done`. */
export interface QueuedBatch {
  readonly events: BeatEvent[];
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
  push(event: BeatEvent, now: number): boolean;
  /** When the oldest ready event entered (performance.now() clock), or undefined. */
  oldestSince(): number | undefined;
  take(max: number): QueuedBatch;
  /** The output is finished with the batch (every event acked or given up on). */
  done(batch: QueuedBatch): void;
  /** Events found damaged and skipped since the last call. */
  takeLost(): number;
  close(): void;
}

/** queue.mem: a ring of `events` slots; room is counted over queued + in flight. */
export class MemoryQueue implements EventQueue {
  readonly persistent = false;
  readonly recovered = 0;
  private readonly ring: Ring<BeatEvent>;

  constructor(private readonly max: number) {
    this.ring = new Ring(max);
  }

  get length(): number {
    return this.ring.length;
  }

  hasRoom(active: number): boolean {
    return active < this.max;
  }

  push(event: BeatEvent, now: number): boolean {
    this.ring.push(event, now);
    return true;
  }

  oldestSince(): number | undefined {
    return this.ring.oldestSince();
  }

  take(max: number): QueuedBatch {
    return { events: this.ring.take(max) };
  }

  done(): void {}

  takeLost(): number {
    return 0;
  }

  close(): void {}
}
