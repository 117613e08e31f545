export interface BackoffOptions {
  /** First delay after a failure. */
  initialMs: number;
  /** Delays double up to this. */
  maxMs: number;
  /** A run at least this long counts as healthy: the next failure starts from initialMs again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };

/** Exponential restart delays for one dataset: 1s, 2s, 4s ... 60s, reset after a healthy run. */
export class Backoff {
  private current: number;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {
    this.current = options.initialMs;
  }

  /** The delay before the next restart, given how long the failed run lasted. */
  next(ranForMs: number): number {
    if (ranForMs >= this.options.resetAfterMs) this.current = this.options.initialMs;
    const delay = this.current;
    this.current = Math.min(this.current * 2, this.options.maxMs);
    return delay;
  }
}

/** Resolves after `ms`, or right away when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
