/**
 * Runs the real procbeat CLI (`node bin/procbeat.js run -c <file> -e`) for tests and
 * benchmarks: captures its log lines, waits for one to appear, reads its file output as it
 * grows, stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuarkHandle } from '../../quark-ffi/ts/binding.js';

/** The repository root, from dist/test/modules/ or test/modules/. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bin', 'procbeat.js'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
})();

/** Parts of a test's procbeat.yml beyond the kernel_tracing module, the paths and the output. */
export interface ConfigParts {
  /** Lines inside the system/process module block (indented by 4). */
  module?: string;
  /** Top-level settings (processors, queue, logging). */
  top?: string;
  /** The output block; default a file output in `<dir>/out` that never rotates in a test. */
  output?: string;
}

/**
 * Writes `<dir>/procbeat.yml`: system/process on kernel_tracing, data and logs under `dir`.
 * Readable by all, so a run as another user (RunOptions.asUser) can load it.
 */
export function writeKernelTracingConfig(dir: string, parts: ConfigParts = {}): string {
  const path = join(dir, 'procbeat.yml');
  const output = parts.output ?? `output.file:
  path: ${join(dir, 'out')}
  filename: procbeat
  rotate_every_kb: 4194304
`;
  writeFileSync(path, `procbeat.modules:
  - module: system
    datasets: [process]
    process.backend: kernel_tracing
${parts.module ?? ''}
${parts.top ?? ''}
${output}path.data: ${join(dir, 'data')}
path.logs: ${join(dir, 'logs')}
`);
  chmodSync(path, 0o644);
  return path;
}

/** A document's value at a dotted path (`process.parent.pid`), undefined where it is absent. */
export function docField(doc: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
}

export type LogLine = Record<string, unknown> & { message?: string };

export interface RunOptions {
  /** Run as this uid/gid with no supplementary groups (through setpriv). */
  asUser?: { uid: number; gid: number };
  /** Another checkout's procbeat (a bench's baseline); default: this one. */
  root?: string;
}

export class ProcbeatRun {
  readonly child: ChildProcess;
  /** Every log line, parsed when it is JSON, else `{ message: <text> }`. */
  readonly logs: LogLine[] = [];
  private exited: Promise<number | null>;
  private partial = '';

  constructor(configPath: string, opts: RunOptions = {}) {
    const root = opts.root ?? REPO_ROOT;
    const cli = [join(root, 'bin', 'procbeat.js'), 'run', '-c', configPath, '-e'];
    const [cmd, args] = opts.asUser
      ? ['setpriv', [`--reuid=${opts.asUser.uid}`, `--regid=${opts.asUser.gid}`, '--clear-groups', process.execPath, ...cli]]
      : [process.execPath, cli];
    this.child = spawn(cmd, args as string[], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer): void => this.addLines(chunk.toString('utf8'));
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((res) => this.child.on('exit', (code) => res(code)));
  }

  private addLines(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ message: line });
      }
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Waits until a log line's message matches, or the process exits, or the time runs out. */
  async waitForLog(pattern: RegExp, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find((l) => pattern.test(String(l.message ?? '')));
      if (hit) return hit;
      if (this.child.exitCode !== null) {
        throw new Error(`procbeat exited (${this.child.exitCode}) before logging ${pattern}; last lines:\n${this.tail()}`);
      }
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  tail(n = 15): string {
    return this.logs.slice(-n).map((l) => String(l.message ?? JSON.stringify(l)).slice(0, 400)).join('\n');
  }

  /** SIGTERM, then SIGKILL if it has not stopped after `timeoutMs`. Resolves with the exit code. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The flattened metrics of the final "Total metrics" log line (after stop()). */
  finalMetrics(): Record<string, unknown> | undefined {
    const line = [...this.logs].reverse().find((l) => l.message === 'Total metrics');
    const monitoring = line?.['monitoring'] as { metrics?: Record<string, unknown> } | undefined;
    return monitoring?.metrics;
  }
}

/** Reads the NDJSON documents a file output writes, incrementally, across its files. */
export class OutputReader {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** Documents written since the previous call (complete lines only). */
  readNew(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    if (!existsSync(this.dir)) return out;
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      const size = statSync(path).size;
      const from = this.offsets.get(path) ?? 0;
      if (size <= from) continue;
      const fd = openSync(path, 'r');
      const buf = Buffer.alloc(size - from);
      try {
        readSync(fd, buf, 0, buf.length, from);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(path, size);
      const lines = ((this.partial.get(path) ?? '') + buf.toString('utf8')).split('\n');
      this.partial.set(path, lines.pop() ?? '');
      for (const line of lines) if (line.trim() !== '') out.push(JSON.parse(line) as Record<string, unknown>);
    }
    return out;
  }
}

/** Why the kernel backend cannot run here, or undefined when it can. */
export async function kernelTracingUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root to load eBPF programs';
  try {
    const h = await QuarkHandle.open({ backends: ['ebpf'], snapshot: false });
    await h.close();
    return undefined;
  } catch (err) {
    return `quark-ffi cannot run here: ${err instanceof Error ? err.message : String(err)}`;
  }
}
