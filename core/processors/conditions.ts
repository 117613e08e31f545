import type { BeatEvent, FieldValue } from '../api/event.js';
import { flatten, lookup, type Lookup } from './fields.js';
import { describe, isRecord, type Problems } from './options.js';

/**
 * The `when` conditions of beats processors: equals, contains, regexp, range, has_fields,
 * and, or, not. Semantics follow libbeat: a missing field never matches; `equals` compares
 * integers, strings or booleans of the same kind; `contains`/`regexp` test a string or
 * any string of a list; `range` needs a numeric field. Several fields under one condition
 * must all match.
 */
export interface Condition {
  check(event: BeatEvent): boolean;
}

export const CONDITION_NAMES = ['equals', 'contains', 'regexp', 'range', 'has_fields', 'and', 'or', 'not'] as const;

function valueOf(event: BeatEvent, field: string): Lookup {
  if (field === '@timestamp') return { found: true, value: event.timestamp.toISOString() };
  return lookup(event.fields, field);
}

/** Parses one condition map at `key`; returns null (with problems recorded) when it is invalid. */
export function buildCondition(raw: unknown, key: string, problems: Problems): Condition | null {
  if (!isRecord(raw)) {
    problems.add(key, `expected a condition (a map with one of: ${CONDITION_NAMES.join(', ')}), got ${describe(raw)}`);
    return null;
  }
  const names = Object.keys(raw);
  if (names.length !== 1) {
    problems.add(
      key,
      names.length === 0
        ? `empty condition; expected one of: ${CONDITION_NAMES.join(', ')}`
        : `expected exactly one condition, found: ${names.join(', ')} (combine them with 'and' or 'or')`,
    );
    return null;
  }
  const name = names[0]!;
  const body = raw[name];
  const at = `${key}.${name}`;
  switch (name) {
    case 'equals':
      return fieldsCondition(body, at, problems, equalsMatcher);
    case 'contains':
      return fieldsCondition(body, at, problems, containsMatcher);
    case 'regexp':
      return fieldsCondition(body, at, problems, regexpMatcher);
    case 'range':
      return rangeCondition(body, at, problems);
    case 'has_fields':
      return hasFieldsCondition(body, at, problems);
    case 'and':
    case 'or':
      return listCondition(name, body, at, problems);
    case 'not': {
      const inner = buildCondition(body, at, problems);
      return inner && { check: (e) => !inner.check(e) };
    }
    default:
      problems.add(at, `unknown condition '${name}'; expected one of: ${CONDITION_NAMES.join(', ')}`);
      return null;
  }
}

type FieldTest = (value: FieldValue) => boolean;
type MatcherFactory = (expected: unknown, key: string, problems: Problems) => FieldTest | null;

function fieldMap(body: unknown, key: string, problems: Problems): Record<string, unknown> | null {
  if (!isRecord(body) || Object.keys(body).length === 0) {
    problems.add(key, `expected a map of field names to values, got ${isRecord(body) ? 'an empty map' : describe(body)}`);
    return null;
  }
  return flatten(body);
}

function fieldsCondition(body: unknown, key: string, problems: Problems, make: MatcherFactory): Condition | null {
  const fields = fieldMap(body, key, problems);
  if (!fields) return null;
  const tests: Array<[string, FieldTest]> = [];
  let ok = true;
  for (const [field, expected] of Object.entries(fields)) {
    const test = make(expected, `${key}.${field}`, problems);
    if (test) tests.push([field, test]);
    else ok = false;
  }
  if (!ok) return null;
  return {
    check(event) {
      for (const [field, test] of tests) {
        const r = valueOf(event, field);
        if (!r.found || !test(r.value)) return false;
      }
      return true;
    },
  };
}

const equalsMatcher: MatcherFactory = (expected, key, problems) => {
  if (typeof expected === 'number' && Number.isInteger(expected)) {
    return (v) => typeof v === 'number' && Number.isInteger(v) && v === expected;
  }
  if (typeof expected === 'string') return (v) => v === expected;
  if (typeof expected === 'boolean') return (v) => v === expected;
  problems.add(key, `only strings, integers and booleans can be compared with equals, got ${describe(expected)}`);
  return null;
};

function anyString(v: FieldValue, test: (s: string) => boolean): boolean {
  if (typeof v === 'string') return test(v);
  if (Array.isArray(v)) return v.some((item) => typeof item === 'string' && test(item));
  return false;
}

const containsMatcher: MatcherFactory = (expected, key, problems) => {
  if (typeof expected !== 'string') {
    problems.add(key, `expected a string to look for, got ${describe(expected)}`);
    return null;
  }
  return (v) => anyString(v, (s) => s.includes(expected));
};

const regexpMatcher: MatcherFactory = (expected, key, problems) => {
  if (typeof expected !== 'string') {
    problems.add(key, `expected a regular expression string, got ${describe(expected)}`);
    return null;
  }
  try {
    const re = compileGoStyleRegexp(expected);
    return (v) => anyString(v, (s) => re.test(s));
  } catch (err) {
    problems.add(key, `invalid regular expression ${JSON.stringify(expected)}: ${(err as Error).message}`);
    return null;
  }
};

/**
 * Beats patterns are Go (RE2) syntax, unanchored. JavaScript lacks RE2's leading flag
 * groups such as `(?i)`; those become RegExp flags so common beats configs keep working.
 */
export function compileGoStyleRegexp(pattern: string): RegExp {
  let flags = '';
  let source = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(source);
  if (m) {
    for (const f of m[1]!) {
      if (f === 'U') throw new Error('the (?U) flag is not supported');
      if (!flags.includes(f)) flags += f;
    }
    source = source.slice(m[0].length);
  }
  return new RegExp(source, flags);
}

type RangeOp = 'gt' | 'gte' | 'lt' | 'lte';
const RANGE_OPS: readonly string[] = ['gt', 'gte', 'lt', 'lte'];

function rangeCondition(body: unknown, key: string, problems: Problems): Condition | null {
  const fields = fieldMap(body, key, problems);
  if (!fields) return null;
  const bounds = new Map<string, Partial<Record<RangeOp, number>>>();
  let ok = true;
  for (const [path, raw] of Object.entries(fields)) {
    const dot = path.lastIndexOf('.');
    const op = dot === -1 ? '' : path.slice(dot + 1);
    const field = dot === -1 ? path : path.slice(0, dot);
    if (!RANGE_OPS.includes(op) || field === '') {
      problems.add(`${key}.${path}`, `expected '<field>.<gt|gte|lt|lte>: <number>'`);
      ok = false;
      continue;
    }
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n)) {
      problems.add(`${key}.${path}`, `expected a number, got ${describe(raw)}`);
      ok = false;
      continue;
    }
    const b = bounds.get(field) ?? {};
    b[op as RangeOp] = n;
    bounds.set(field, b);
  }
  if (!ok) return null;
  const list = [...bounds.entries()];
  return {
    check(event) {
      for (const [field, b] of list) {
        const r = valueOf(event, field);
        if (!r.found || typeof r.value !== 'number') return false;
        const v = r.value;
        if (b.gte !== undefined && v < b.gte) return false;
        if (b.gt !== undefined && v <= b.gt) return false;
        if (b.lte !== undefined && v > b.lte) return false;
        if (b.lt !== undefined && v >= b.lt) return false;
      }
      return true;
    },
  };
}

function hasFieldsCondition(body: unknown, key: string, problems: Problems): Condition | null {
  if (!Array.isArray(body) || body.length === 0) {
    problems.add(key, `expected a non-empty list of field names, got ${describe(body)}`);
    return null;
  }
  const fields: string[] = [];
  let ok = true;
  body.forEach((f, i) => {
    if (typeof f === 'string' && f !== '') fields.push(f);
    else {
      problems.add(`${key}[${i}]`, `expected a field name, got ${describe(f)}`);
      ok = false;
    }
  });
  if (!ok) return null;
  return { check: (event) => fields.every((f) => valueOf(event, f).found) };
}

function listCondition(name: 'and' | 'or', body: unknown, key: string, problems: Problems): Condition | null {
  if (!Array.isArray(body) || body.length === 0) {
    problems.add(key, `expected a non-empty list of conditions, got ${describe(body)}`);
    return null;
  }
  const parts = body.map((c, i) => buildCondition(c, `${key}[${i}]`, problems));
  if (parts.some((p) => p === null)) return null;
  const conds = parts as Condition[];
  return name === 'and'
    ? { check: (e) => conds.every((c) => c.check(e)) }
    : { check: (e) => conds.some((c) => c.check(e)) };
}
