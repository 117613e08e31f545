import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ContainerCache } from './cache.js';
import { factsOf, makeMeta, metaFromEventAttributes, type ContainerMeta } from './metadata.js';
import type { DockerMetadataSettings } from './settings.js';

export type SourceState = 'connecting' | 'up' | 'down';

export interface SourceCounters {
  reconnects: number;
  lookups: number;
  lookupsFailed: number;
  streamEvents: number;
}

const BACKOFF_MIN_MS = 500;
/** While the API is down, one lookup per this interval may probe it (the rest ship at once). */
const DOWN_PROBE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** A line of the event stream longer than this is not an event; it is skipped (and counted). */
const MAX_EVENT_LINE_BYTES = 1 << 20;

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * Keeps the cache in step with one Docker Engine API (dockerode): the container event
 * stream (create/start carry name, image and labels before the container's first process
 * runs), an initial listing once the stream is open (so nothing falls between the two),
 * inspect on demand for ids the cache has not seen, and reconnects with backoff. Says once
 * per outage why metadata is missing, and once when it is back.
 */
export class DockerSource {
  state: SourceState = 'connecting';
  /** container.runtime for what this endpoint serves: docker, or podman. */
  runtime = 'docker';
  readonly counters: SourceCounters = { reconnects: 0, lookups: 0, lookupsFailed: 0, streamEvents: 0 };
  private readonly docker: Docker;
  private readonly closing = new AbortController();
  private readonly inflight = new Map<string, Promise<void>>();
  private backoffMs = BACKOFF_MIN_MS;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private outageLogged = false;
  private lastFailureAt = -Infinity;

  constructor(
    private readonly settings: DockerMetadataSettings,
    private readonly cache: ContainerCache,
    private readonly logger: Logger,
    /** Called when the cache learns a container (the processor lets that container's held events go). */
    private readonly onKnown: (id: string) => void,
    /** dockerode's client class, loaded only when the processor is configured (it costs ~25 MiB). */
    DockerClient: typeof Docker,
  ) {
    const ep = settings.endpoint;
    this.docker = ep.kind === 'socket'
      ? new DockerClient({ socketPath: ep.socketPath })
      : new DockerClient({ host: ep.host, port: ep.port, protocol: ep.protocol, ca: ep.ca, cert: ep.cert, key: ep.key });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.wake?.();
    await this.loop;
  }

  /** Looks one container up (deduplicated); settles when the cache knows it or the lookup failed. */
  lookup(id: string): Promise<void> {
    let p = this.inflight.get(id);
    if (p === undefined) {
      p = this.inspect(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  isLookingUp(id: string): boolean {
    return this.inflight.has(id);
  }

  /**
   * Whether an unknown container is worth a lookup now. While the stream is down a lookup
   * still runs (the daemon may be back before the reconnect backoff ends: a container
   * started right after a restart gets its metadata), but at most one per DOWN_PROBE_MS
   * after a failure, so a stopped daemon costs nothing per event.
   */
  mayLookup(): boolean {
    return this.state !== 'down' || performance.now() - this.lastFailureAt >= DOWN_PROBE_MS;
  }

  private async inspect(id: string): Promise<void> {
    this.counters.lookups++;
    try {
      const info = await this.docker.getContainer(id).inspect({ abortSignal: this.requestSignal() });
      this.learn(makeMeta(info.Id, info.Name, info.Config?.Image ?? info.Image, info.Config?.Labels));
      // The daemon answers again: reconnect the stream now rather than at the end of the backoff.
      if (this.state === 'down') this.wake?.();
    } catch (err) {
      if (statusOf(err) === 404) {
        // Not a container of this daemon (another runtime's, or already removed): remember, do not ask again.
        this.cache.set(id, null, performance.now());
        this.onKnown(id);
        return;
      }
      this.counters.lookupsFailed++;
      this.lastFailureAt = performance.now();
      this.logger.debug({ err, 'container.id': id }, `add_docker_metadata: inspecting container ${id} failed`);
    }
  }

  private requestSignal(): AbortSignal {
    return AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.settings.requestTimeoutMs)]);
  }

  private learn(meta: ContainerMeta): void {
    this.cache.set(meta.id, factsOf(meta, this.runtime, this.settings.labelsDedot));
    this.onKnown(meta.id);
  }

  private async run(): Promise<void> {
    while (!this.closing.signal.aborted) {
      let reason: unknown;
      try {
        await this.session();
        reason = new Error('the event stream ended');
      } catch (err) {
        reason = err;
      }
      if (this.closing.signal.aborted) break;
      this.state = 'down';
      this.counters.reconnects++;
      if (!this.outageLogged) {
        this.outageLogged = true;
        this.logger.warn(
          { err: reason, host: this.settings.hostText },
          `add_docker_metadata: cannot use the Docker API at ${this.settings.hostText} (${errorText(reason)}); ` +
            'events go on without container metadata (counted in add_docker_metadata.events.missing) and procbeat reconnects with backoff',
        );
      } else {
        this.logger.debug({ err: reason }, `add_docker_metadata: reconnect failed: ${errorText(reason)}`);
      }
      await this.sleep(this.backoffMs);
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    }
  }

  /** One connection: version, event stream, listing; resolves or throws when the stream ends. */
  private async session(): Promise<void> {
    // dockerode's version() takes options (the abort signal) though its types do not say so.
    const versionOf = this.docker.version as unknown as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
    const version = await versionOf.call(this.docker, { abortSignal: this.requestSignal() });
    const engine = version.Components?.find((c) => /podman/i.test(c.Name))?.Name;
    this.runtime = engine !== undefined ? 'podman' : 'docker';
    const stream = await this.docker.getEvents({
      filters: { type: ['container'] },
      abortSignal: this.closing.signal,
    } as Docker.GetEventsOptions);
    const ended = this.consume(stream);
    // If the listing below fails, the stream's end is never awaited; it must not surface as unhandled.
    ended.catch(() => undefined);
    const list = await this.docker.listContainers({ all: true, abortSignal: this.requestSignal() } as Docker.ContainerListOptions);
    for (const c of list) this.learn(makeMeta(c.Id, c.Names?.[0] ?? '', c.Image, c.Labels));
    const wasDown = this.outageLogged;
    this.state = 'up';
    this.backoffMs = BACKOFF_MIN_MS;
    this.outageLogged = false;
    this.logger.info(
      { host: this.settings.hostText, runtime: this.runtime, version: version.Version, containers: list.length },
      `add_docker_metadata: ${wasDown ? 'reconnected to' : 'connected to'} ${this.runtime} ${version.Version} at ${this.settings.hostText}; ${list.length} containers known`,
    );
    await ended;
  }

  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== '') this.onLine(line);
        }
        if (buf.length > MAX_EVENT_LINE_BYTES) buf = '';
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', (err: Error) => reject(err));
    });
  }

  private onLine(line: string): void {
    let ev: DockerEvent;
    try {
      ev = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    const id = ev.Actor?.ID;
    if (ev.Type !== 'container' || typeof id !== 'string') return;
    this.counters.streamEvents++;
    switch (ev.Action) {
      case 'create':
      case 'start':
      case 'rename':
      case 'update': {
        const meta = metaFromEventAttributes(id, ev.Actor?.Attributes ?? {});
        if (meta !== undefined) this.learn(meta);
        else void this.lookup(id);
        break;
      }
      case 'die':
      case 'destroy':
        this.cache.markGone(id, performance.now());
        break;
      default:
        break;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ${err.message}` : err.message;
  return String(err);
}
