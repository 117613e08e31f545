import { ConfigErrors } from '../config/errors.js';
import { buildAddFields } from './add-fields.js';
import { buildAddDockerMetadata } from './add-docker-metadata/index.js';
import { buildAddHostMetadata } from './add-host-metadata.js';
import { buildCondition, type Condition } from './conditions.js';
import { buildDropEvent } from './drop-event.js';
import { buildDropFields } from './drop-fields.js';
import { Problems, Section, describe, expandDots, isRecord } from './options.js';
import type { BuildContext, Processor, ProcessorBuilder } from './types.js';

export type { BuildContext, Processor, ProcessorResult } from './types.js';
export { ProcessorError } from './types.js';

const BUILDERS: Record<string, ProcessorBuilder> = {
  add_host_metadata: buildAddHostMetadata,
  add_docker_metadata: buildAddDockerMetadata,
  add_fields: buildAddFields,
  drop_fields: buildDropFields,
  drop_event: buildDropEvent,
};

export const PROCESSOR_NAMES: readonly string[] = Object.keys(BUILDERS);

function guarded(p: Processor, when: Condition): Processor {
  return {
    name: p.name,
    run: (event) => (when.check(event) ? p.run(event) : event),
    ...(p.start ? { start: () => p.start!() } : {}),
    ...(p.close ? { close: () => p.close!() } : {}),
  };
}

/**
 * Builds a beats `processors` list: each item a one-key map `{<name>: <settings>}`, an
 * optional `when` inside the settings. Reports every problem at once as ConfigErrors,
 * keys like `processors[1].drop_fields.fields`.
 */
export async function buildProcessors(list: unknown, ctx: BuildContext): Promise<Processor[]> {
  const problems = new Problems(ctx.file);
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    problems.add(ctx.key, `expected a list of processors, got ${describe(list)}`);
    throw new ConfigErrors(problems.errors);
  }
  const out: Processor[] = [];
  for (let i = 0; i < list.length; i++) {
    const itemKey = `${ctx.key}[${i}]`;
    const item = list[i];
    if (!isRecord(item) || Object.keys(item).length !== 1) {
      problems.add(
        itemKey,
        isRecord(item)
          ? `expected exactly one processor name, found: ${Object.keys(item).join(', ') || 'none'}`
          : `expected a map like {drop_fields: {...}}, got ${describe(item)}`,
      );
      continue;
    }
    const name = Object.keys(item)[0]!;
    const key = `${itemKey}.${name}`;
    const builder = BUILDERS[name];
    if (!builder) {
      problems.add(itemKey, `unknown processor '${name}'; available: ${PROCESSOR_NAMES.join(', ')}`);
      continue;
    }
    const rawSettings = item[name];
    if (rawSettings !== null && rawSettings !== undefined && !isRecord(rawSettings)) {
      problems.add(key, `expected a map of settings, got ${describe(rawSettings)}`);
      continue;
    }
    const settings = (expandDots(rawSettings ?? {}, key, problems) ?? {}) as Record<string, unknown>;
    const section = new Section(settings, key, problems);
    const before = problems.errors.length;
    const when = settings.when === undefined ? null : buildCondition(settings.when, `${key}.when`, problems);
    const processor = await builder(section, ctx);
    if (!processor || problems.errors.length > before) continue;
    out.push(when ? guarded(processor, when) : processor);
  }
  if (problems.errors.length > 0) throw new ConfigErrors(problems.errors);
  return out;
}
