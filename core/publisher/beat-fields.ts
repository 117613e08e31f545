import { randomUUID } from 'node:crypto';
import type { BeatInfo } from '../api/dataset.js';
import type { BeatEvent, Fields } from '../api/event.js';
import { deepFill, deepUpdate } from '../processors/fields.js';

export const ECS_VERSION = '8.17.0';

export interface GlobalFields {
  /** The top-level `fields` setting: custom fields for every event. */
  fields?: Fields;
  /** `fields_under_root`: put them at the root instead of under `fields`. */
  fieldsUnderRoot?: boolean;
  /** The top-level `tags` setting, appended to each event's `tags`. */
  tags?: readonly string[];
  /** The beat's `name` setting (agent.name, host.name); default: the hostname. */
  name?: string;
  /** This run's id, shared with monitoring; default: a fresh UUID. */
  ephemeralId?: string;
}

/**
 * The fields beats adds to every event before the processors run: `agent.*` (who shipped
 * it), `ecs.version`, `host.name`, then the global `fields` and `tags`. Values the dataset
 * set itself win over the agent defaults; global fields win over the dataset's, as in beats.
 */
export function makeBeatFields(info: BeatInfo, global: GlobalFields = {}): (event: BeatEvent) => void {
  const ephemeralId = global.ephemeralId || randomUUID();
  const name = global.name || info.hostname;
  const builtin: Fields = {
    agent: { type: info.name, name, id: info.uuid, version: info.version, ephemeral_id: ephemeralId },
    ecs: { version: ECS_VERSION },
    host: { name },
  };
  const custom = global.fields && Object.keys(global.fields).length > 0 ? global.fields : undefined;
  const customPlaced: Fields | undefined = custom && (global.fieldsUnderRoot ? custom : { fields: custom });
  const tags = global.tags && global.tags.length > 0 ? global.tags : undefined;
  return (event) => {
    deepFill(event.fields, builtin);
    if (customPlaced) deepUpdate(event.fields, customPlaced);
    if (tags) {
      const current = event.fields.tags;
      const list: string[] = Array.isArray(current) ? current.filter((t): t is string => typeof t === 'string') : typeof current === 'string' ? [current] : [];
      for (const t of tags) if (!list.includes(t)) list.push(t);
      event.fields.tags = list;
    }
  };
}
