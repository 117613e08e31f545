import convict from 'convict';
import { BYTE_SIZE_HINT, parseByteSize } from '../bytesize.js';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { isPlainObject } from '../keys.js';

/**
 * Convict formats for beats-style settings. Values stay as the user wrote them
 * (`10s`, `100MiB`); `load.ts` converts them into numbers for the typed config.
 * Messages are what the user reads after `<file>: <key>: `.
 */
let registered = false;

export function registerFormats(): void {
  if (registered) return;
  registered = true;
  convict.addFormat({
    name: 'duration-beats',
    validate(v: unknown) {
      if (parseDuration(v) === undefined) throw new Error(DURATION_HINT);
    },
  });
  convict.addFormat({
    name: 'byte-size',
    validate(v: unknown) {
      if (parseByteSize(v) === undefined) throw new Error(BYTE_SIZE_HINT);
    },
  });
  convict.addFormat({
    name: 'positive-int',
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error('must be a positive integer');
    },
  });
  convict.addFormat({
    name: 'non-negative-int',
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error('must be an integer >= 0');
    },
  });
  convict.addFormat({
    name: 'tcp-port',
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
        throw new Error('must be a port number from 0 to 65535');
      }
    },
  });
  convict.addFormat({
    name: 'bool',
    validate(v: unknown) {
      if (typeof v !== 'boolean') throw new Error('must be true or false');
    },
  });
  convict.addFormat({
    name: 'text',
    validate(v: unknown) {
      if (typeof v !== 'string') throw new Error('must be a string');
    },
  });
  convict.addFormat({
    name: 'nonempty-text',
    validate(v: unknown) {
      if (typeof v !== 'string' || v.trim() === '') throw new Error('must be a non-empty string');
    },
  });
  convict.addFormat({
    name: 'string-list',
    validate(v: unknown) {
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error('must be a list of strings');
    },
  });
  convict.addFormat({
    name: 'mapping',
    validate(v: unknown) {
      if (!isPlainObject(v)) throw new Error('must be a mapping of keys to values');
    },
  });
  convict.addFormat({
    name: 'file-mode',
    validate(v: unknown) {
      // YAML 1.1 reads 0600 as octal already; a quoted '0600' is octal text.
      const ok = typeof v === 'number'
        ? Number.isInteger(v) && v >= 0 && v <= 0o777
        : typeof v === 'string' && /^0?[0-7]{3}$/.test(v);
      if (!ok) throw new Error('must be a file mode such as 0600');
    },
  });
}

/** Reads a `file-mode` value (number or octal text) as a number. */
export function fileMode(v: unknown): number {
  return typeof v === 'number' ? v : parseInt(String(v), 8);
}
