import type { Logger } from 'pino';
import type { BeatEvent } from '../api/event.js';
import type { BeatInfo } from '../api/dataset.js';
import type { MetricsRegistry } from '../api/metrics.js';
import type { Section } from './options.js';

/**
 * One step of the processing chain. `null` means the event is filtered out. A Promise holds
 * THIS event (and only it) until it settles, e.g. while metadata for it is looked up; the
 * processor bounds that time itself. Everything else keeps flowing meanwhile.
 */
export type ProcessorResult = BeatEvent | null | Promise<BeatEvent | null>;

export interface Processor {
  name: string;
  run(event: BeatEvent): ProcessorResult;
  /** Starts background work (connections, watchers); called by `procbeat run`, never by `test config`. */
  start?(): void;
  /** Stops what start() began. */
  close?(): Promise<void> | void;
}

export interface BuildContext {
  file?: string;
  /** Where this processor's list lives in the config, e.g. `processors`. */
  key: string;
  logger: Logger;
  info: BeatInfo;
  /** Where a processor reports its counters (`/stats`, `/metrics`); absent in `test config`. */
  metrics?: MetricsRegistry;
}

/** Builds one processor from its dot-expanded settings; problems go to `section.problems`. */
export type ProcessorBuilder = (section: Section, ctx: BuildContext) => Processor | null | Promise<Processor | null>;

/**
 * Thrown by a processor that could only partly do its job (beats returns the event together
 * with an error). The pipeline counts it, logs it, and goes on with `event`.
 */
export class ProcessorError extends Error {
  constructor(
    message: string,
    readonly event: BeatEvent | null,
  ) {
    super(message);
    this.name = 'ProcessorError';
  }
}
