import type { SchemaSection } from './section.js';

/** The monitoring HTTP endpoint: `/`, `/stats`, `/state`, `/metrics`. */
export const httpSchema: SchemaSection = {
  http: {
    enabled: {
      doc: 'Serve the monitoring endpoint.',
      format: 'bool',
      default: false,
    },
    host: {
      doc: 'The address to listen on.',
      format: 'nonempty-text',
      default: 'localhost',
    },
    port: {
      doc: 'The TCP port to listen on (0 picks a free port and logs it).',
      format: 'tcp-port',
      default: 5066,
    },
  },
};
