import type { SchemaSection } from './section.js';

/** Top-level settings of the shipper itself. */
export const generalSchema: SchemaSection = {
  name: {
    doc: 'The name of this shipper, sent as agent.name; defaults to the hostname.',
    format: 'text',
    default: null,
    nullable: true,
  },
  tags: {
    doc: 'Tags added to every event in the `tags` field.',
    format: 'string-list',
    default: [],
  },
  fields: {
    doc: 'Extra fields added to every event, under `fields` (or at the root with fields_under_root).',
    format: 'mapping',
    default: {},
  },
  fields_under_root: {
    doc: 'Put `fields` at the root of the event instead of under `fields`.',
    format: 'bool',
    default: false,
  },
  shutdown_timeout: {
    doc: 'How long SIGINT/SIGTERM waits for queued events to reach the output before exiting.',
    format: 'duration-beats',
    default: '5s',
  },
};
