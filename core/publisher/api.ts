import type { BeatEvent } from '../api/event.js';

/**
 * The publisher pipeline as the runner and the CLI see it. Implemented in this folder:
 * a bounded queue (queue.mem.*), the processors in order, one output, and counters
 * in the `pipeline` and `output` metrics namespaces that add up:
 *   events.total = events.filtered + events.dropped + events.active + events.acked + events.failed
 * where `failed` are events the output finally gave up on.
 */
export interface Pipeline {
  /** Waits while the queue is full (backpressure). Rejects only after close(). */
  publish(event: BeatEvent): Promise<void>;
  /**
   * `publish` without a promise when the event needs no wait: undefined once it is queued
   * (or filtered, or held by a processor), else the promise publish would return.
   */
  offer(event: BeatEvent): Promise<void> | undefined;
  /** For sources that cannot wait: false (and counted as dropped) when the queue is full. */
  tryPublish(event: BeatEvent): boolean;
  /** Stops accepting, drains queued events into the output for at most `timeoutMs`, closes the output. */
  close(timeoutMs: number): Promise<DrainResult>;
}

export interface DrainResult {
  /** Events still queued when the timeout ran out; they are counted as dropped. */
  undelivered: number;
}
