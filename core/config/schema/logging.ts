import type { SchemaSection } from './section.js';

/** procbeat's own logs: ECS JSON lines to stderr or to rotating files. */
export const loggingSchema: SchemaSection = {
  logging: {
    level: {
      doc: 'The least severe level logged.',
      format: ['debug', 'info', 'warning', 'error'],
      default: 'info',
    },
    to_stderr: {
      doc: 'Log to stderr instead of files (the -e flag sets this).',
      format: 'bool',
      default: false,
    },
    to_files: {
      doc: 'Log to files in logging.files.path (ignored when logging to stderr).',
      format: 'bool',
      default: true,
    },
    files: {
      path: {
        doc: 'The log directory. Default: path.logs.',
        format: 'text',
        default: null,
        nullable: true,
      },
      name: {
        doc: 'The log file name; the file is <name>.ndjson, rotated to <name>.ndjson.1 and so on.',
        format: 'nonempty-text',
        default: 'procbeat',
      },
      rotateeverybytes: {
        doc: 'Rotate the log file when it reaches this size.',
        format: 'byte-size',
        default: '10MiB',
      },
      keepfiles: {
        doc: 'How many rotated files to keep (2 to 1024).',
        format: 'positive-int',
        default: 7,
      },
      permissions: {
        doc: 'The mode of log files.',
        format: 'file-mode',
        default: '0600',
      },
    },
    metrics: {
      enabled: {
        doc: 'Log the metrics that changed every logging.metrics.period.',
        format: 'bool',
        default: true,
      },
      period: {
        doc: 'How often to log changed metrics.',
        format: 'duration-beats',
        default: '30s',
      },
    },
  },
};
