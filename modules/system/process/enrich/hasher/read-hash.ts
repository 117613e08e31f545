import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { DigestSet } from './digests.js';
import type { HashType, Hashes } from './types.js';

export const CHUNK_BYTES = 1 << 20;

/** The file grew past the limit while it was read (a path being written to). */
export class FileTooLargeError extends Error {
  constructor(readonly size: number) {
    super(`size ${size} exceeds max file size`);
    this.name = 'FileTooLargeError';
  }
}

export interface HashedBytes {
  hashes: Hashes;
  bytes: number;
}

/**
 * Reads the descriptor from offset 0 to its end with positional reads (so descriptors shared
 * with another thread keep no file position) and feeds every digest from the one pass.
 * Blocking: for worker threads only.
 */
export async function hashDescriptorBlocking(
  fd: number,
  types: readonly HashType[],
  maxBytes: number,
  buffer: Buffer,
): Promise<HashedBytes> {
  const digests = await DigestSet.create(types);
  let position = 0;
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, position);
    if (n === 0) break;
    position += n;
    if (position > maxBytes) throw new FileTooLargeError(position);
    digests.update(buffer.subarray(0, n));
  }
  return { hashes: digests.hex(), bytes: position };
}

/** The same on the main thread: each read is async, each chunk's hashing is short. */
export async function hashHandle(
  handle: FileHandle,
  types: readonly HashType[],
  maxBytes: number,
  chunkBytes: number,
): Promise<HashedBytes> {
  const digests = await DigestSet.create(types);
  const buffer = Buffer.allocUnsafe(chunkBytes);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    if (position > maxBytes) throw new FileTooLargeError(position);
    digests.update(buffer.subarray(0, bytesRead));
  }
  return { hashes: digests.hex(), bytes: position };
}
