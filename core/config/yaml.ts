import { parseDocument, type Tags } from 'yaml';

/**
 * YAML as beats reads it (YAML 1.1, like go-yaml): `yes`/`on` are booleans, `0600` is octal
 * (file permissions), `<<` merges. Timestamps, sexagesimal numbers and binary stay out so
 * strings like `2024-01-01` or `12:30` are not turned into dates or numbers behind the user's back.
 */
const DROPPED_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:set',
]);

const BOOL_TAG = 'tag:yaml.org,2002:bool';
// YAML 1.1 also reads a lone `y` or `n` as a boolean, which turns `y: 1` into `true: 1`.
const STRICTER_BOOL = [
  /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
];

function beatsTags(tags: Tags): Tags {
  let bools = 0;
  return tags.flatMap((t): Tags => {
    if (typeof t !== 'object' || t === null) return [t];
    const tag = t as { tag?: string; format?: string; test?: RegExp };
    if (tag.tag !== undefined && DROPPED_TAGS.has(tag.tag)) return [];
    if (tag.format === 'TIME') return [];
    if (tag.tag === BOOL_TAG && tag.test !== undefined) {
      const test = STRICTER_BOOL[bools++] ?? tag.test;
      return [{ ...t, test } as typeof t];
    }
    return [t];
  });
}

export interface YamlProblem {
  line: number | undefined;
  message: string;
}

export type YamlResult = { ok: true; value: unknown } | { ok: false; problems: YamlProblem[] };

export function parseBeatsYaml(text: string): YamlResult {
  const doc = parseDocument(text, {
    version: '1.1',
    merge: true,
    uniqueKeys: true,
    prettyErrors: true,
    customTags: beatsTags,
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line,
        message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      })),
    };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) as unknown };
}

/** A `-E` value: a YAML scalar or flow collection; anything else stays the literal string. */
export function parseFlagValue(text: string): YamlResult {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: '' };
  const result = parseBeatsYaml(trimmed);
  const flow = trimmed.startsWith('[') || trimmed.startsWith('{');
  if (!result.ok) return flow ? result : { ok: true, value: text };
  const v = result.value;
  if (v === null && !/^(null|Null|NULL|~)$/.test(trimmed)) return { ok: true, value: text };
  if (flow || v === null || typeof v !== 'object') return result;
  return { ok: true, value: text };
}
