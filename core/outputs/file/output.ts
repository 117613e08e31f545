import type { Logger } from 'pino';
import type { BeatEvent } from '../../api/event.js';
import type { MetricsNamespace, MetricsRegistry } from '../../api/metrics.js';
import { bodyOf, encodeWith, type BatchResult, type EncodedEvent, type Output, type OutputEvent } from '../../api/output.js';
import { ndjsonLine } from './ndjson.js';
import type { FileOptions } from './options.js';
import { PartialWriteError, RotatingFile, WRITE_CHUNK_BYTES } from './rotator.js';

export interface RetryPolicy {
  /** Attempts after the first failed one. */
  retries: number;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, initialMs: 250, maxMs: 2000 };

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `output.file`: NDJSON lines into a rotating file. A failed write is retried with backoff
 * (reopening the file) a few times; lines still unwritten after that are dropped and counted.
 */
export class FileOutput implements Output {
  readonly name = 'file';
  private readonly file: RotatingFile;
  private readonly metrics: MetricsNamespace;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly options: FileOptions,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.file = new RotatingFile({
      dir: options.path,
      filename: options.filename,
      maxBytes: options.rotateEveryKb * 1024,
      maxFiles: options.numberOfFiles,
      mode: options.permissions,
      rotateOnStartup: options.rotateOnStartup,
    });
    this.metrics = metrics.namespace('output');
    for (const k of ['write.bytes', 'write.errors', 'write.retries']) this.metrics.inc(k, 0);
  }

  get path(): string {
    return this.file.path;
  }

  async open(): Promise<void> {
    await this.file.open();
  }

  encode(event: BeatEvent): EncodedEvent {
    return encodeWith(event, ndjsonLine);
  }

  publish(events: readonly OutputEvent[], signal?: AbortSignal): Promise<BatchResult> {
    // Batches may come from several pipeline workers; lines must not interleave.
    const run = this.tail.then(() => this.write(events, signal));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Encodes and writes the batch a slice of about WRITE_CHUNK_BYTES at a time, so a batch
   * never exists as one big block of text next to its events. The retry budget is the
   * batch's; once it is spent, the rest of the batch is dropped (and counted).
   */
  private async write(events: readonly OutputEvent[], signal?: AbortSignal): Promise<BatchResult> {
    let written = 0;
    let next = 0;
    let attempt = 0;
    let delay = this.retry.initialMs;
    while (next < events.length) {
      const lines: string[] = [];
      let sliceChars = 0;
      while (next < events.length && sliceChars < WRITE_CHUNK_BYTES) {
        try {
          const line = bodyOf(events[next]!, ndjsonLine);
          lines.push(line);
          sliceChars += line.length;
        } catch (err) {
          this.logger.error({ err }, 'file output: cannot encode an event as JSON; it is dropped');
        }
        next++;
      }
      let done = 0;
      for (;;) {
        try {
          const bytes = await this.file.write(done === 0 ? lines : lines.slice(done));
          this.metrics.inc('write.bytes', bytes);
          done = lines.length;
          break;
        } catch (err) {
          done += err instanceof PartialWriteError ? err.linesWritten : 0;
          this.metrics.inc('write.errors');
          const cause = err instanceof PartialWriteError ? err.cause : err;
          if (attempt >= this.retry.retries || signal?.aborted) {
            const dropped = lines.length - done + (events.length - next);
            this.logger.error(
              { err: cause, path: this.file.path, dropped, attempts: attempt + 1 },
              `file output: giving up on ${dropped} events after ${attempt + 1} failed writes`,
            );
            return { acked: written + done, dropped: events.length - written - done };
          }
          this.logger.warn({ err: cause, path: this.file.path, retry_in_ms: delay }, 'file output: write failed, retrying');
          this.metrics.inc('write.retries');
          attempt++;
          await this.file.closeHandle();
          await sleep(delay, signal);
          delay = Math.min(delay * 2, this.retry.maxMs);
        }
      }
      written += done;
    }
    return { acked: written, dropped: events.length - written };
  }

  async close(): Promise<void> {
    await this.tail;
    await this.file.close();
  }
}

export async function createFileOutput(
  options: FileOptions,
  deps: { metrics: MetricsRegistry; logger: Logger; retry?: RetryPolicy },
): Promise<FileOutput> {
  const out = new FileOutput(options, deps.metrics, deps.logger, deps.retry);
  try {
    await out.open();
  } catch (err) {
    throw new Error(`output.file: cannot open ${out.path}: ${(err as Error).message}`, { cause: err });
  }
  return out;
}
