/**
 * A Docker Engine API over a real unix socket and real HTTP, with the handful of endpoints
 * add_docker_metadata calls, where a test decides how slow each answer is: for the faults a
 * real daemon will not produce on demand (a hung inspect, an event that arrives first).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeContainer {
  id: string;
  name: string;
  image: string;
  labels?: Record<string, string>;
}

export class FakeEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'procbeat-fake-engine-'));
  readonly socket = join(this.dir, 'docker.sock');
  readonly containers = new Map<string, FakeContainer>();
  /** Inspect of these ids never answers (a hung daemon). */
  readonly hang = new Set<string>();
  /** Inspect answers after this many ms. */
  inspectDelayMs = 0;
  inspects = 0;
  private readonly streams = new Set<ServerResponse>();
  private readonly hung = new Set<ServerResponse>();
  private server: Server | undefined;

  get host(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
  }

  async stop(): Promise<void> {
    for (const s of [...this.streams, ...this.hung]) s.destroy();
    this.streams.clear();
    this.hung.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    this.server = undefined;
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  get subscribers(): number {
    return this.streams.size;
  }

  /** Sends a container event to every open /events stream. */
  emit(action: string, c: FakeContainer): void {
    const line = JSON.stringify({
      Type: 'container', Action: action, status: action, id: c.id,
      Actor: { ID: c.id, Attributes: { ...c.labels, name: c.name, image: c.image } },
      time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6,
    });
    for (const s of this.streams) s.write(`${line}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v[0-9.]+/, '');
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/version') return json(200, { Version: '99.0-fake', ApiVersion: '1.41', Components: [{ Name: 'Engine', Version: '99.0-fake' }] });
    if (path === '/_ping') return void res.end('OK');
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    if (path === '/containers/json') {
      return json(200, [...this.containers.values()].map((c) => ({ Id: c.id, Names: [`/${c.name}`], Image: c.image, Labels: c.labels ?? {} })));
    }
    const m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) {
      this.inspects++;
      const id = m[1]!;
      if (this.hang.has(id)) {
        this.hung.add(res);
        return;
      }
      const answer = (): void => {
        const c = this.containers.get(id);
        if (!c) return json(404, { message: `No such container: ${id}` });
        json(200, { Id: c.id, Name: `/${c.name}`, Image: 'sha256:0', Config: { Image: c.image, Labels: c.labels ?? {} } });
      };
      if (this.inspectDelayMs > 0) setTimeout(answer, this.inspectDelayMs);
      else answer();
      return;
    }
    json(404, { message: 'page not found' });
  }
}

/** A 64-hex container id from a small number, for readable tests. */
export function cid(n: number): string {
  return n.toString(16).padStart(64, 'c');
}
