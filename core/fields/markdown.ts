import type { FieldDefinition } from './types.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The type, and each multi-field a query can also use, e.g. `keyword (also .text: match_only_text)`. */
function typeCell(d: FieldDefinition): string {
  const also = (d.multiFields ?? []).map((m) => `\`.${m.name}\`: ${m.type}`);
  return also.length > 0 ? `${d.type} (also ${also.join(', ')})` : d.type;
}

/** docs/fields.md: one table per top-level group of fields.yml, in file order. */
export function fieldsMarkdown(defs: readonly FieldDefinition[]): string {
  const groups = new Map<string, FieldDefinition[]>();
  for (const d of defs) {
    const list = groups.get(d.group) ?? [];
    list.push(d);
    groups.set(d.group, list);
  }
  const out: string[] = [
    '# Fields',
    '',
    'Every field a procbeat document may carry, generated from `fields.yml` by',
    '`node dist/core/fields/write-docs.js` (a test fails when this file is out of date).',
    'Custom fields ECS has no place for live under `procbeat.process.*`.',
    '',
  ];
  for (const [group, list] of groups) {
    out.push(`## ${group}`, '', '| Field | Type | Description |', '|---|---|---|');
    for (const d of list) out.push(`| \`${d.name}\` | ${typeCell(d)} | ${cell(d.description)} |`);
    out.push('');
  }
  return out.join('\n');
}
