import type { SchemaSection } from './section.js';

/** Where procbeat keeps its state and logs; relative paths are relative to path.home. */
export const pathSchema: SchemaSection = {
  path: {
    home: {
      doc: 'The home directory; other paths default to folders below it. Default: the working directory.',
      format: 'text',
      default: null,
      nullable: true,
    },
    config: {
      doc: 'The directory a relative -c file is looked up in. Default: path.home.',
      format: 'text',
      default: null,
      nullable: true,
    },
    data: {
      doc: 'State directory (meta.json with the beat uuid). Default: <path.home>/data.',
      format: 'text',
      default: null,
      nullable: true,
    },
    logs: {
      doc: 'Log directory. Default: <path.home>/logs.',
      format: 'text',
      default: null,
      nullable: true,
    },
  },
};
