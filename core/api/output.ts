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

export interface Output {
  readonly name: string;
  publish(events: readonly BeatEvent[], signal?: AbortSignal): Promise<BatchResult>;
  close(): Promise<void>;
}
