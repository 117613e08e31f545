import { Worker } from 'node:worker_threads';
import { FileTooLargeError, type HashedBytes } from './read-hash.js';
import type { HashType, Hashes } from './types.js';

export interface WorkerSetup {
  hashTypes: readonly HashType[];
}

export interface HashJob {
  id: number;
  fd: number;
  maxBytes: number;
}

export type HashJobReply =
  | { id: number; ok: true; hashes: Hashes; bytes: number }
  | { id: number; ok: false; message: string; code: string | undefined; tooLargeSize: number | undefined };

interface QueuedJob {
  job: HashJob;
  resolve: (r: HashedBytes) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  current: QueuedJob | undefined;
  idleTimer?: NodeJS.Timeout;
}

/**
 * A worker idle this long is stopped: each holds its own V8 heap (megabytes of RSS) and
 * a fork storm of small executables never needs one (they are hashed inline).
 */
export const DEFAULT_WORKER_IDLE_MS = 10_000;

/** A read failure reported by a worker, keeping the errno code for the message. */
export class WorkerReadError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'WorkerReadError';
  }
}

/**
 * Up to a fixed number of worker threads, started on first use, each hashing one descriptor
 * at a time; further jobs wait in a queue whose length the caller bounds. Idle workers are
 * unref'd so an idle hasher never keeps the process alive, and stopped after `idleMs`.
 */
export class HashWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: QueuedJob[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly setup: WorkerSetup,
    private readonly idleMs: number = DEFAULT_WORKER_IDLE_MS,
  ) {}

  /** Worker threads running now. */
  get threads(): number {
    return this.slots.length;
  }

  run(fd: number, maxBytes: number): Promise<HashedBytes> {
    if (this.closed) return Promise.reject(new Error('hasher closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, fd, maxBytes }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('hasher closed');
    for (const q of this.queue.splice(0)) q.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) {
      s.current?.reject(err);
      s.current = undefined;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.current === undefined);
      if (slot === undefined && this.slots.length < this.size) slot = this.spawn();
      if (slot === undefined) return;
      const next = this.queue.shift() as QueuedJob;
      clearTimeout(slot.idleTimer);
      slot.current = next;
      slot.worker.ref();
      slot.worker.postMessage(next.job);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.setup });
    const slot: Slot = { worker, current: undefined };
    worker.on('message', (reply: HashJobReply) => {
      const q = slot.current;
      if (q === undefined || q.job.id !== reply.id) return;
      slot.current = undefined;
      worker.unref();
      this.stopWhenIdle(slot);
      if (reply.ok) q.resolve({ hashes: reply.hashes, bytes: reply.bytes });
      else if (reply.tooLargeSize !== undefined) q.reject(new FileTooLargeError(reply.tooLargeSize));
      else q.reject(new WorkerReadError(reply.message, reply.code));
      this.dispatch();
    });
    // A worker that dies takes only its current job with it; the next job starts a new one.
    const fail = (err: Error): void => {
      clearTimeout(slot.idleTimer);
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.current?.reject(err);
      slot.current = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hasher worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private stopWhenIdle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.current !== undefined || this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }
}
