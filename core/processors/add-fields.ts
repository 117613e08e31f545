import type { Fields } from '../api/event.js';
import { deepUpdate } from './fields.js';
import { describe, isRecord } from './options.js';
import type { ProcessorBuilder } from './types.js';

/**
 * `add_fields`: merges `fields` under `target` (default `fields`; `""` puts them at the root).
 * Existing objects are merged, existing values replaced, as beats does.
 */
export const buildAddFields: ProcessorBuilder = (section) => {
  section.known(['target', 'fields', 'when']);
  const target = section.string('target', 'fields');
  const raw = section.get('fields');
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    section.problems.add(
      section.at('fields'),
      raw === undefined || raw === null ? 'is required: a map of fields to add' : `expected a non-empty map, got ${isRecord(raw) ? 'an empty map' : describe(raw)}`,
    );
    return null;
  }
  let addition = raw as Fields;
  if (target !== '') {
    for (const part of target.split('.').reverse()) addition = { [part]: addition };
  }
  const frozen = addition;
  return {
    name: 'add_fields',
    run(event) {
      deepUpdate(event.fields, frozen);
      return event;
    },
  };
};
