/**
 * Exponential backoff as beats does it: the wait doubles from `init` up to `max` after each
 * failed round, and resets after a round that went through. Equal jitter (half fixed, half
 * random) keeps many workers that failed together from retrying in lockstep.
 */
export class Backoff {
  private current: number;

  constructor(private readonly initMs: number, private readonly maxMs: number) {
    this.current = initMs;
  }

  /** The next wait in ms, then doubles the base for the one after. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    return base / 2 + Math.random() * (base / 2);
  }

  reset(): void {
    this.current = this.initMs;
  }
}

/** Resolves after `ms`, or early (with false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
