// Shared helpers of the hasher tests: temp dirs, digests from the system's own tools,
// spawned processes and a metrics registry that records what the hasher publishes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricsNamespace, MetricsRegistry } from '../../core/api/metrics.js';
import type { HashType, HasherLogger } from '../../modules/system/process/enrich/hasher/index.js';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `procbeat-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function firstField(out: string): string {
  return (out.trim().split(/\s+/)[0] ?? '').toLowerCase();
}

function opensslDigest(alg: string, file: string): string {
  // `SHA3-256(/path)= <hex>`
  const out = execFileSync('openssl', ['dgst', `-${alg}`, file], { encoding: 'utf8' });
  return (out.trim().split('= ').pop() ?? '').toLowerCase();
}

/**
 * The digest of `file` as a system tool computes it, or the reason no tool is available.
 */
export function toolDigest(type: HashType, file: string): { hex: string } | { missing: string } {
  const coreutils: Partial<Record<HashType, string>> = {
    md5: 'md5sum',
    sha1: 'sha1sum',
    sha224: 'sha224sum',
    sha256: 'sha256sum',
    sha384: 'sha384sum',
    sha512: 'sha512sum',
  };
  const cu = coreutils[type];
  if (cu !== undefined) {
    if (!hasCommand(cu)) return { missing: `${cu} not installed` };
    return { hex: firstField(execFileSync(cu, [file], { encoding: 'utf8' })) };
  }
  if (type.startsWith('blake2b_')) {
    if (!hasCommand('b2sum')) return { missing: 'b2sum not installed' };
    return { hex: firstField(execFileSync('b2sum', ['-l', type.slice('blake2b_'.length), file], { encoding: 'utf8' })) };
  }
  if (type.startsWith('sha512_') || type.startsWith('sha3_')) {
    if (!hasCommand('openssl')) return { missing: 'openssl not installed' };
    const alg = type.startsWith('sha512_') ? `sha512-${type.slice(7)}` : `sha3-${type.slice(5)}`;
    return { hex: opensslDigest(alg, file) };
  }
  if (type === 'xxh64') {
    if (ensureXxhsum()) return { hex: firstField(execFileSync('xxhsum', ['-H64', file], { encoding: 'utf8' })) };
    try {
      const out = execFileSync(
        'python3',
        ['-c', 'import sys,xxhash;print(xxhash.xxh64(open(sys.argv[1],"rb").read()).hexdigest())', file],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      return { hex: out.trim() };
    } catch {
      return { missing: 'neither xxhsum (apt-get install xxhash) nor python3 xxhash available' };
    }
  }
  return { missing: `no tool known for ${type}` };
}

let xxhsumTried = false;

/** xxhsum is the reference for xxh64; as root, install Debian's xxhash once when it is missing. */
function ensureXxhsum(): boolean {
  if (hasCommand('xxhsum')) return true;
  if (xxhsumTried || process.getuid?.() !== 0 || !hasCommand('apt-get')) return false;
  xxhsumTried = true;
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'xxhash'],
      { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 120_000 });
  } catch {
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends xxhash'],
        { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 });
    } catch { /* reported as missing below */ }
  }
  return hasCommand('xxhsum');
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns `file args...` and resolves once the child has exec'd `file` (its /proc/<pid>/exe points there). */
export async function spawnExecuted(file: string, args: string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn(file, args, { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`spawn ${file} failed`);
  await waitFor(`pid ${pid} to exec ${file}`, () => {
    try {
      const link = readlinkSync(`/proc/${pid}/exe`);
      return link === file || link === `${file} (deleted)` ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return child as ChildProcess & { pid: number };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export class RecordingMetrics implements MetricsRegistry {
  readonly values = new Map<string, number | string>();

  namespace(name: string): MetricsNamespace {
    const values = this.values;
    return {
      name,
      inc(key: string, by = 1) {
        const k = `${name}.${key}`;
        values.set(k, Number(values.get(k) ?? 0) + by);
      },
      set(key: string, value: number | string) {
        values.set(`${name}.${key}`, value);
      },
      get(key: string) {
        return values.get(`${name}.${key}`);
      },
    };
  }
}

export class RecordingLogger implements HasherLogger {
  readonly lines: Array<{ obj: object; msg: string | undefined }> = [];
  debug(obj: object, msg?: string): void {
    this.lines.push({ obj, msg });
  }
}

export const isRoot = process.getuid?.() === 0;
export const hasProc = existsSync('/proc/self/exe');
