import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  Client,
  ClusterConnectionPool,
  SniffingTransport,
  type BaseConnection,
  type Connection,
  type TransportOptions,
} from '@elastic/elasticsearch';
import type { ElasticsearchOutputConfig } from './config.js';

/**
 * The v9 client announces `compatible-with=9` media types, which Elasticsearch 8 refuses.
 * Plain JSON / NDJSON is understood by 8.x and 9.x alike, as beats sends it.
 */
type ClientOptions = ConstructorParameters<typeof Client>[0];

class PlainMediaTypeTransport extends SniffingTransport {
  constructor(opts: TransportOptions) {
    super({
      ...opts,
      vendoredHeaders: {
        jsonContentType: 'application/json',
        ndjsonContentType: 'application/x-ndjson',
        accept: 'application/json, text/plain',
      },
    });
  }
}

export interface ClientFactoryOptions {
  /** `procbeat/<version>` goes into the user agent. */
  userAgent: string;
  /** Replaces the HTTP layer; the tests pass @elastic/elasticsearch-mock's connection here. */
  Connection?: typeof BaseConnection;
}

/**
 * One client for the output, `setup` and `test output`. Retries are ours (the output counts
 * and backs off per event), so the client itself never retries.
 */
export function createClient(config: ElasticsearchOutputConfig, opts: ClientFactoryOptions): Client {
  const explicitAuth = config.apiKey !== undefined || config.username !== undefined;
  const headers: Record<string, string> = { 'user-agent': opts.userAgent };
  // the client sends its own lower-case copy too; mixed case would send the header twice
  for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
  const options: ClientOptions = {
    // explicit username/api_key settings win over user:pass written into a host URL
    nodes: explicitAuth ? config.hosts.map(withoutUserinfo) : config.hosts,
    Transport: PlainMediaTypeTransport,
    ConnectionPool: ClusterConnectionPool,
    maxRetries: 0,
    requestTimeout: config.timeoutMs,
    compression: false,
    headers,
    name: 'procbeat',
    sniffOnStart: false,
  };
  if (opts.Connection) options.Connection = opts.Connection;
  if (!config.loadbalance) {
    // beats without loadbalance sticks to one node and fails over when it dies
    options.nodeSelector = (connections: Connection[]) => connections[0]!;
  }
  if (config.apiKey !== undefined) {
    const sep = config.apiKey.indexOf(':');
    options.auth = sep > 0
      ? { apiKey: { id: config.apiKey.slice(0, sep), api_key: config.apiKey.slice(sep + 1) } }
      : { apiKey: config.apiKey };
  } else if (config.username !== undefined) {
    options.auth = { username: config.username, password: config.password ?? '' };
  }
  const tls = tlsOptions(config);
  if (tls) options.tls = tls;
  if (config.proxyUrl !== undefined) options.proxy = config.proxyUrl;
  return new Client(options);
}

function withoutUserinfo(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

function tlsOptions(config: ElasticsearchOutputConfig): TlsOptions | undefined {
  const s = config.ssl;
  const tls: TlsOptions = {};
  let used = false;
  if (s.certificateAuthorities.length > 0) {
    tls.ca = s.certificateAuthorities;
    used = true;
  }
  if (s.certificate !== undefined && s.key !== undefined) {
    tls.cert = s.certificate;
    tls.key = s.key;
    if (s.keyPassphrase !== undefined) tls.passphrase = s.keyPassphrase;
    used = true;
  }
  if (s.verificationMode === 'none') {
    tls.rejectUnauthorized = false;
    used = true;
  } else if (s.verificationMode === 'certificate') {
    // the chain is still verified; only the host name check is skipped
    tls.checkServerIdentity = () => undefined;
    used = true;
  }
  return used ? tls : undefined;
}
