// Entry of a hashing worker thread: reads a descriptor the main thread opened and hashes it,
// so the CPU of a large file never runs on the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { CHUNK_BYTES, FileTooLargeError, hashDescriptorBlocking } from './read-hash.js';
import type { HashJob, HashJobReply, WorkerSetup } from './worker-pool.js';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('hasher worker started outside a worker thread');
const buffer = Buffer.allocUnsafe(CHUNK_BYTES);

port.on('message', (job: HashJob) => {
  hashDescriptorBlocking(job.fd, setup.hashTypes, job.maxBytes, buffer).then(
    (r) => {
      const reply: HashJobReply = { id: job.id, ok: true, hashes: r.hashes, bytes: r.bytes };
      port.postMessage(reply);
    },
    (err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      const reply: HashJobReply = {
        id: job.id,
        ok: false,
        message: e instanceof Error ? e.message : String(err),
        tooLargeSize: err instanceof FileTooLargeError ? err.size : undefined,
        code: typeof e?.code === 'string' ? e.code : undefined,
      };
      port.postMessage(reply);
    },
  );
});
