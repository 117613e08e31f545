import type { BeatEvent } from './event.js';

/**
 * An output resolves `publish` only when every event of the batch is final:
 * acked (written / indexed / a duplicate) or dropped (given up on, and counted).
 * Transient failures are retried inside the output. `acked + dropped === events.length`.
 */
export interface BatchResult {
  acked: number;
  dropped: number;
}

/**
 * An event as its output sends it, serialised once when it entered the memory queue: the
 * queue then holds flat strings instead of each event's object graph (which would outlive
 * V8's young generation and grow the old one under a storm), and can be bounded in bytes.
 */
export interface EncodedEvent {
  readonly encoded: true;
  /** What the output sends for the event, in its own form (an NDJSON line, a bulk source). */
  readonly body: string;
  /** A line the output sends before the body (a bulk action), if it has one. */
  readonly head?: string;
  /** Why the event cannot be sent; the output drops and counts it when its batch comes. */
  readonly error?: string;
}

/** What a batch holds: events as published, or as their output encoded them. */
export type OutputEvent = BeatEvent | EncodedEvent;

export function isEncoded(event: OutputEvent): event is EncodedEvent {
  return (event as Partial<EncodedEvent>).encoded === true;
}

/** The event serialised by `serialise`; a serialiser that throws gives the event its error. */
export function encodeWith(event: BeatEvent, serialise: (event: BeatEvent) => string): EncodedEvent {
  try {
    return { encoded: true, body: serialise(event) };
  } catch (err) {
    return { encoded: true, body: '', error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The text an output sends for an event of its batch: the body encoded when it was queued,
 * or `serialise(event)` now. Throws the encode error, so both cases fail the same way.
 */
export function bodyOf(event: OutputEvent, serialise: (event: BeatEvent) => string): string {
  if (!isEncoded(event)) return serialise(event);
  if (event.error !== undefined) throw new Error(event.error);
  return event.body;
}

/** Memory an encoded event holds while queued (string characters plus the object itself). */
export function encodedBytes(event: EncodedEvent): number {
  return event.body.length + (event.head?.length ?? 0) + 64;
}

export interface Output {
  readonly name: string;
  /**
   * Serialises one event the way `publish` would send it. The pipeline calls it when the
   * event enters queue.mem (after the processors), so the queue holds what is sent.
   * Optional: an output without it gets the events themselves.
   */
  encode?(event: BeatEvent): EncodedEvent;
  publish(events: readonly OutputEvent[], signal?: AbortSignal): Promise<BatchResult>;
  close(): Promise<void>;
}
