import type { Logger } from 'pino';
import type { BeatEvent } from './event.js';
import type { MetricsRegistry } from './metrics.js';

/** Facts about the running beat that datasets may put into documents. */
export interface BeatInfo {
  readonly name: string;      // "procbeat"
  readonly version: string;
  readonly uuid: string;      // this installation's id, kept in path.data
  readonly hostname: string;
  readonly hostId: string;    // machine id, used for entity ids
  readonly paths: { readonly data: string; readonly logs: string };
}

export interface DatasetContext {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly info: BeatInfo;
  /** Aborted when procbeat stops; a dataset must return promptly after. */
  readonly signal: AbortSignal;
}

/**
 * Events a push dataset hands over together (e.g. the records of one kernel poll). The
 * runner iterates it once, synchronously, publishing each event before taking the next:
 * a lazy batch (a generator) builds each document only when the one before it is queued,
 * so the documents of a poll never all exist at once.
 */
export type EventBatch = Iterable<BeatEvent>;

/** Runs until `signal` aborts; the runner pulls the next event only when the queue has room. */
export interface PushDataset {
  readonly kind: 'push';
  events(signal: AbortSignal): AsyncIterable<BeatEvent>;
  /**
   * Optional: the same events a batch at a time. The runner prefers it: no promise or
   * async hop per event, only per batch (and while the queue is full).
   */
  batches?(signal: AbortSignal): AsyncIterable<EventBatch>;
  close?(): Promise<void>;
}

/** The runner calls `fetch` every `periodMs`, the first time right after start. */
export interface PeriodicDataset {
  readonly kind: 'periodic';
  readonly periodMs: number;
  fetch(signal: AbortSignal): Promise<BeatEvent[]>;
  close?(): Promise<void>;
}

export type Dataset = PushDataset | PeriodicDataset;

/**
 * The configuration of one module block after `${VAR}` expansion and with dotted keys
 * turned into nested objects, minus `module`, `datasets`/`metricsets` and `enabled`.
 */
export type ModuleBlock = Record<string, unknown>;

export interface DatasetDefinition<C = unknown> {
  readonly module: string;   // "system"
  readonly name: string;     // "process"
  /**
   * Validates the module block for this dataset. Returns the typed config, or the list of
   * error messages (each one naming the key). Keys this dataset does not know are errors.
   */
  validate(block: ModuleBlock): { ok: true; config: C } | { ok: false; errors: string[] };
  create(config: C, ctx: DatasetContext): Promise<Dataset>;
}
