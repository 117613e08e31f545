import type { SchemaSection } from './section.js';

/** How procbeat gives memory back (docs/memory.md). */
export const memorySchema: SchemaSection = {
  memory: {
    release_after: {
      doc: 'After a burst of events, once procbeat has been nearly idle this long and at least 16 MiB of its V8 heap is unused, a full garbage collection returns that heap to the system; while 16 MiB stay unused (V8 keeps its young generation through the first one), up to two more follow, 6 s apart. 0 turns it off.',
      format: 'duration-beats',
      default: '2s',
    },
  },
};
