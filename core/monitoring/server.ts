import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BeatInfo } from '../api/dataset.js';
import type { PromMetricsRegistry } from './registry.js';
import { buildStats } from './stats.js';

export interface MonitoringServerOptions {
  host: string;
  port: number;
  registry: PromMetricsRegistry;
  info: BeatInfo;
  /** The `name` setting (agent name). */
  name: string;
  ephemeralId: string;
  startedAt: number;
  logger: Logger;
  /** Extra facts for `/state` (output type, running datasets). */
  state?: () => Record<string, unknown>;
}

export interface MonitoringServer {
  /** The bound address (the real port when port 0 was asked for). */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** The `http.*` endpoint: `/` beat info, `/stats` JSON, `/state`, `/metrics` Prometheus text. */
export async function startMonitoringServer(options: MonitoringServerOptions): Promise<MonitoringServer> {
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      options.logger.error({ err }, 'monitoring request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  options.logger.info({ url: { full: url } }, `monitoring endpoint listening on ${url}`);
  return {
    host: address.address,
    port: address.port,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      reject(new Error(`http: cannot listen on ${host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, o: MonitoringServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  const pretty = url.searchParams.has('pretty');
  const json = (body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(`${JSON.stringify(body, null, pretty ? 2 : undefined)}\n`);
  };
  switch (url.pathname) {
    case '/':
      json({
        beat: o.info.name,
        name: o.name,
        hostname: o.info.hostname,
        uuid: o.info.uuid,
        ephemeral_id: o.ephemeralId,
        version: o.info.version,
      });
      return;
    case '/stats':
      json(buildStats({ info: o.info, ephemeralId: o.ephemeralId, startedAt: o.startedAt, snapshot: o.registry.snapshot() }));
      return;
    case '/state':
      json({
        beat: { name: o.name },
        host: { hostname: o.info.hostname, id: o.info.hostId },
        ...(o.state?.() ?? {}),
      });
      return;
    case '/metrics': {
      const text = await o.registry.metricsText();
      res.writeHead(200, { 'content-type': o.registry.contentType });
      res.end(text);
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /, /stats, /state or /metrics\n');
  }
}
