import type { MetricsRegistry } from '../../../../../core/api/metrics.js';

/** The hash types Auditbeat's system/process dataset accepts, in its documented order. */
export const HASH_TYPES = [
  'blake2b_256',
  'blake2b_384',
  'blake2b_512',
  'md5',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha512_224',
  'sha512_256',
  'sha3_224',
  'sha3_256',
  'sha3_384',
  'sha3_512',
  'xxh64',
] as const;

export type HashType = (typeof HASH_TYPES)[number];

export const DEFAULT_HASH_TYPES: readonly HashType[] = ['sha1'];

export type Hashes = Partial<Record<HashType, string>>;

/**
 * What the hasher says about one executable. Exactly one of `hashes`, `reason` or `error`
 * is set. `reason` is not a failure (another mount namespace, a relative path, or the
 * hash did not finish within `maxWaitMs`); `error` is.
 */
export interface HashResult {
  /** Lower-case hex digests, one per configured type. */
  hashes?: Hashes;
  /** Why there is no hash although nothing failed, e.g. `hash skipped: relative path`. */
  reason?: string;
  /** True when the hash is still being computed; a later request for the same file gets it. */
  pending?: boolean;
  /** The bare failure, e.g. `size 104857601 exceeds max file size`. */
  error?: string;
  /**
   * `failed to hash executable <exe> for PID <pid>: <error>` (hashProcessExecutable only):
   * the text Auditbeat puts into `error.message`.
   */
  errorMessage?: string;
  /**
   * True the first time this error is handed out for this file version (or, for a file that
   * could not be opened, for this path). Put `error.message` on the document only then.
   */
  errorIsNew?: boolean;
  /** True when served from the cache without reading the file. */
  cached?: boolean;
  /** Where the bytes came from: the running image (`/proc/<pid>/exe`) or the path. */
  source?: 'process_image' | 'path';
}

/** The subset of pino's Logger the hasher needs. */
export interface HasherLogger {
  debug(obj: object, msg?: string): void;
}

export interface HasherOptions {
  /** Validated with `parseHashTypes`; at least one (an empty list means: create no hasher). */
  hashTypes: readonly HashType[];
  /** Files larger than this many bytes are not read (`process.hash.max_file_size`). */
  maxFileSize: number;
  /** LRU entries (`process.hash.cache_size`), default 4096 as Auditbeat. */
  cacheSize?: number;
  /**
   * How long a request waits for a hash that is being computed (`process.hash.max_wait`),
   * default 500 ms; 0 or less waits without bound (Auditbeat's behaviour).
   */
  maxWaitMs?: number;
  /** Worker threads for files above `inlineMaxBytes`, default min(2, CPUs). */
  workers?: number;
  /** Files up to this size are hashed on the main thread with async reads, default 64 KiB. */
  inlineMaxBytes?: number;
  /** A hashing worker thread idle this long is stopped (default 10 s); the next large file starts one again. */
  workerIdleMs?: number;
  /** Files read at the same time (open descriptors), default workers * 2 + 2. */
  concurrency?: number;
  logger?: HasherLogger;
  metrics?: MetricsRegistry;
}

export interface HashProcessOptions {
  /**
   * The inode of the process's mount namespace when the backend knows it (kernel_tracing
   * records carry it). Without it the hasher reads /proc/<pid>/ns/mnt, which only works
   * while the process is alive.
   */
  mntNs?: number;
  /**
   * The executable as the kernel saw it at exec (kernel_tracing records carry it). A cache
   * hit on it needs no system call; and a file opened by path is hashed only when its
   * device and inode are these, so a file swapped in after the process is gone is not.
   */
  identity?: FileIdentity;
}

/**
 * The identity of a file version as the kernel reports it: the same facts, in the same
 * units, as a stat (see file-version.ts versionKey). dev is st_dev (makedev of major/minor).
 */
export interface FileIdentity {
  dev: number;
  ino: bigint;
  size: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Counters of one hasher, the same values it publishes in `system.process.hasher`. */
export interface HasherStats {
  hits: number;
  misses: number;
  invalidations: number;
  evictions: number;
  errors: number;
  bytes_hashed: number;
  files_hashed: number;
  skipped: number;
  pending: number;
  inflight_joins: number;
  inline_jobs: number;
  worker_jobs: number;
  cache_entries: number;
}

export interface Hasher {
  /**
   * Hashes the image a process runs: through /proc/<pid>/exe while the process is alive
   * and still runs `exePath`, otherwise through `exePath` itself.
   */
  hashProcessExecutable(pid: number, exePath: string | undefined, opts?: HashProcessOptions): Promise<HashResult>;
  /**
   * The answer without any system call or wait, when it is known: a cached hash (or cached
   * failure) of `opts.identity`, or a skip decided by the mount namespace. Undefined when
   * only hashProcessExecutable can tell.
   */
  knownResult?(pid: number, exePath: string | undefined, opts: HashProcessOptions): HashResult | undefined;
  /** Hashes a file by path (absolute paths only), with the same cache and limits. */
  hashFile(path: string): Promise<HashResult>;
  stats(): HasherStats;
  /** Stops the workers, ends waiting requests and purges the cache. */
  close(): Promise<void>;
}

/**
 * Validates `process.hash.hash_types` as Auditbeat does: lower-cased, each one known, a user
 * list replaces the default, an empty list turns hashing off. Returns the types or the messages, one per bad value.
 */
export function parseHashTypes(
  value: unknown,
): { ok: true; types: HashType[] } | { ok: false; errors: string[] } {
  if (value === undefined) return { ok: true, types: [...DEFAULT_HASH_TYPES] };
  if (!Array.isArray(value)) return { ok: false, errors: [`invalid hash_types value '${String(value)}': expected a list`] };
  const errors: string[] = [];
  const types: HashType[] = [];
  for (const raw of value) {
    const v = typeof raw === 'string' ? raw.toLowerCase() : String(raw);
    if ((HASH_TYPES as readonly string[]).includes(v)) {
      if (!types.includes(v as HashType)) types.push(v as HashType);
    } else {
      errors.push(`invalid hash_types value '${String(raw)}'`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  // An empty list is valid: it turns hashing off (the dataset then creates no hasher).
  return { ok: true, types };
}
