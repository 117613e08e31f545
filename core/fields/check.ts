import { valueMatchesType, type FieldDefinition } from './types.js';

export interface FieldProblem {
  field: string;
  problem: 'undeclared' | 'wrong_type';
  /** The declared type, for wrong_type. */
  declared?: string;
  value: unknown;
}

/**
 * Checks a document against fields.yml: every leaf (arrays element by element) must be
 * declared with a type its value fits. Fields under an `object` / `flattened` declaration
 * are free-form and accepted.
 */
export function checkDocument(doc: Record<string, unknown>, defs: readonly FieldDefinition[]): FieldProblem[] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const problems: FieldProblem[] = [];
  const visit = (path: string, value: unknown): void => {
    if (value === undefined) return;
    const def = byName.get(path);
    if (def) {
      if (def.type === 'object' || def.type === 'flattened' || def.type === 'nested') {
        if (!valueMatchesType(def.type, value)) problems.push({ field: path, problem: 'wrong_type', declared: def.type, value });
        return;
      }
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        if (item === null) continue;
        if (!valueMatchesType(def.type, item)) problems.push({ field: path, problem: 'wrong_type', declared: def.type, value: item });
      }
      return;
    }
    if (Array.isArray(value)) {
      // An array of objects (process.previous) is declared through its sub-fields.
      if (value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
        for (const v of value) visit(path, v);
      } else if (value.length > 0) {
        problems.push({ field: path, problem: 'undeclared', value });
      }
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(path ? `${path}.${k}` : k, v);
      return;
    }
    problems.push({ field: path, problem: 'undeclared', value });
  };
  visit('', doc);
  return problems;
}
