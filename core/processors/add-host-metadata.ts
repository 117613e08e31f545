import { cloneValue, isFields } from './fields.js';
import { gatherHostInfo, hostInfoFields } from './host-info.js';
import type { ProcessorBuilder } from './types.js';

/**
 * `add_host_metadata`: sets `host.*` from facts gathered once when the processor is built.
 * With `replace_fields: false` an event that already carries host fields other than
 * `host.name` keeps them untouched (beats' rule).
 */
export const buildAddHostMetadata: ProcessorBuilder = async (section, ctx) => {
  section.known(['netinfo.enabled', 'replace_fields', 'when']);
  const netinfo = section.bool('netinfo.enabled', true);
  const replace = section.bool('replace_fields', true);
  const host = hostInfoFields(await gatherHostInfo({ name: ctx.info.hostname, hostId: ctx.info.hostId, netinfo }));
  return {
    name: 'add_host_metadata',
    run(event) {
      if (!replace) {
        const current = event.fields.host;
        if (isFields(current) && Object.keys(current).some((k) => k !== 'name' && current[k] !== undefined)) return event;
      }
      event.fields.host = cloneValue(host);
      return event;
    },
  };
};
