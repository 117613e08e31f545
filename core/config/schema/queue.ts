import type { SchemaSection } from './section.js';

/**
 * The queue between datasets and the output (beats names and defaults). `queue.mem` is used
 * unless `queue.disk` is set; setting both is an error (load.ts checks the file, since the
 * defaults below always fill both).
 */
export const queueSchema: SchemaSection = {
  queue: {
    mem: {
      events: {
        doc: 'How many events the queue holds; producers wait when it is full.',
        format: 'positive-int',
        default: 3200,
      },
      bytes: {
        doc: 'Most bytes of encoded events the queue holds (queued and not yet acknowledged); producers wait at this size too. 0: events alone bound it.',
        format: 'byte-size',
        default: '16MiB',
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
    disk: {
      path: {
        doc: 'Directory of the disk queue (created 0700). Default: <path.data>/diskqueue.',
        format: 'text',
        default: null,
        nullable: true,
      },
      max_size: {
        doc: 'Most bytes the queue takes on disk; at this size datasets wait (backpressure). At least 10MB.',
        format: 'byte-size',
        default: '10GB',
      },
      segment_size: {
        doc: 'Size of one segment file; acknowledged segments are deleted whole. At least 1MB. Default: max_size / 10.',
        format: 'byte-size',
        default: null,
        nullable: true,
      },
      read_ahead: {
        doc: 'Events read from disk and handed to the output but not yet acknowledged, at most.',
        format: 'positive-int',
        default: 512,
      },
      write_ahead: {
        doc: 'Events accepted and held in memory until they are written, at most.',
        format: 'positive-int',
        default: 2048,
      },
      retry_interval: {
        doc: 'After a failed write (e.g. disk full), the first wait before trying again.',
        format: 'duration-beats',
        default: '1s',
      },
      max_retry_interval: {
        doc: 'The longest wait between write retries (the wait doubles up to this).',
        format: 'duration-beats',
        default: '30s',
      },
    },
  },
};
