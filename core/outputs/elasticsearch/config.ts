import { readFileSync } from 'node:fs';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { parseDuration as parseDurationMs } from '../../config/duration.js';
import { normalizeHost } from './hosts.js';

/** `output.elasticsearch.*` after validation, with every default applied. */
export interface ElasticsearchOutputConfig {
  /** Full node URLs (scheme, port and path prefix resolved); may carry user:pass, never logged. */
  hosts: string[];
  username?: string;
  password?: string;
  apiKey?: string;
  headers: Record<string, string>;
  /** Extra query-string parameters sent with every bulk request (beats `parameters`). */
  parameters: Record<string, string>;
  proxyUrl?: string;
  ssl: TlsSettings;
  /** gzip level 1-9; 0 sends the body uncompressed. */
  compressionLevel: number;
  /** Events per bulk request; <= 0 sends each batch whole. */
  bulkMaxSize: number;
  /** Concurrent bulk requests per host. */
  worker: number;
  loadbalance: boolean;
  /** Attempts after the first one before an event is dropped; < 0 retries until shutdown. */
  maxRetries: number;
  backoff: { initMs: number; maxMs: number };
  timeoutMs: number;
  /** Index or data stream name; may hold `%{[field]}` and `%{+yyyy.MM.dd}` references. */
  index: string;
  pipeline?: string;
  nonIndexablePolicy: NonIndexablePolicy;
}

export type VerificationMode = 'full' | 'certificate' | 'none';

export interface TlsSettings {
  /** PEM contents, read from the configured files (or given inline). */
  certificateAuthorities: string[];
  certificate?: string;
  key?: string;
  keyPassphrase?: string;
  verificationMode: VerificationMode;
}

export type NonIndexablePolicy =
  | { readonly kind: 'drop' }
  | { readonly kind: 'dead_letter_index'; readonly index: string };

/** Keys whose values are secrets: never logged, printed by `export config` or shown on `/stats`. */
export const SECRET_KEYS: readonly string[] = [
  'output.elasticsearch.password',
  'output.elasticsearch.api_key',
  'output.elasticsearch.ssl.key',
  'output.elasticsearch.ssl.key_passphrase',
];

export interface ValidateOptions {
  /** The file the settings came from, for error messages. */
  file?: string;
  /** Used for the default index name `<beat>-<version>`. */
  beatName: string;
  beatVersion: string;
}

const PREFIX = 'output.elasticsearch';
const TOP_KEYS = new Set([
  'enabled', 'hosts', 'protocol', 'path', 'username', 'password', 'api_key', 'headers', 'parameters',
  'proxy_url', 'ssl', 'compression_level', 'bulk_max_size', 'worker', 'workers', 'loadbalance',
  'max_retries', 'backoff', 'timeout', 'index', 'pipeline', 'non_indexable_policy',
]);
const SSL_KEYS = new Set(['enabled', 'certificate_authorities', 'certificate', 'key', 'key_passphrase', 'verification_mode']);
const BACKOFF_KEYS = new Set(['init', 'max']);

export const DEFAULTS = {
  compressionLevel: 1,
  bulkMaxSize: 1600,
  worker: 1,
  maxRetries: 3,
  backoffInitMs: 1000,
  backoffMaxMs: 60_000,
  timeoutMs: 90_000,
} as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates `output.elasticsearch` (already `${VAR}`-expanded, dotted keys nested).
 * Collects every problem and throws them together as ConfigErrors; each names its key.
 */
export function validateElasticsearchConfig(raw: unknown, opts: ValidateOptions): ElasticsearchOutputConfig {
  const errors: ConfigError[] = [];
  const err = (key: string, problem: string): void => {
    errors.push(new ConfigError(opts.file, key ? `${PREFIX}.${key}` : PREFIX, problem));
  };
  const src: Record<string, unknown> = isRecord(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isRecord(raw)) err('', 'expected a mapping of settings');

  for (const key of Object.keys(src)) {
    if (!TOP_KEYS.has(key)) err(key, 'unknown setting');
  }

  const str = (key: string, value: unknown): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    err(key, `expected a string, got ${describe(value)}`);
    return undefined;
  };
  const int = (key: string, value: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (value === undefined || value === null) return dflt;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      err(key, `expected an integer, got ${describe(value)}`);
      return dflt;
    }
    if (n < min || n > max) {
      err(key, `expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${n}`);
      return dflt;
    }
    return n;
  };
  const bool = (key: string, value: unknown, dflt: boolean): boolean => {
    if (value === undefined || value === null) return dflt;
    if (typeof value === 'boolean') return value;
    if (value === 'true') return true;
    if (value === 'false') return false;
    err(key, `expected true or false, got ${describe(value)}`);
    return dflt;
  };
  const duration = (key: string, value: unknown, dflt: number): number => {
    if (value === undefined || value === null) return dflt;
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      err(key, `expected a duration such as 90s, 500ms or 1m, got ${describe(value)}`);
      return dflt;
    }
    return ms;
  };
  const stringMap = (key: string, value: unknown): Record<string, string> => {
    if (value === undefined || value === null) return {};
    if (!isRecord(value)) {
      err(key, `expected a mapping of names to strings, got ${describe(value)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else err(`${key}.${k}`, `expected a string, got ${describe(v)}`);
    }
    return out;
  };

  // protocol and path apply to hosts given without a scheme
  const protocolRaw = str('protocol', src['protocol']);
  let protocol: 'http' | 'https' | undefined;
  if (protocolRaw !== undefined) {
    if (protocolRaw === 'http' || protocolRaw === 'https') protocol = protocolRaw;
    else err('protocol', `expected http or https, got '${protocolRaw}'`);
  }
  const path = str('path', src['path']) ?? '';

  const hosts: string[] = [];
  const hostsRaw = src['hosts'];
  const hostList = typeof hostsRaw === 'string' ? [hostsRaw] : hostsRaw;
  if (hostList === undefined || hostList === null) {
    err('hosts', 'required: a list of Elasticsearch nodes, e.g. ["localhost:9200"]');
  } else if (!Array.isArray(hostList) || hostList.length === 0) {
    err('hosts', `expected a non-empty list of host names or URLs, got ${describe(hostsRaw)}`);
  } else {
    hostList.forEach((h, i) => {
      if (typeof h !== 'string' || h.trim() === '') {
        err(`hosts.${i}`, `expected a host name or URL, got ${describe(h)}`);
        return;
      }
      const normalized = normalizeHost(h.trim(), protocol, path);
      if ('error' in normalized) err(`hosts.${i}`, normalized.error);
      else hosts.push(normalized.url);
    });
  }

  const username = str('username', src['username']);
  const password = str('password', src['password']);
  const apiKey = str('api_key', src['api_key']);
  if (apiKey !== undefined && (username !== undefined || password !== undefined)) {
    err('api_key', 'cannot be used together with username/password; choose one');
  }
  if (password !== undefined && username === undefined) err('username', 'required when password is set');

  const ssl = validateSsl(src['ssl'], err);

  const backoffRaw = src['backoff'];
  let initMs: number = DEFAULTS.backoffInitMs;
  let maxMs: number = DEFAULTS.backoffMaxMs;
  if (backoffRaw !== undefined && backoffRaw !== null) {
    if (!isRecord(backoffRaw)) err('backoff', `expected a mapping with init and max, got ${describe(backoffRaw)}`);
    else {
      for (const k of Object.keys(backoffRaw)) if (!BACKOFF_KEYS.has(k)) err(`backoff.${k}`, 'unknown setting');
      initMs = duration('backoff.init', backoffRaw['init'], initMs);
      maxMs = duration('backoff.max', backoffRaw['max'], maxMs);
      if (initMs <= 0) err('backoff.init', 'expected a duration greater than 0');
      if (maxMs < initMs) err('backoff.max', `expected a duration not shorter than backoff.init`);
    }
  }

  if (src['worker'] !== undefined && src['workers'] !== undefined) err('workers', 'set either worker or workers, not both');

  const timeoutMs = duration('timeout', src['timeout'], DEFAULTS.timeoutMs);
  if (timeoutMs <= 0) err('timeout', 'expected a duration greater than 0');

  const index = str('index', src['index']) ?? `${opts.beatName}-${opts.beatVersion}`;
  if (index.trim() === '') err('index', 'must not be empty');
  const pipeline = str('pipeline', src['pipeline']);
  const proxyUrl = str('proxy_url', src['proxy_url']);
  if (proxyUrl !== undefined && !/^(https?|socks5h?):\/\//i.test(proxyUrl)) {
    err('proxy_url', `expected an http(s) URL, got '${proxyUrl}'`);
  }

  const config: ElasticsearchOutputConfig = {
    hosts,
    headers: stringMap('headers', src['headers']),
    parameters: stringMap('parameters', src['parameters']),
    ssl,
    compressionLevel: int('compression_level', src['compression_level'], DEFAULTS.compressionLevel, 0, 9),
    bulkMaxSize: int('bulk_max_size', src['bulk_max_size'], DEFAULTS.bulkMaxSize, Number.MIN_SAFE_INTEGER),
    worker: int(src['workers'] !== undefined ? 'workers' : 'worker', src['worker'] ?? src['workers'], DEFAULTS.worker, 1, 1024),
    loadbalance: bool('loadbalance', src['loadbalance'], true),
    maxRetries: int('max_retries', src['max_retries'], DEFAULTS.maxRetries, Number.MIN_SAFE_INTEGER),
    backoff: { initMs, maxMs },
    timeoutMs,
    index,
    nonIndexablePolicy: validatePolicy(src['non_indexable_policy'], err),
  };
  bool('enabled', src['enabled'], true);
  if (username !== undefined) config.username = username;
  if (password !== undefined) config.password = password;
  if (apiKey !== undefined) config.apiKey = apiKey;
  if (pipeline !== undefined && pipeline !== '') config.pipeline = pipeline;
  if (proxyUrl !== undefined) config.proxyUrl = proxyUrl;

  if (errors.length > 0) throw new ConfigErrors(errors);
  return config;
}

type ErrFn = (key: string, problem: string) => void;

function validateSsl(raw: unknown, err: ErrFn): TlsSettings {
  const tls: TlsSettings = { certificateAuthorities: [], verificationMode: 'full' };
  if (raw === undefined || raw === null) return tls;
  if (!isRecord(raw)) {
    err('ssl', `expected a mapping of TLS settings, got ${describe(raw)}`);
    return tls;
  }
  for (const k of Object.keys(raw)) if (!SSL_KEYS.has(k)) err(`ssl.${k}`, 'unknown setting');
  const cas = raw['certificate_authorities'];
  const caList = typeof cas === 'string' ? [cas] : cas;
  if (caList !== undefined && caList !== null) {
    if (!Array.isArray(caList)) err('ssl.certificate_authorities', `expected a list of PEM files, got ${describe(cas)}`);
    else {
      caList.forEach((c, i) => {
        const pem = readPem(`ssl.certificate_authorities.${i}`, c, err);
        if (pem !== undefined) tls.certificateAuthorities.push(pem);
      });
    }
  }
  const cert = raw['certificate'] === undefined ? undefined : readPem('ssl.certificate', raw['certificate'], err);
  const key = raw['key'] === undefined ? undefined : readPem('ssl.key', raw['key'], err);
  if (raw['certificate'] === undefined && raw['key'] !== undefined) err('ssl.certificate', 'required when ssl.key is set');
  if (raw['key'] === undefined && raw['certificate'] !== undefined) err('ssl.key', 'required when ssl.certificate is set');
  if (cert !== undefined) tls.certificate = cert;
  if (key !== undefined) tls.key = key;
  const pass = raw['key_passphrase'];
  if (pass !== undefined && pass !== null) {
    if (typeof pass === 'string') tls.keyPassphrase = pass;
    else err('ssl.key_passphrase', 'expected a string');
  }
  const mode = raw['verification_mode'];
  if (mode !== undefined && mode !== null) {
    if (mode === 'full' || mode === 'strict') tls.verificationMode = 'full';
    else if (mode === 'certificate' || mode === 'none') tls.verificationMode = mode;
    else err('ssl.verification_mode', `expected full, strict, certificate or none, got ${describe(mode)}`);
  }
  return tls;
}

/** A PEM block given inline, or the path of a file holding one. */
function readPem(key: string, value: unknown, err: ErrFn): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    err(key, `expected a PEM file path, got ${describe(value)}`);
    return undefined;
  }
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (e) {
    err(key, `cannot read '${value}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return undefined;
  }
}

function validatePolicy(raw: unknown, err: ErrFn): NonIndexablePolicy {
  if (raw === undefined || raw === null || raw === 'drop') return { kind: 'drop' };
  if (!isRecord(raw)) {
    err('non_indexable_policy', `expected drop or dead_letter_index, got ${describe(raw)}`);
    return { kind: 'drop' };
  }
  const names = Object.keys(raw);
  if (names.length !== 1) {
    err('non_indexable_policy', `expected exactly one policy (drop or dead_letter_index), got ${names.length === 0 ? 'none' : names.join(', ')}`);
    return { kind: 'drop' };
  }
  const name = names[0]!;
  const body = raw[name];
  if (name === 'drop') {
    if (body !== null && body !== undefined && !(isRecord(body) && Object.keys(body).length === 0)) {
      err('non_indexable_policy.drop', 'takes no settings');
    }
    return { kind: 'drop' };
  }
  if (name === 'dead_letter_index') {
    const index = isRecord(body) ? body['index'] : undefined;
    if (isRecord(body)) {
      for (const k of Object.keys(body)) if (k !== 'index') err(`non_indexable_policy.dead_letter_index.${k}`, 'unknown setting');
    }
    if (typeof index !== 'string' || index.trim() === '') {
      err('non_indexable_policy.dead_letter_index.index', 'required: the index that receives documents Elasticsearch rejected');
      return { kind: 'drop' };
    }
    return { kind: 'dead_letter_index', index };
  }
  err(`non_indexable_policy.${name}`, `unknown policy '${name}', expected drop or dead_letter_index`);
  return { kind: 'drop' };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}
