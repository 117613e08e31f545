import { stringify } from 'yaml';
import { isPlainObject } from './keys.js';
import { schemaLeaves } from './schema/index.js';
import type { ProcbeatConfig } from './types.js';

/** Setting names whose values are secrets wherever they appear. */
const SECRET_KEY = /(^|_)(password|passphrase|api_key|apikey|token|secret|key_passphrase)$/i;
export const MASK = 'xxxxx';

/** A copy of `value` with every secret replaced by `xxxxx`, including passwords inside URLs. */
export function maskSecrets(value: unknown, sensitive: ReadonlySet<string> = new Set(), at = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, sensitive, at));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = at === '' ? k : `${at}.${k}`;
      out[k] = v !== null && v !== undefined && (SECRET_KEY.test(k) || sensitive.has(key)) && !isPlainObject(v)
        ? MASK
        : maskSecrets(v, sensitive, key);
    }
    return out;
  }
  if (typeof value === 'string') return maskUrlPassword(value);
  return value;
}

function maskUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^/@\s]+@/i, `$1:${MASK}@`);
}

/**
 * The configuration procbeat runs with: global settings with defaults and resolved paths,
 * plus the sections other components validate, as given. Secrets masked.
 */
export function effectiveConfig(config: ProcbeatConfig): Record<string, unknown> {
  const settings = structuredClone(config.settings) as Record<string, unknown>;
  settings['name'] = config.name;
  settings['path'] = { ...config.path };
  const logging = settings['logging'] as { files: Record<string, unknown> };
  logging.files['path'] = config.logging.files.path;
  // Only the queue in use, so the output can be fed back in (both at once is an error).
  const queue = settings['queue'] as Record<string, Record<string, unknown>>;
  if (config.queue.disk) {
    delete queue['mem'];
    queue['disk']!['path'] = config.queue.disk.path;
    queue['disk']!['segment_size'] = config.queue.disk.segmentSize;
  } else {
    delete queue['disk'];
  }
  const out: Record<string, unknown> = { ...settings };
  for (const key of ['output', 'processors', 'setup'] as const) {
    const v = config.tree[key];
    if (v !== undefined && v !== null && !Object.hasOwn(out, key)) out[key] = v;
  }
  for (const list of config.modules) {
    const [parent, child] = list.key.split('.') as [string, string];
    out[parent] = { ...(out[parent] as Record<string, unknown> | undefined), [child]: list.blocks };
  }
  const sensitive = new Set(schemaLeaves().filter(([, l]) => l.sensitive === true).map(([k]) => k));
  return maskSecrets(out, sensitive) as Record<string, unknown>;
}

export function effectiveConfigYaml(config: ProcbeatConfig): string {
  return stringify(effectiveConfig(config), { lineWidth: 0 });
}
