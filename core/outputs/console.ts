import type { Writable } from 'node:stream';
import type { JSONSchemaType } from 'ajv';
import type { Logger } from 'pino';
import { toDocument, type BeatEvent } from '../api/event.js';
import { ndjsonLine } from './file/ndjson.js';
import type { MetricsNamespace, MetricsRegistry } from '../api/metrics.js';
import { bodyOf, encodeWith, type BatchResult, type EncodedEvent, type Output, type OutputEvent } from '../api/output.js';
import { optionsParser, registerOutput } from './registry.js';

/** `output.console`: every event as one JSON document per line on stdout (`pretty`: indented). */
export interface ConsoleOptions {
  pretty: boolean;
}

const schema: JSONSchemaType<ConsoleOptions> = {
  type: 'object',
  properties: { pretty: { type: 'boolean', default: false } },
  required: [],
  additionalProperties: false,
};

export const parseConsoleOptions = optionsParser(schema);

export class ConsoleOutput implements Output {
  readonly name = 'console';
  private readonly metrics: MetricsNamespace;
  private streamError: Error | undefined;
  private readonly onError = (err: Error): void => {
    // Without a listener an EPIPE on stdout would crash the process; we count instead.
    this.streamError ??= err;
  };

  constructor(
    private readonly stream: Writable,
    private readonly options: ConsoleOptions,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
  ) {
    this.metrics = metrics.namespace('output');
    this.metrics.inc('write.bytes', 0);
    this.metrics.inc('write.errors', 0);
    stream.on('error', this.onError);
  }

  encode(event: BeatEvent): EncodedEvent {
    return encodeWith(event, this.line);
  }

  private readonly line = (event: BeatEvent): string =>
    this.options.pretty ? `${JSON.stringify(toDocument(event), null, 2)}\n` : ndjsonLine(event);

  async publish(events: readonly OutputEvent[]): Promise<BatchResult> {
    let unencodable = 0;
    const lines: string[] = [];
    for (const event of events) {
      try {
        lines.push(bodyOf(event, this.line));
      } catch (err) {
        unencodable++;
        this.logger.error({ err }, 'console output: cannot encode an event as JSON; it is dropped');
      }
    }
    if (lines.length === 0) return { acked: 0, dropped: unencodable };
    const chunk = lines.join('');
    try {
      if (this.streamError) throw this.streamError;
      await writeWithBackpressure(this.stream, chunk);
      this.metrics.inc('write.bytes', Buffer.byteLength(chunk));
      return { acked: lines.length, dropped: unencodable };
    } catch (err) {
      this.metrics.inc('write.errors');
      this.logger.error({ err, events: lines.length }, 'console output: writing to stdout failed; the batch is dropped');
      return { acked: 0, dropped: events.length };
    }
  }

  async close(): Promise<void> {
    this.stream.off('error', this.onError);
  }
}

/** Resolves once the stream took the chunk (its callback ran); waits for 'drain' when it asks to. */
export function writeWithBackpressure(stream: Writable, chunk: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let written = false;
    let drained = true;
    const done = (): void => {
      if (written && drained) resolve();
    };
    const ok = stream.write(chunk, (err) => {
      if (err) {
        stream.off('drain', onDrain);
        reject(err);
        return;
      }
      written = true;
      done();
    });
    function onDrain(): void {
      drained = true;
      done();
    }
    if (!ok) {
      drained = false;
      stream.once('drain', onDrain);
    }
  });
}

export function createConsoleOutput(
  options: ConsoleOptions,
  deps: { stream?: Writable; metrics: MetricsRegistry; logger: Logger },
): ConsoleOutput {
  return new ConsoleOutput(deps.stream ?? process.stdout, options, deps.metrics, deps.logger);
}

registerOutput('console', {
  validate(config, where) {
    parseConsoleOptions(config, where);
  },
  async create(config, ctx) {
    return createConsoleOutput(parseConsoleOptions(config, ctx), ctx);
  },
});
