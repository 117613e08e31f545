import type { Fields } from '../api/event.js';
import { deletePath, isFields } from './fields.js';
import { compileGoStyleRegexp } from './conditions.js';
import { ProcessorError, type ProcessorBuilder } from './types.js';

// beats never lets these go: every document needs them.
const PROTECTED = new Set(['@timestamp', 'type']);

/**
 * `drop_fields`: removes `fields` (names, or `/regexp/` matched against every key path).
 * A named field that is absent is an error unless `ignore_missing: true`; the other
 * fields are still dropped.
 */
export const buildDropFields: ProcessorBuilder = (section) => {
  section.known(['fields', 'ignore_missing', 'when']);
  const names = section.stringList('fields');
  const ignoreMissing = section.bool('ignore_missing', false);
  const plain: string[] = [];
  const patterns: RegExp[] = [];
  names.forEach((name, i) => {
    if (name.length > 2 && name.startsWith('/') && name.endsWith('/')) {
      try {
        patterns.push(compileGoStyleRegexp(name.slice(1, -1)));
      } catch (err) {
        section.problems.add(`${section.at('fields')}[${i}]`, `invalid regular expression ${JSON.stringify(name)}: ${(err as Error).message}`);
      }
    } else if (!PROTECTED.has(name)) {
      plain.push(name);
    }
  });
  if (names.length === 0) return null;
  return {
    name: 'drop_fields',
    run(event) {
      let missing: string[] | undefined;
      for (const name of plain) {
        if (!deletePath(event.fields, name) && !ignoreMissing) (missing ??= []).push(name);
      }
      for (const re of patterns) dropMatching(event.fields, re, '');
      if (missing) throw new ProcessorError(`failed to drop field [${missing.join(', ')}]: key not found`, event);
      return event;
    },
  };
};

function dropMatching(obj: Fields, re: RegExp, prefix: string): void {
  for (const key of Object.keys(obj)) {
    const path = prefix + key;
    if (PROTECTED.has(path)) continue;
    if (re.test(path)) {
      delete obj[key];
      continue;
    }
    const child = obj[key];
    if (isFields(child)) dropMatching(child, re, `${path}.`);
  }
}
