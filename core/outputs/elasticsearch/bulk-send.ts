import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import type { BulkItem } from './encode.js';

/** No host answered at all (refused, no route, no name): not a reset or a TLS failure, which waiting does not fix. */
const UNREACHABLE = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|ENOTFOUND|EAI_AGAIN/;

const gzip = promisify(gzipCb);

/** What one `_bulk` request came back with. */
export type BulkOutcome =
  | { kind: 'items'; items: ItemStatus[]; bytes: number }
  /** `unreachable`: no connection to the cluster at all (refused, reset, no route), not a slow or bad answer. */
  | { kind: 'failed'; reason: string; status?: number; bytes: number; readError: boolean; unreachable?: boolean }
  | { kind: 'aborted'; bytes: number };

export interface ItemStatus {
  status: number;
  /** Elasticsearch's error object as JSON text, when the item failed. */
  error?: string;
}

export interface BulkRequestSettings {
  compressionLevel: number;
  /** Query-string parameters added to every request. */
  parameters: Record<string, string>;
}

export function bulkBody(items: readonly BulkItem[]): string {
  let body = '';
  for (const it of items) body += `${it.action}\n${it.source}\n`;
  return body;
}

/**
 * Sends the items as one `_bulk` request and reads the status of each. The body is gzipped
 * here, at the configured level, because the client's own compression has a fixed level.
 * A response whose items do not line up with the request counts as a failed request.
 */
export async function sendBulk(
  client: Client,
  items: readonly BulkItem[],
  s: BulkRequestSettings,
  signal: AbortSignal,
): Promise<BulkOutcome> {
  const text = bulkBody(items);
  const body: string | Buffer = s.compressionLevel > 0 ? await gzip(text, { level: s.compressionLevel }) : text;
  const bytes = Buffer.byteLength(body);
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (s.compressionLevel > 0) headers['content-encoding'] = 'gzip';

  let response: estypes.BulkResponse;
  try {
    response = await client.transport.request<estypes.BulkResponse>(
      { method: 'POST', path: '/_bulk', querystring: s.parameters, bulkBody: body },
      { headers, signal, meta: false },
    );
  } catch (e) {
    if (signal.aborted || e instanceof errors.RequestAbortedError) return { kind: 'aborted', bytes };
    if (e instanceof errors.ResponseError) {
      return { kind: 'failed', reason: responseReason(e), status: e.statusCode ?? 0, bytes, readError: false };
    }
    if (e instanceof errors.DeserializationError) {
      return { kind: 'failed', reason: 'the response is not valid JSON', bytes, readError: true };
    }
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    // Only a cluster that cannot be reached waits without using up retries; a TLS or
    // certificate failure is a ConnectionError too, but waiting will not fix it.
    const unreachable = e instanceof errors.NoLivingConnectionsError ||
      (e instanceof errors.ConnectionError && UNREACHABLE.test(reason));
    return { kind: 'failed', reason, bytes, readError: false, unreachable };
  }

  const rows = response?.items;
  if (!Array.isArray(rows) || rows.length !== items.length) {
    const got = Array.isArray(rows) ? `${rows.length} items` : 'no items';
    return { kind: 'failed', reason: `the response holds ${got} for ${items.length} documents`, bytes, readError: true };
  }
  const out: ItemStatus[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const r = row.create ?? row.index ?? row.update ?? row.delete;
    if (!r || typeof r.status !== 'number') {
      return { kind: 'failed', reason: `item ${i} of the response has no status`, bytes, readError: true };
    }
    out[i] = r.error !== undefined ? { status: r.status, error: JSON.stringify(r.error) } : { status: r.status };
  }
  return { kind: 'items', items: out, bytes };
}

function responseReason(e: InstanceType<typeof errors.ResponseError>): string {
  const body: unknown = e.body;
  let detail = '';
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const err = (body as { error: unknown }).error;
    if (typeof err === 'string') detail = err;
    else if (typeof err === 'object' && err !== null) {
      const o = err as { type?: unknown; reason?: unknown };
      detail = [o.type, o.reason].filter((x) => typeof x === 'string').join(': ');
    }
  } else if (typeof body === 'string') {
    detail = body.slice(0, 200);
  }
  return `HTTP ${e.statusCode ?? '?'}${detail ? ` (${detail})` : ''}`;
}
