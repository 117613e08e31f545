/**
 * A small Elasticsearch stand-in on 127.0.0.1 for transport-level tests: it speaks `_bulk`
 * (NDJSON, gzip), the root info API and the setup endpoints (index templates, ILM policies,
 * ingest pipelines), keeps what it indexed, and injects faults chosen by the test.
 *
 * Where Elasticsearch 9.x is strict, so is this server: an index or data stream name with
 * capitals is refused (400 invalid_index_name_exception), a `create` whose `_id` exists is a
 * 409, `GET _ingest/pipeline` adds `created_date_millis` / `modified_date_millis` (9.2+), and
 * with `clusterPrivileges` set, a request the role may not make is a 403 security_exception.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface BulkAction {
  op: string;
  index: string;
  id?: string;
  pipeline?: string;
}

/** A cluster privilege that grants one of the setup requests, as Elasticsearch names them. */
export type ClusterPrivilege =
  | 'monitor' | 'manage_index_templates' | 'read_ilm' | 'manage_ilm' | 'read_pipeline' | 'manage_pipeline' | 'manage_ingest_pipelines';

/** A publish-only role as beats documents it: it reads the setup assets and writes nothing but documents. */
export const PUBLISHER_PRIVILEGES: readonly ClusterPrivilege[] = ['monitor', 'read_ilm', 'read_pipeline'];

/** What a fault hook may decide for one document; undefined = index it normally. */
export type ItemFault = { status: number; type?: string; reason?: string } | undefined;

export interface Faults {
  /** Whole-request failure for this request number (1-based), e.g. 429 or 503; 0 = none. */
  requestStatus?: (requestNo: number) => number;
  /** Per-document fault, called before indexing. */
  item?: (action: BulkAction, doc: Record<string, unknown>, requestNo: number) => ItemFault;
  /** Milliseconds to wait before answering (after indexing), per request. */
  delayMs?: (requestNo: number) => number;
  /** Answers with this many items missing, to test response validation. */
  truncateItems?: (requestNo: number) => boolean;
  /** Refuses bulk bodies larger than this many (uncompressed) bytes with 413. */
  maxContentLength?: number;
}

export interface StoredDoc {
  index: string;
  id: string;
  doc: Record<string, unknown>;
  pipeline?: string;
}

export class FakeElasticsearch {
  port = 0;
  faults: Faults = {};
  /** Every document indexed, by index then id. */
  readonly indices = new Map<string, Map<string, StoredDoc>>();
  readonly templates = new Map<string, unknown>();
  readonly policies = new Map<string, unknown>();
  readonly pipelines = new Map<string, unknown>();
  /** Counts of requests by `METHOD path` (path without query). */
  readonly calls = new Map<string, number>();
  readonly requestHeaders: Array<Record<string, string | string[] | undefined>> = [];
  bulkRequests = 0;
  gzipRequests = 0;
  bytesReceived = 0;
  /** Each `seq` field seen in an indexed document, with how often it was indexed. */
  readonly seqCount = new Map<number, number>();
  clusterName = 'fake-cluster';
  version = '9.2.0';
  /**
   * The role's cluster privileges; undefined = a superuser. Setup requests the role lacks a
   * privilege for are answered 403 (and counted in `denied`), as Elasticsearch does.
   */
  clusterPrivileges: ReadonlySet<ClusterPrivilege> | undefined;
  /** `METHOD path` of each request refused with 403. */
  readonly denied: string[] = [];
  /** When each pipeline was first stored and last replaced (ms), as 9.2+ reports them. */
  private readonly pipelineDates = new Map<string, { created: number; modified: number }>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private nextId = 0;

  /** With `tls`, the server speaks HTTPS (key, cert, and for client certificates ca + requestCert). */
  constructor(private readonly tls?: TlsServerOptions) {}

  /** Listens on `port` (0 = any free port). */
  async start(port = this.port): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.json(res, 500, { error: { type: 'fake_failure', reason: String(e) }, status: 500 });
        else res.destroy();
      });
    };
    const server: Server = this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
    server.keepAliveTimeout = 60_000;
    server.on(this.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every open connection, as a crashed node would. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  docCount(index?: string): number {
    if (index !== undefined) return this.indices.get(index)?.size ?? 0;
    let n = 0;
    for (const m of this.indices.values()) n += m.size;
    return n;
  }

  docs(index: string): StoredDoc[] {
    return [...(this.indices.get(index)?.values() ?? [])];
  }

  private count(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    this.bytesReceived += body.length;
    this.requestHeaders.push(req.headers);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    this.count(`${method} ${path}`);
    let text = body;
    if (req.headers['content-encoding'] === 'gzip' && body.length > 0) {
      this.gzipRequests++;
      text = gunzipSync(body);
    }

    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      return this.json(res, 200, {
        name: 'fake-node',
        cluster_name: this.clusterName,
        cluster_uuid: 'fake-uuid',
        version: { number: this.version, build_flavor: 'default' },
        tagline: 'You Know, for Search',
      }, method === 'HEAD');
    }
    const bulk = /^(?:\/([^/_][^/]*))?\/_bulk$/.exec(path);
    if (bulk && (method === 'POST' || method === 'PUT')) {
      return this.bulk(res, text.toString('utf8'), bulk[1] !== undefined ? decodeURIComponent(bulk[1]) : undefined);
    }
    const store = this.storeFor(path);
    if (store) {
      const name = decodeURIComponent(store.name);
      const need = store.privileges[method === 'PUT' || method === 'DELETE' ? 'write' : 'read'];
      if (this.clusterPrivileges !== undefined && !need.some((p) => this.clusterPrivileges!.has(p))) {
        this.denied.push(`${method} ${path}`);
        const reason = `action [${store.action}/${method === 'PUT' || method === 'DELETE' ? 'put' : 'get'}] is unauthorized for user [publisher] with effective roles [publisher], this action is granted by the cluster privileges [${need.join(',')},manage,all]`;
        return this.json(res, 403, { error: { root_cause: [{ type: 'security_exception', reason }], type: 'security_exception', reason }, status: 403 }, method === 'HEAD');
      }
      if (method === 'PUT') {
        store.map.set(name, JSON.parse(text.toString('utf8') || '{}'));
        if (store.map === this.pipelines) {
          const now = Date.now();
          this.pipelineDates.set(name, { created: this.pipelineDates.get(name)?.created ?? now, modified: now });
        }
        return this.json(res, 200, { acknowledged: true });
      }
      if (method === 'HEAD') return this.json(res, store.map.has(name) ? 200 : 404, {}, true);
      if (method === 'GET') {
        if (!store.map.has(name)) return this.json(res, 404, { error: { type: 'resource_not_found_exception', reason: `${name} missing` }, status: 404 });
        return this.json(res, 200, store.wrap(name, store.map.get(name)));
      }
      if (method === 'DELETE') {
        store.map.delete(name);
        if (store.map === this.pipelines) this.pipelineDates.delete(name);
        return this.json(res, 200, { acknowledged: true });
      }
    }
    return this.json(res, 404, { error: { type: 'fake_not_found', reason: `${method} ${path} not handled by the fake` }, status: 404 });
  }

  private storeFor(path: string): AssetStore | undefined {
    let m = /^\/_index_template\/([^/]+)$/.exec(path);
    if (m) {
      return {
        map: this.templates, name: m[1]!, action: 'indices:admin/index_template',
        privileges: { read: ['monitor', 'manage_index_templates'], write: ['manage_index_templates'] },
        wrap: (n, v) => ({ index_templates: [{ name: n, index_template: v }] }),
      };
    }
    m = /^\/_ilm\/policy\/([^/]+)$/.exec(path);
    if (m) {
      return {
        map: this.policies, name: m[1]!, action: 'cluster:admin/ilm',
        privileges: { read: ['read_ilm', 'manage_ilm'], write: ['manage_ilm'] },
        wrap: (n, v) => ({ [n]: { version: 1, modified_date: '2026-01-01T00:00:00.000Z', policy: (v as { policy?: unknown }).policy, in_use_by: { indices: [], data_streams: [], composable_templates: [] } } }),
      };
    }
    m = /^\/_ingest\/pipeline\/([^/]+)$/.exec(path);
    if (m) {
      return {
        map: this.pipelines, name: m[1]!, action: 'cluster:admin/ingest/pipeline',
        privileges: { read: ['read_pipeline', 'manage_pipeline', 'manage_ingest_pipelines'], write: ['manage_pipeline', 'manage_ingest_pipelines'] },
        wrap: (n, v) => {
          const dates = this.pipelineDates.get(n);
          // 9.2 added these two fields to every GET; an unchanged pipeline must still compare equal
          return { [n]: dates && !versionBefore(this.version, 9, 2) ? { ...(v as object), created_date_millis: dates.created, modified_date_millis: dates.modified } : v };
        },
      };
    }
    return undefined;
  }

  private async bulk(res: ServerResponse, text: string, defaultIndex: string | undefined): Promise<void> {
    const requestNo = ++this.bulkRequests;
    const whole = this.faults.requestStatus?.(requestNo) ?? 0;
    if (whole > 0) {
      return this.json(res, whole, { error: { type: whole === 429 ? 'es_rejected_execution_exception' : 'fake_failure', reason: `injected ${whole}` }, status: whole });
    }
    if (this.faults.maxContentLength !== undefined && Buffer.byteLength(text) > this.faults.maxContentLength) {
      return this.json(res, 413, { error: { type: 'content_too_long', reason: 'request too large' }, status: 413 });
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const items: Array<Record<string, unknown>> = [];
    let errors = false;
    for (let i = 0; i < lines.length; i += 2) {
      const actionObj = JSON.parse(lines[i]!) as Record<string, Record<string, string>>;
      const op = Object.keys(actionObj)[0]!;
      const meta = actionObj[op]!;
      const doc = JSON.parse(lines[i + 1] ?? '{}') as Record<string, unknown>;
      const action: BulkAction = { op, index: meta['_index'] ?? defaultIndex ?? '' };
      if (meta['_id'] !== undefined) action.id = meta['_id'];
      if (meta['pipeline'] !== undefined) action.pipeline = meta['pipeline'];
      const invalid = invalidIndexName(action.index);
      if (invalid !== undefined) {
        errors = true;
        items.push({ [op]: { _index: action.index, status: 400, error: { type: 'invalid_index_name_exception', reason: `Invalid index name [${action.index}], ${invalid}`, index_uuid: '_na_', index: action.index } } });
        continue;
      }
      const fault = this.faults.item?.(action, doc, requestNo);
      if (fault) {
        errors = true;
        items.push({ [op]: { _index: action.index, status: fault.status, error: { type: fault.type ?? 'injected', reason: fault.reason ?? `injected ${fault.status}` } } });
        continue;
      }
      let idx = this.indices.get(action.index);
      if (!idx) this.indices.set(action.index, (idx = new Map()));
      const id = action.id ?? `auto-${++this.nextId}`;
      if (op === 'create' && idx.has(id)) {
        errors = true;
        items.push({ [op]: { _index: action.index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists` } } });
        continue;
      }
      const stored: StoredDoc = { index: action.index, id, doc };
      if (action.pipeline !== undefined) stored.pipeline = action.pipeline;
      idx.set(id, stored);
      if (typeof doc['seq'] === 'number') this.seqCount.set(doc['seq'], (this.seqCount.get(doc['seq']) ?? 0) + 1);
      items.push({ [op]: { _index: action.index, _id: id, _version: 1, result: 'created', status: 201 } });
    }
    const delay = this.faults.delayMs?.(requestNo) ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (this.faults.truncateItems?.(requestNo)) items.pop();
    return this.json(res, 200, { took: 1, errors, items });
  }

  private json(res: ServerResponse, status: number, body: unknown, head = false): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'content-length': Buffer.byteLength(text),
    });
    res.end(head ? undefined : text);
  }
}

interface AssetStore {
  map: Map<string, unknown>;
  name: string;
  /** The action name prefix Elasticsearch names in a 403. */
  action: string;
  privileges: { read: ClusterPrivilege[]; write: ClusterPrivilege[] };
  wrap: (n: string, v: unknown) => unknown;
}

/** Why Elasticsearch refuses this index or data stream name, or undefined when it takes it. */
export function invalidIndexName(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'must not contain the following characters [\\, /, *, ?, ", <, >, |, " ", ",", #, :]';
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (Buffer.byteLength(name) > 255) return 'index name is too long';
  return undefined;
}

function versionBefore(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => Number.parseInt(x, 10));
  return a < major || (a === major && b < minor);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A port with nothing listening on it (yet). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
