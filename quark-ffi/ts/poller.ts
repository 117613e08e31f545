/**
 * Turns a QuarkHandle into an async stream of record batches. Each poll runs on a native
 * thread; between polls the consumer handles the batch, so a slow consumer slows polling
 * and the kernel ring buffer absorbs (and, when full, counts) the difference.
 */
import type { BatchFormatError } from './decode.js';
import type { PollResult, QuarkHandle } from './binding.js';
import type { ProcessRecord } from './record.js';

export interface PollerOptions {
  /** How long one poll may block; also bounds how long stopping takes. Default 200 ms. */
  pollTimeoutMs?: number;
  /**
   * Polls start at most this often unless the library says more is waiting. A poll returns
   * as soon as one record is ready, and each costs a native thread hop, so at a steady
   * trickle of events pacing gathers them into batches (added latency: at most this, next
   * to a hold time of ~1 s). Default 50 ms; 0 polls again at once.
   */
  minIntervalMs?: number;
  /** Called for every batch that reported losses in the library. */
  onLost?: (count: number) => void;
  /** Called for every batch the binding could not decode (already counted by the handle). */
  onDecodeError?: (err: BatchFormatError) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Yields non-empty batches of records until `signal` aborts or the handle is closed. */
export async function* pollBatches(
  handle: Pick<QuarkHandle, 'poll'>, signal: AbortSignal, opts: PollerOptions = {},
): AsyncGenerator<ProcessRecord[]> {
  const timeout = opts.pollTimeoutMs ?? 200;
  const minInterval = opts.minIntervalMs ?? 50;
  let more = false;
  let lastStart = 0;
  while (!signal.aborted) {
    const wait = lastStart + minInterval - Date.now();
    if (!more && wait > 0) await sleep(wait, signal);
    if (signal.aborted) return;
    lastStart = Date.now();
    const res: PollResult = await handle.poll(more ? 0 : timeout);
    if (res.lostCount > 0) opts.onLost?.(res.lostCount);
    if (res.decodeError) opts.onDecodeError?.(res.decodeError);
    if (res.closed) return;
    more = res.more;
    if (res.records.length > 0) yield res.records;
  }
}
