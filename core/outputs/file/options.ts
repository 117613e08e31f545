import { isAbsolute, resolve } from 'node:path';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { optionsParser, type OutputWhere } from '../registry.js';

/** `output.file` settings after defaults, as the output uses them. */
export interface FileOptions {
  path: string;
  filename: string;
  rotateEveryKb: number;
  numberOfFiles: number;
  rotateOnStartup: boolean;
  permissions: number;
}

interface RawFileSettings {
  path?: string;
  filename?: string;
  rotate_every_kb: number;
  number_of_files: number;
  rotate_on_startup: boolean;
  permissions: string | number;
}

const parseRaw = optionsParser<RawFileSettings>({
  type: 'object',
  properties: {
    path: { type: 'string', minLength: 1 },
    filename: { type: 'string', minLength: 1, pattern: '^[^/]+$' },
    rotate_every_kb: { type: 'integer', minimum: 1, default: 10240 },
    number_of_files: { type: 'integer', minimum: 2, maximum: 1024, default: 7 },
    rotate_on_startup: { type: 'boolean', default: true },
    permissions: { type: ['string', 'integer'], default: '0600' },
  },
  required: [],
  additionalProperties: false,
});

/**
 * File permission bits, beats-style: an octal string ("0600", "600", "0o600"), or a YAML
 * number. YAML 1.2 reads an unquoted 0600 as decimal 600 and 0o600 as 384. So a number
 * above 0o777 whose digits are all octal (600, 640, 644, 755) is read as those octal digits,
 * and a number up to 0o777 is the mode itself. Quoting the value avoids the guesswork.
 */
export function parsePermissions(v: string | number): number | undefined {
  let mode: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return undefined;
    mode = v > 0o777 && /^[0-7]+$/.test(String(v)) ? parseInt(String(v), 8) : v;
  } else {
    const m = /^(?:0o|0)?([0-7]{1,4})$/i.exec(v.trim());
    if (!m) return undefined;
    mode = parseInt(m[1]!, 8);
  }
  return mode <= 0o777 ? mode : undefined;
}

export function parseFileOptions(config: Record<string, unknown>, where: OutputWhere): FileOptions {
  const raw = parseRaw(config, where);
  const permissions = parsePermissions(raw.permissions);
  if (permissions === undefined) {
    throw new ConfigErrors([
      new ConfigError(where.file, `${where.key}.permissions`, `expected octal file permissions like "0600" (at most 0777), got ${JSON.stringify(raw.permissions)}`),
    ]);
  }
  const dir = raw.path ?? where.info.paths.data;
  return {
    path: isAbsolute(dir) ? dir : resolve(dir),
    filename: raw.filename ?? where.info.name,
    rotateEveryKb: raw.rotate_every_kb,
    numberOfFiles: raw.number_of_files,
    rotateOnStartup: raw.rotate_on_startup,
    permissions,
  };
}
