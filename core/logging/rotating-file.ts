import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RotatingFileOptions {
  dir: string;
  /** The current file's name; rotated files get `.1`, `.2`, ... appended (1 is the newest). */
  fileName: string;
  maxBytes: number;
  /** Files kept in total, the current one included. */
  keepFiles: number;
  mode: number;
}

/**
 * A log destination that writes whole lines synchronously and rotates by size. Sync writes
 * keep the last lines before a crash or exit on disk; procbeat logs little, so the cost is small.
 */
export class RotatingFile {
  readonly path: string;
  private fd: number;
  private size: number;

  constructor(private readonly options: RotatingFileOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o750 });
    this.path = join(options.dir, options.fileName);
    this.fd = openSync(this.path, 'a', options.mode);
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: string): boolean {
    const data = Buffer.from(chunk, 'utf8');
    if (this.size > 0 && this.size + data.length > this.options.maxBytes) this.rotate();
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written);
    this.size += data.length;
    return true;
  }

  private rotate(): void {
    closeSync(this.fd);
    const keep = Math.max(1, this.options.keepFiles);
    rmSync(`${this.path}.${keep - 1}`, { force: true });
    for (let i = keep - 2; i >= 1; i--) renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    if (keep > 1) renameIfExists(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.fd = openSync(this.path, 'a', this.options.mode);
    this.size = 0;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
