import type { Logger } from 'pino';
import type { BeatEvent } from '../api/event.js';
import type { BeatInfo } from '../api/dataset.js';
import type { Section } from './options.js';

/** One step of the processing chain. `null` means the event is filtered out. */
export type Processor = { name: string; run(event: BeatEvent): BeatEvent | null };

export interface BuildContext {
  file?: string;
  /** Where this processor's list lives in the config, e.g. `processors`. */
  key: string;
  logger: Logger;
  info: BeatInfo;
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
