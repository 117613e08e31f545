import { constants, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { MetricsNamespace } from '../../../../../core/api/metrics.js';
import { unsupportedHashTypes } from './digests.js';
import { HashCache, type CacheEntry } from './hash-cache.js';
import { errnoCode, fsErrorText, identityVersionKey, versionKey } from './file-version.js';
import { CHUNK_BYTES, FileTooLargeError, hashHandle, type HashedBytes } from './read-hash.js';
import { Semaphore } from './semaphore.js';
import { HashWorkerPool, WorkerReadError } from './worker-pool.js';
import type {
  HashProcessOptions,
  HashResult,
  HashType,
  Hasher,
  HasherLogger,
  HasherOptions,
  HasherStats,
  Hashes,
} from './types.js';

export const METRICS_NAMESPACE = 'system.process.hasher';
export const DEFAULT_CACHE_SIZE = 4096;
export const DEFAULT_MAX_WAIT_MS = 5000;
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

const DELETED_SUFFIX = ' (deleted)';
// Hashing reads every executable; without O_NOATIME it would rewrite their atime, which
// forensic tools read. Linux allows it to the owner and to CAP_FOWNER, else EPERM.
const O_NOATIME: number = (constants as { O_NOATIME?: number }).O_NOATIME ?? 0;

type Outcome =
  | { kind: 'hashes'; hashes: Hashes }
  | { kind: 'error'; error: string; scope: string }
  /** The process exited before its image could be opened: the caller falls back to the path. */
  | { kind: 'gone' };

interface Source {
  openPath: string;
  /** Device and inode the kernel reported for the executable: anything else is not hashed. */
  expect?: { dev: number; ino: bigint };
  /** The name used in messages. */
  label: string;
  /** The path whose version history decides invalidations; undefined for an unlinked image. */
  trackPath: string | undefined;
  kind: 'process_image' | 'path';
}

const TIMED_OUT = Symbol('timed out');

function stripDeleted(p: string): string {
  return p.endsWith(DELETED_SUFFIX) ? p.slice(0, -DELETED_SUFFIX.length) : p;
}

function procNamespaceInode(pid: number | 'self'): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/mnt`).ino;
  } catch {
    return undefined;
  }
}

function procReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * O_NONBLOCK: once the process is gone, whoever can write its directory can put a FIFO at
 * the path; a blocking open would wait for a writer forever. Reads of a regular file ignore it.
 */
async function openNoAtime(path: string): Promise<FileHandle> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK;
  if (O_NOATIME !== 0) {
    try {
      return await open(path, flags | O_NOATIME);
    } catch (err) {
      if (errnoCode(err) !== 'EPERM') throw err;
    }
  }
  return open(path, flags);
}

const REPLACED = 'not the file the process executed (device or inode changed)';

function sameFile(st: BigIntStats, expect: { dev: number; ino: bigint } | undefined): boolean {
  return expect === undefined || (st.dev === BigInt(expect.dev) && st.ino === expect.ino);
}

/** Builds the hasher the system/process dataset uses for `process.hash.*`. */
export function createHasher(opts: HasherOptions): Hasher {
  return new CachedHasher(opts);
}

class CachedHasher implements Hasher {
  private readonly types: readonly HashType[];
  private readonly maxFileSize: number;
  private readonly maxWaitMs: number;
  private readonly inlineMaxBytes: number;
  private readonly cache: HashCache;
  private readonly inflight = new Map<string, Promise<Outcome>>();
  /** Errors already handed out with errorIsNew, so each is reported once per version (or path). */
  private readonly reported: LRUCache<string, true>;
  private readonly pool: HashWorkerPool;
  private readonly reading: Semaphore;
  private readonly logger: HasherLogger | undefined;
  private readonly metrics: MetricsNamespace | undefined;
  private readonly counters: HasherStats = {
    hits: 0,
    misses: 0,
    invalidations: 0,
    evictions: 0,
    errors: 0,
    bytes_hashed: 0,
    files_hashed: 0,
    skipped: 0,
    pending: 0,
    inflight_joins: 0,
    inline_jobs: 0,
    worker_jobs: 0,
    cache_entries: 0,
  };
  private ownMntNs: number | undefined | null = null;
  private closed = false;

  constructor(opts: HasherOptions) {
    if (opts.hashTypes.length === 0) throw new Error('hasher: hash_types is empty (an empty list turns hashing off; create no hasher)');
    const unsupported = unsupportedHashTypes(opts.hashTypes);
    if (unsupported.length > 0) {
      throw new Error(`hasher: hash_types ${unsupported.join(', ')} not available in this Node.js build (${process.version})`);
    }
    if (!Number.isFinite(opts.maxFileSize) || opts.maxFileSize <= 0) {
      throw new Error(`hasher: max_file_size value (${opts.maxFileSize}) must be positive`);
    }
    const cacheSize = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new Error(`hasher: cache_size value (${cacheSize}) must be a positive integer`);
    const workers = opts.workers ?? Math.min(2, availableParallelism());
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`hasher: workers value (${workers}) must be a positive integer`);

    this.types = [...opts.hashTypes];
    this.maxFileSize = opts.maxFileSize;
    this.maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.inlineMaxBytes = opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    this.cache = new HashCache(cacheSize, () => this.count('evictions'));
    this.reported = new LRUCache<string, true>({ max: cacheSize });
    this.pool = new HashWorkerPool(workers, { hashTypes: this.types }, opts.workerIdleMs);
    this.reading = new Semaphore(opts.concurrency ?? workers * 2 + 2);
    this.logger = opts.logger;
    this.metrics = opts.metrics?.namespace(METRICS_NAMESPACE);
  }

  async hashProcessExecutable(pid: number, exePath: string | undefined, opts?: HashProcessOptions): Promise<HashResult> {
    const result = await this.hashProcessImage(pid, exePath, opts);
    if (result.error !== undefined) {
      result.errorMessage = `failed to hash executable ${exePath ?? `/proc/${pid}/exe`} for PID ${pid}: ${result.error}`;
    }
    return result;
  }

  knownResult(pid: number, exePath: string | undefined, opts: HashProcessOptions): HashResult | undefined {
    if (this.closed) return undefined;
    const ownNs = this.ourMntNs();
    if (opts.mntNs !== undefined && ownNs !== undefined && opts.mntNs !== ownNs) {
      return this.skip('hash skipped: different mount namespace');
    }
    const id = opts.identity;
    if (id === undefined || exePath === undefined || !isAbsolute(exePath) || exePath.endsWith(DELETED_SUFFIX)) return undefined;
    const version = identityVersionKey(id);
    const cached = this.cache.get(version);
    if (cached === undefined) return undefined;
    // The path now shows this version (the kernel just exec'd it): an older version's
    // entry goes, as a stat of the path would have found.
    if (id.nlink > 0 && this.cache.notePath(exePath, version)) this.count('invalidations');
    this.count('hits');
    const r = this.deliver(this.outcomeOf(cached, version), { openPath: exePath, label: exePath, trackPath: exePath, kind: 'path' }, true);
    if (r.error !== undefined) r.errorMessage = `failed to hash executable ${exePath} for PID ${pid}: ${r.error}`;
    return r;
  }

  async hashFile(path: string): Promise<HashResult> {
    if (this.closed) return this.skip('hash skipped: hasher closed');
    if (!isAbsolute(path)) return this.skip('hash skipped: relative path');
    const r = await this.hashSource({ openPath: path, label: path, trackPath: path, kind: 'path' });
    return r === 'gone' ? this.skip('hash skipped: file gone') : r;
  }

  stats(): HasherStats {
    return { ...this.counters, cache_entries: this.cache.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
    await Promise.allSettled([...this.inflight.values()]);
    this.cache.clear();
    this.reported.clear();
    this.setGauge();
  }

  private async hashProcessImage(pid: number, exePath: string | undefined, opts?: HashProcessOptions): Promise<HashResult> {
    if (this.closed) return this.skip('hash skipped: hasher closed');
    if (exePath !== undefined && !isAbsolute(exePath)) return this.skip('hash skipped: relative path');

    const live = Number.isInteger(pid) && pid > 0;
    const procExe = `/proc/${pid}/exe`;
    // Both are answered by procfs from kernel memory (no file system below them is
    // touched), so they are done synchronously: a thread-pool round trip costs far more.
    const mntNs = opts?.mntNs ?? (live ? procNamespaceInode(pid) : undefined);
    const link = live ? procReadlink(procExe) : undefined;
    const ownNs = this.ourMntNs();
    // Unknown (the process is gone and the backend did not say) counts as ours: the path is
    // then hashed as Auditbeat's procfs provider would.
    if (mntNs !== undefined && ownNs !== undefined && mntNs !== ownNs) {
      return this.skip('hash skipped: different mount namespace');
    }

    const wanted = exePath === undefined ? undefined : stripDeleted(exePath);
    // The running image is used only while the pid still runs the executable the event is
    // about: a pid reused by another program, or one that exec'd again, reads the path.
    if (link !== undefined && (wanted === undefined || stripDeleted(link) === wanted)) {
      const label = exePath ?? link;
      const unlinked = link.endsWith(DELETED_SUFFIX);
      const r = await this.hashSource({
        openPath: procExe,
        label,
        trackPath: unlinked ? undefined : stripDeleted(label),
        kind: 'process_image',
      });
      if (r !== 'gone') return r;
    }
    if (exePath === undefined) return this.skip('hash skipped: no executable path');
    if (exePath.endsWith(DELETED_SUFFIX)) return this.skip('hash skipped: executable deleted');
    const id = opts?.identity;
    const r = await this.hashSource({
      openPath: exePath, label: exePath, trackPath: exePath, kind: 'path',
      ...(id !== undefined ? { expect: { dev: id.dev, ino: id.ino } } : {}),
    });
    return r === 'gone' ? this.skip('hash skipped: executable gone') : r;
  }

  private async hashSource(src: Source): Promise<HashResult | 'gone'> {
    let st: BigIntStats;
    try {
      st = await stat(src.openPath, { bigint: true });
    } catch (err) {
      if (src.kind === 'process_image') return 'gone';
      return this.deliver(this.countedError(`stat: ${fsErrorText(err, 'stat', src.label)}`, `path:${src.label}`), src, false);
    }
    if (!sameFile(st, src.expect)) {
      return this.deliver(this.countedError(REPLACED, `path:${src.label}`), src, false);
    }
    const version = versionKey(st);
    // An image whose file is already unlinked (nlink 0) must not move the path's history:
    // a process still running the old binary would otherwise flip it on every event.
    if (src.trackPath !== undefined && st.nlink > 0n && this.cache.notePath(src.trackPath, version)) {
      this.count('invalidations');
    }
    const cached = this.cache.get(version);
    if (cached !== undefined) {
      this.count('hits');
      return this.deliver(this.outcomeOf(cached, version), src, true);
    }
    this.count('misses');

    const precheck = this.checkFile(st);
    if (precheck !== undefined) {
      this.cache.set(version, { error: precheck });
      this.setGauge();
      return this.deliver(this.countedError(precheck, version), src, false);
    }

    let job = this.inflight.get(version);
    if (job !== undefined) {
      this.count('inflight_joins');
    } else {
      job = this.compute(src);
      this.inflight.set(version, job);
      const started = job;
      void started.finally(() => {
        if (this.inflight.get(version) === started) this.inflight.delete(version);
      });
    }

    const outcome = await this.bounded(job);
    if (outcome === TIMED_OUT) {
      this.count('pending');
      return { pending: true, reason: `hash not ready within ${this.maxWaitMs}ms`, source: src.kind };
    }
    if (outcome.kind === 'gone') return 'gone';
    return this.deliver(outcome, src, false);
  }

  /** Failures that belong to the file version itself, so they are cached with it. */
  private checkFile(st: BigIntStats): string | undefined {
    if (!st.isFile()) return 'not a regular file';
    if (st.size > BigInt(this.maxFileSize)) return `size ${st.size} exceeds max file size`;
    return undefined;
  }

  /** Opens, re-checks what was actually opened, hashes, caches. Never rejects. */
  private async compute(src: Source): Promise<Outcome> {
    await this.reading.acquire();
    let handle: FileHandle | undefined;
    let version = `path:${src.label}`;
    try {
      if (this.closed) return { kind: 'error', error: 'hasher closed', scope: version };
      try {
        handle = await openNoAtime(src.openPath);
      } catch (err) {
        const code = errnoCode(err);
        if (src.kind === 'process_image' && (code === 'ENOENT' || code === 'ESRCH')) return { kind: 'gone' };
        return this.countedError(`open: ${fsErrorText(err, 'open', src.label)}`, version);
      }
      // The version that counts is the one of the open descriptor: if the path was replaced
      // since the stat, the bytes read belong to this version and are cached under it.
      const st = await handle.stat({ bigint: true });
      if (!sameFile(st, src.expect)) return this.countedError(REPLACED, version);
      version = versionKey(st);
      const precheck = this.checkFile(st);
      if (precheck !== undefined) {
        this.cache.set(version, { error: precheck });
        this.setGauge();
        return this.countedError(precheck, version);
      }
      const hashed = await this.hashOpen(handle, st.size);
      this.counters.bytes_hashed += hashed.bytes;
      this.metrics?.inc('bytes_hashed', hashed.bytes);
      this.count('files_hashed');
      this.cache.set(version, { hashes: hashed.hashes });
      this.setGauge();
      return { kind: 'hashes', hashes: hashed.hashes };
    } catch (err) {
      if (err instanceof FileTooLargeError) {
        this.cache.set(version, { error: err.message });
        this.setGauge();
        return this.countedError(err.message, version);
      }
      const text =
        err instanceof WorkerReadError || errnoCode(err) !== undefined
          ? `read: ${fsErrorText(err, 'read', src.label)}`
          : `read ${src.label}: ${err instanceof Error ? err.message : String(err)}`;
      return this.countedError(text, version);
    } finally {
      await handle?.close().catch(() => undefined);
      this.reading.release();
    }
  }

  private hashOpen(handle: FileHandle, size: bigint): Promise<HashedBytes> {
    if (size <= BigInt(this.inlineMaxBytes)) {
      this.count('inline_jobs');
      const chunk = Math.min(CHUNK_BYTES, Number(size) + 1);
      return hashHandle(handle, this.types, this.maxFileSize, Math.max(chunk, 4096));
    }
    this.count('worker_jobs');
    return this.pool.run(handle.fd, this.maxFileSize);
  }

  private async bounded(job: Promise<Outcome>): Promise<Outcome | typeof TIMED_OUT> {
    if (this.maxWaitMs <= 0) return job;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.maxWaitMs);
    });
    try {
      return await Promise.race([job, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private outcomeOf(entry: CacheEntry, version: string): Outcome & { kind: 'hashes' | 'error' } {
    return 'hashes' in entry ? { kind: 'hashes', hashes: entry.hashes } : { kind: 'error', error: entry.error, scope: version };
  }

  private countedError(error: string, scope: string): Outcome & { kind: 'error' } {
    this.count('errors');
    return { kind: 'error', error, scope };
  }

  private deliver(outcome: Outcome & { kind: 'hashes' | 'error' }, src: Source, cached: boolean): HashResult {
    if (outcome.kind === 'hashes') return { hashes: outcome.hashes, cached, source: src.kind };
    const key = `${outcome.scope}\u0000${outcome.error}`;
    const errorIsNew = !this.reported.has(key);
    if (errorIsNew) {
      this.reported.set(key, true);
      // Debug, not warn: a too-large or unreadable executable is a property of the host,
      // reported once per file version on the document; a log line per event is noise.
      this.logger?.debug({ file: src.label, error: outcome.error }, 'executable not hashed');
    }
    return { error: outcome.error, errorIsNew, cached, source: src.kind };
  }

  private skip(reason: string): HashResult {
    this.count('skipped');
    return { reason };
  }

  private ourMntNs(): number | undefined {
    if (this.ownMntNs === null) this.ownMntNs = procNamespaceInode('self');
    return this.ownMntNs;
  }

  private count(key: Exclude<keyof HasherStats, 'cache_entries'>): void {
    this.counters[key] += 1;
    this.metrics?.inc(key);
  }

  private setGauge(): void {
    this.metrics?.set('cache_entries', this.cache.size);
  }
}
