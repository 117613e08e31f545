import { readFileSync } from 'node:fs';
import { DURATION_HINT, parseDuration } from '../../config/duration.js';
import { describe, type Section } from '../options.js';

/** Where and how to reach the Docker Engine API (also what Podman serves). */
export type Endpoint =
  | { kind: 'socket'; socketPath: string }
  | { kind: 'tcp'; protocol: 'http' | 'https'; host: string; port: number; ca?: Buffer; cert?: Buffer; key?: Buffer };

export interface DockerMetadataSettings {
  endpoint: Endpoint;
  /** The `host` setting as written, for logs. */
  hostText: string;
  /** Fields that may hold a container id, tried in order. */
  matchFields: string[];
  /** Take the id from `log.file.path` (component `matchSourceIndex`). */
  matchSource: boolean;
  matchSourceIndex: number;
  /** Fields holding pids whose /proc/<pid>/cgroup names the container. */
  matchPids: string[];
  /** Also match the 12-character short id. */
  matchShortId: boolean;
  /** How long a stopped container's metadata is kept for late events. */
  cleanupTimeoutMs: number;
  /** Replace dots in label keys with `_`. */
  labelsDedot: boolean;
  /** How long one container's events are held while its metadata is looked up. */
  holdTimeoutMs: number;
  /** Held events at once, over all containers; past it events ship without metadata. */
  holdMaxEvents: number;
  /** Containers remembered at once (running, stopped within cleanup_timeout, and unknown ids). */
  cacheMaxEntries: number;
  /** One API call's time limit (list, inspect, version). */
  requestTimeoutMs: number;
}

/** Every setting's default, in one place (docs/containers.md lists the same). */
export const DEFAULTS = {
  host: 'unix:///var/run/docker.sock',
  match_fields: ['container.id'],
  match_source: true,
  match_source_index: 4,
  match_pids: [] as string[],
  match_short_id: false,
  cleanup_timeout: '60s',
  'labels.dedot': false,
  hold_timeout: '300ms',
  hold_max_events: 10_000,
  'cache.max_entries': 10_000,
  request_timeout: '5s',
} as const;

export const KNOWN_SETTINGS = [
  'host', 'match_fields', 'match_source', 'match_source_index', 'match_pids', 'match_short_id',
  'cleanup_timeout', 'labels.dedot', 'hold_timeout', 'hold_max_events', 'cache.max_entries', 'request_timeout',
  'ssl.enabled', 'ssl.certificate_authority', 'ssl.certificate', 'ssl.key', 'when',
] as const;

export function readSettings(section: Section): DockerMetadataSettings {
  section.known(KNOWN_SETTINGS);
  const hostText = section.string('host', DEFAULTS.host);
  return {
    endpoint: endpointOf(section, hostText),
    hostText,
    matchFields: optionalList(section, 'match_fields', DEFAULTS.match_fields),
    matchSource: section.bool('match_source', DEFAULTS.match_source),
    matchSourceIndex: integer(section, 'match_source_index', DEFAULTS.match_source_index, 0),
    matchPids: optionalList(section, 'match_pids', DEFAULTS.match_pids),
    matchShortId: section.bool('match_short_id', DEFAULTS.match_short_id),
    cleanupTimeoutMs: duration(section, 'cleanup_timeout', DEFAULTS.cleanup_timeout),
    labelsDedot: section.bool('labels.dedot', DEFAULTS['labels.dedot']),
    holdTimeoutMs: duration(section, 'hold_timeout', DEFAULTS.hold_timeout),
    holdMaxEvents: integer(section, 'hold_max_events', DEFAULTS.hold_max_events, 0),
    cacheMaxEntries: integer(section, 'cache.max_entries', DEFAULTS['cache.max_entries'], 1),
    requestTimeoutMs: duration(section, 'request_timeout', DEFAULTS.request_timeout, 1),
  };
}

function endpointOf(section: Section, host: string): Endpoint {
  const key = section.at('host');
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    section.problems.add(key, `expected unix:///path/to/docker.sock, tcp://host:port or https://host:port, got ${JSON.stringify(host)}`);
    return { kind: 'socket', socketPath: '/var/run/docker.sock' };
  }
  if (url.protocol === 'unix:') {
    if (url.pathname === '' || url.pathname === '/') section.problems.add(key, `a unix socket needs a path, e.g. unix:///var/run/docker.sock; got ${JSON.stringify(host)}`);
    return { kind: 'socket', socketPath: decodeURIComponent(url.pathname) };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    section.problems.add(key, `unsupported scheme '${url.protocol.slice(0, -1)}'; expected unix, tcp, http or https`);
    return { kind: 'socket', socketPath: '/var/run/docker.sock' };
  }
  const sslEnabled = section.bool('ssl.enabled', section.has('ssl.certificate_authority') || section.has('ssl.certificate') || url.protocol === 'https:');
  const protocol = sslEnabled ? 'https' : 'http';
  const port = url.port !== '' ? Number(url.port) : sslEnabled ? 2376 : 2375;
  const tls = sslEnabled
    ? {
        ...pem(section, 'ssl.certificate_authority', 'ca'),
        ...pem(section, 'ssl.certificate', 'cert'),
        ...pem(section, 'ssl.key', 'key'),
      }
    : {};
  if (sslEnabled && (tls.cert === undefined) !== (tls.key === undefined)) {
    section.problems.add(section.at('ssl'), 'ssl.certificate and ssl.key go together: give both or neither');
  }
  return { kind: 'tcp', protocol, host: url.hostname, port, ...tls };
}

function pem<K extends 'ca' | 'cert' | 'key'>(section: Section, name: string, as: K): Partial<Record<K, Buffer>> {
  if (!section.has(name)) return {};
  const path = section.string(name, '');
  try {
    return { [as]: readFileSync(path) } as Partial<Record<K, Buffer>>;
  } catch (err) {
    section.problems.add(section.at(name), `cannot read ${path}: ${(err as Error).message}`);
    return {};
  }
}

function optionalList(section: Section, name: string, dflt: readonly string[]): string[] {
  const v = section.get(name);
  if (v === undefined || v === null) return [...dflt];
  if (Array.isArray(v) && v.length === 0) return [];
  return section.stringList(name);
}

function duration(section: Section, name: string, dflt: string, minMs = 0): number {
  const v = section.get(name);
  const ms = parseDuration(v === undefined || v === null ? dflt : v);
  if (ms === undefined || ms < minMs) {
    section.problems.add(section.at(name), `${DURATION_HINT}${minMs > 0 ? ' (more than 0)' : ''}; got ${describe(v)}`);
    return parseDuration(dflt)!;
  }
  return ms;
}

function integer(section: Section, name: string, dflt: number, min: number): number {
  const v = section.get(name);
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    section.problems.add(section.at(name), `expected an integer >= ${min}, got ${describe(v)}`);
    return dflt;
  }
  return n;
}
