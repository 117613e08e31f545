import type { SchemaSection } from './section.js';

/** The memory queue between datasets and the output (beats defaults). */
export const queueSchema: SchemaSection = {
  queue: {
    mem: {
      events: {
        doc: 'How many events the queue holds; producers wait when it is full.',
        format: 'positive-int',
        default: 3200,
      },
      flush: {
        min_events: {
          doc: 'The output gets a batch once this many events are queued (or flush.timeout passed).',
          format: 'non-negative-int',
          default: 1600,
        },
        timeout: {
          doc: 'The longest a queued event waits for a batch to fill up.',
          format: 'duration-beats',
          default: '10s',
        },
      },
    },
  },
};
