import { chmod, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface RotatorOptions {
  dir: string;
  filename: string;
  /** Rotate before a line would make the file larger than this (a line is never split). */
  maxBytes: number;
  /** Files kept in total: `name` plus `name.1` … `name.<maxFiles-1>`. */
  maxFiles: number;
  mode: number;
  rotateOnStartup: boolean;
}

/** A write failed; `linesWritten` lines of the call were written completely before it. */
export class PartialWriteError extends Error {
  constructor(
    readonly linesWritten: number,
    override readonly cause: unknown,
  ) {
    super(`write failed after ${linesWritten} complete lines: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'PartialWriteError';
  }
}

/**
 * Lines are copied into one reused buffer of this size and written from it: a batch of
 * 1,600 documents is ~10 MB, and joining it into one string plus one Buffer per write
 * cost ~20 MB of short-lived memory per batch (and malloc fragmentation in the RSS).
 */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * A file of newline-terminated lines that rotates by size, the way beats' file output does:
 * `name` → `name.1` → … → `name.<maxFiles-1>`, the oldest deleted. Each line lands whole in
 * one file: rotation happens only between lines, a line bigger than `maxBytes` gets a file of
 * its own, and a failed write is truncated back to the last complete line.
 */
export class RotatingFile {
  private handle: FileHandle | undefined;
  private size = 0;
  private chunk: Buffer | undefined;
  /** Highest `name.<n>` on disk, so a rotation renames only files that exist. */
  private highest = 0;
  readonly path: string;

  constructor(private readonly opts: RotatorOptions) {
    this.path = join(opts.dir, opts.filename);
  }

  async open(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o750 });
    const prefix = `${this.opts.filename}.`;
    for (const f of await readdir(this.opts.dir)) {
      const n = f.startsWith(prefix) ? Number(f.slice(prefix.length)) : NaN;
      if (Number.isInteger(n) && n > 0 && n < this.opts.maxFiles) this.highest = Math.max(this.highest, n);
    }
    let existing = -1;
    try {
      existing = (await stat(this.path)).size;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (existing > 0 && this.opts.rotateOnStartup) {
      await this.shift();
      existing = -1;
    }
    await this.openCurrent();
  }

  private async openCurrent(): Promise<void> {
    const h = await open(this.path, 'a', this.opts.mode);
    try {
      // The umask may have narrowed the mode at creation; the setting is what the user asked for.
      await h.chmod(this.opts.mode);
      this.size = (await h.stat()).size;
    } catch (err) {
      await h.close().catch(() => undefined);
      throw err;
    }
    this.handle = h;
  }

  /** Moves every file one number up and `name` to `name.1`; the file past the limit goes. */
  private async shift(): Promise<void> {
    const base = this.path;
    const last = this.opts.maxFiles - 1;
    if (this.highest >= last) {
      try {
        await unlink(`${base}.${last}`);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    const shifted = Math.min(this.highest, last - 1);
    for (let i = shifted; i >= 1; i--) {
      try {
        await rename(`${base}.${i}`, `${base}.${i + 1}`);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    this.highest = shifted > 0 ? shifted + 1 : 0;
    try {
      await rename(base, `${base}.1`);
      await chmod(`${base}.1`, this.opts.mode);
      this.highest = Math.max(this.highest, 1);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async rotate(): Promise<void> {
    await this.closeHandle();
    await this.shift();
    await this.openCurrent();
  }

  /**
   * Writes the lines (each ending in '\n') in order, rotating between them as needed, in
   * chunks of at most WRITE_CHUNK_BYTES (a longer line goes alone). One call at a time: the
   * chunk buffer is reused.
   */
  async write(lines: readonly string[]): Promise<number> {
    let done = 0;
    let bytes = 0;
    while (done < lines.length) {
      if (!this.handle) {
        try {
          await this.openCurrent();
        } catch (err) {
          throw new PartialWriteError(done, err);
        }
      }
      // Collect the lines that fit in the current file (at least one if the file is empty)
      // and in the chunk (at least one).
      let chunkBytes = 0;
      let end = done;
      while (end < lines.length) {
        const n = Buffer.byteLength(lines[end]!, 'utf8');
        if (this.size + chunkBytes + n > this.opts.maxBytes && this.size + chunkBytes > 0) break;
        if (chunkBytes + n > WRITE_CHUNK_BYTES && end > done) break;
        chunkBytes += n;
        end++;
      }
      if (end === done) {
        try {
          await this.rotate();
        } catch (err) {
          throw new PartialWriteError(done, err);
        }
        continue;
      }
      await this.writeWhole(this.encode(lines, done, end, chunkBytes), done);
      bytes += chunkBytes;
      done = end;
    }
    return bytes;
  }

  /** lines[from, to) as bytes: in the reused chunk buffer, or their own for one long line. */
  private encode(lines: readonly string[], from: number, to: number, byteLength: number): Buffer {
    if (byteLength > WRITE_CHUNK_BYTES) return Buffer.from(lines[from]!, 'utf8');
    this.chunk ??= Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
    let off = 0;
    for (let i = from; i < to; i++) off += this.chunk.write(lines[i]!, off, 'utf8');
    return this.chunk.subarray(0, off);
  }

  private async writeWhole(buf: Buffer, linesBefore: number): Promise<void> {
    const h = this.handle!;
    const start = this.size;
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await h.write(buf, off, buf.length - off);
        if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
        off += bytesWritten;
      }
      this.size = start + buf.length;
    } catch (err) {
      // Take back the part of a line that made it, so the file only ever holds whole lines.
      try {
        if (off > 0) await h.truncate(start);
      } catch {
        // cannot repair: start a fresh file so the next lines are not glued to a fragment
        await this.closeHandle();
        await this.shift().catch(() => undefined);
      }
      throw new PartialWriteError(linesBefore, err);
    }
  }

  /** Closes the file; the next write opens it again (after an error, to recover). */
  async closeHandle(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const h = this.handle;
    if (!h) return;
    try {
      await h.sync();
    } finally {
      await this.closeHandle();
    }
  }
}
