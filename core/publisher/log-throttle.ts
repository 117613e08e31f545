import type { Logger } from 'pino';

/**
 * Logs a recurring per-event problem once, then at most once per `everyMs` with the number
 * of occurrences in between, so a broken processor cannot flood the log. The counters
 * carry the exact numbers.
 */
export class LogThrottle {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly level: 'debug' | 'warn' | 'error',
    private readonly everyMs = 10_000,
  ) {}

  log(fields: Record<string, unknown>, message: string): void {
    const now = performance.now();
    if (now - this.last < this.everyMs) {
      this.suppressed++;
      return;
    }
    const extra = this.suppressed > 0 ? { suppressed: this.suppressed } : {};
    this.suppressed = 0;
    this.last = now;
    this.logger[this.level]({ ...fields, ...extra }, message);
  }
}
