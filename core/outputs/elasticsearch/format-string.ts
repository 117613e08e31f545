import type { Fields, FieldValue } from '../../api/event.js';

/**
 * Beats format strings for `index` and `pipeline`: literal text with `%{[dotted.field]}`,
 * `%{[dotted.field]:fallback}` and `%{+yyyy.MM.dd}` (the event's UTC date). Compiled once.
 */
export interface FormatString {
  readonly source: string;
  /** True when the result is the same for every event. */
  readonly constant: boolean;
  /** The text for this event, or an error naming the field that is missing. */
  render(fields: Fields, timestamp: Date): { value: string } | { error: string };
}

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'field'; path: string[]; name: string; fallback?: string }
  | { kind: 'date'; pattern: string };

const TOKEN = /%\{(\[[^\]]+\](?::[^}]*)?|\+[^}]+)\}/g;

export function compileFormatString(
  source: string,
  fallbacks: Readonly<Record<string, string>> = {},
): FormatString | { error: string } {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(TOKEN)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    const body = m[1]!;
    if (body.startsWith('+')) {
      parts.push({ kind: 'date', pattern: body.slice(1) });
    } else {
      const close = body.indexOf(']');
      const name = body.slice(1, close);
      const rest = body.slice(close + 1);
      const part: Part = { kind: 'field', path: name.split('.'), name };
      const fallback = rest.startsWith(':') ? rest.slice(1) : fallbacks[name];
      if (fallback !== undefined) part.fallback = fallback;
      parts.push(part);
    }
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  const leftover = parts.find((p) => p.kind === 'text' && p.text.includes('%{'));
  if (leftover) return { error: `cannot parse '${source}': use %{[field.name]} or %{+yyyy.MM.dd}` };

  const constant = parts.every((p) => p.kind === 'text');
  return {
    source,
    constant,
    render(fields, timestamp) {
      let out = '';
      for (const p of parts) {
        if (p.kind === 'text') out += p.text;
        else if (p.kind === 'date') out += formatDate(p.pattern, timestamp);
        else {
          const v = lookup(fields, p.path, p.name);
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out += String(v);
          else if (p.fallback !== undefined) out += p.fallback;
          else return { error: `field '${p.name}' used in '${source}' is missing or not a scalar` };
        }
      }
      return { value: out };
    },
  };
}

/** Finds `a.b.c` both as nested objects and as a literal dotted key. */
function lookup(fields: Fields, path: string[], name: string): FieldValue | undefined {
  const direct = fields[name];
  if (direct !== undefined) return direct;
  let cur: FieldValue | undefined = fields;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Fields)[key];
  }
  return cur;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function formatDate(pattern: string, t: Date): string {
  return pattern.replace(/yyyy|yy|MM|dd|HH|mm|ss/g, (tok) => {
    switch (tok) {
      case 'yyyy': return pad(t.getUTCFullYear(), 4);
      case 'yy': return pad(t.getUTCFullYear() % 100, 2);
      case 'MM': return pad(t.getUTCMonth() + 1, 2);
      case 'dd': return pad(t.getUTCDate(), 2);
      case 'HH': return pad(t.getUTCHours(), 2);
      case 'mm': return pad(t.getUTCMinutes(), 2);
      default: return pad(t.getUTCSeconds(), 2);
    }
  });
}
