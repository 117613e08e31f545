import type { Fields } from '../api/event.js';
import type { ModuleKey } from './schema/index.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** One list of module blocks, as written under `procbeat.modules` or `auditbeat.modules`. */
export interface ModuleList {
  readonly key: ModuleKey;
  /** Dotted keys expanded, variables resolved; shape checked by the module registry. */
  readonly blocks: unknown;
}

/** `queue.disk`: sizes in bytes, intervals in ms, path absolute. */
export interface DiskQueueConfig {
  readonly path: string;
  readonly maxSize: number;
  readonly segmentSize: number;
  readonly readAhead: number;
  readonly writeAhead: number;
  readonly retryIntervalMs: number;
  readonly maxRetryIntervalMs: number;
}

/** The validated configuration; durations in milliseconds, sizes in bytes, paths absolute. */
export interface ProcbeatConfig {
  /** The config file (absolute), or undefined when none was read. */
  readonly file: string | undefined;
  /** The file a key came from: undefined when a flag (-E, --path.*) set it. */
  fileFor(key: string): string | undefined;

  readonly name: string;
  readonly tags: readonly string[];
  readonly fields: Fields;
  readonly fieldsUnderRoot: boolean;
  readonly shutdownTimeoutMs: number;

  readonly path: { readonly home: string; readonly config: string; readonly data: string; readonly logs: string };
  readonly queue: {
    readonly mem: { readonly events: number; readonly bytes?: number; readonly flushMinEvents: number; readonly flushTimeoutMs: number };
    /** Set when the file (or -E) configures `queue.disk`: then it replaces queue.mem. */
    readonly disk: DiskQueueConfig | undefined;
  };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  /** `memory.*`: when the heap grown in a burst is given back (0: never). */
  readonly memory: { readonly releaseAfterMs: number };
  readonly logging: {
    readonly level: LogLevel;
    readonly toStderr: boolean;
    readonly toFiles: boolean;
    readonly files: {
      readonly path: string;
      readonly name: string;
      readonly rotateEveryBytes: number;
      readonly keepFiles: number;
      readonly permissions: number;
    };
    readonly metrics: { readonly enabled: boolean; readonly periodMs: number };
  };

  /** Sections validated by their owners (`setup`: convict values once its schema fragment exists). */
  readonly output: Record<string, unknown> | undefined;
  readonly processors: unknown;
  readonly setup: Record<string, unknown> | undefined;
  readonly modules: readonly ModuleList[];

  /** Every convict-validated setting with defaults applied, as the schema spells them. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The whole tree after -E overrides and variable expansion (for `export config`). */
  readonly tree: Readonly<Record<string, unknown>>;
}
