/**
 * A private Docker daemon for tests: its own socket, data root and exec root under a temp
 * dir, no iptables and no bridge (runs offline), stopped after. The image is imported from
 * a root filesystem holding only a static busybox (there is no registry to pull from).
 * Installs docker.io / busybox-static with apt-get when missing and we are root (CI runs on
 * a fresh clone); anything that still cannot run is reported as a skip reason.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const TEST_IMAGE = 'procbeat-test/busybox:1.0';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function staticBusybox(): string | undefined {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue;
    const r = spawnSync('file', ['-L', p], { encoding: 'utf8' });
    // Without `file`, trust the path: busybox-static installs there.
    if (r.status !== 0 || /statically linked|static-pie/.test(r.stdout)) return p;
  }
  return undefined;
}

/** Installs what is missing; returns why the daemon cannot run, or undefined. */
export async function dockerUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root to run a Docker daemon';
  const need: string[] = [];
  if (!have('dockerd')) need.push('docker.io');
  if (staticBusybox() === undefined) need.push('busybox-static');
  if (need.length > 0) {
    if (!have('apt-get')) return `needs ${need.join(', ')} and apt-get is not here`;
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      await run('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
      await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], { env, timeout: 600_000 });
    } catch (err) {
      return `apt-get install ${need.join(' ')} failed: ${(err as Error).message.split('\n')[0]}`;
    }
    if (!have('dockerd')) return 'dockerd is still missing after installing docker.io';
    if (staticBusybox() === undefined) return 'no static busybox after installing busybox-static';
  }
  return undefined;
}

export class TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly docker: Docker;
  private child: ChildProcess | undefined;
  private logPath: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'procbeat-docker-'));
    // The socket path stays short (unix socket paths are limited to 107 bytes).
    this.socket = `/run/procbeat-test-docker-${process.pid}.sock`;
    this.logPath = join(this.dir, 'dockerd.log');
    this.docker = new Docker({ socketPath: this.socket });
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  /** Starts dockerd and waits until it answers; throws with its log tail when it does not. */
  async start(timeoutMs = 60_000): Promise<void> {
    const log = openSync(this.logPath, 'a');
    this.child = spawn('dockerd', [
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--host', this.host,
      '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'dockerd.pid'),
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`dockerd exited (${this.child.exitCode}):\n${this.logTail()}`);
      try {
        await this.docker.ping();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${timeoutMs} ms:\n${this.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** SIGTERM and wait (SIGKILL after 30 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
    this.child = undefined;
  }

  /** Stops the daemon and removes its state (mounts under the data root go first). */
  async destroy(): Promise<void> {
    await this.stop();
    spawnSync('sh', ['-c', `grep -o " ${this.dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.socket, { force: true });
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no dockerd log)';
    }
  }

  /** Imports TEST_IMAGE from a root filesystem of a static busybox with a few applets. */
  async importImage(): Promise<void> {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(staticBusybox()!, join(rootfs, 'bin', 'busybox'));
    for (const applet of ['sh', 'true', 'sleep', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', applet));
    const tar = join(this.dir, 'rootfs.tar');
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    const [repo, tag] = TEST_IMAGE.split(':');
    const stream = await this.docker.importImage(tar, { repo, tag });
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  /** Creates and starts a container; resolves with its id once started. */
  async startContainer(opts: { name: string; cmd: string[]; labels?: Record<string, string>; autoRemove?: boolean }): Promise<Docker.Container> {
    const c = await this.docker.createContainer({
      name: opts.name,
      Image: TEST_IMAGE,
      Cmd: opts.cmd,
      Labels: opts.labels ?? {},
      HostConfig: { NetworkMode: 'none', AutoRemove: opts.autoRemove ?? false },
    });
    await c.start();
    return c;
  }

  /** Runs a container to its end (create, start, wait, remove). */
  async runContainer(opts: { name: string; cmd: string[]; labels?: Record<string, string> }): Promise<string> {
    const c = await this.startContainer(opts);
    await c.wait();
    await c.remove({ force: true });
    return c.id;
  }
}
