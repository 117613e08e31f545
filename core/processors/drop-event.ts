import type { ProcessorBuilder } from './types.js';

/** Drops every event it sees; with `when`, only the matching ones. */
export const buildDropEvent: ProcessorBuilder = (section, ctx) => {
  section.known(['when']);
  if (!section.has('when')) ctx.logger.warn({ key: section.key }, `${section.key} has no 'when' condition: every event will be dropped`);
  return { name: 'drop_event', run: () => null };
};
