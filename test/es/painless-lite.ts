/**
 * Runs the small subset of Painless the pipeline's related-* scripts use (def, ArrayList,
 * HashMap, instanceof Map/List/String, for-each, get/add/addAll/contains/isEmpty/values) as
 * JavaScript, so their logic is checked on documents here; no Elasticsearch runs in the tests.
 * Anything outside the subset throws, so a script that grows past it fails loudly, not silently.
 */
type Doc = Record<string, unknown>;

const isMap = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const isList = (v: unknown): boolean => Array.isArray(v);
const isString = (v: unknown): boolean => typeof v === 'string';

function translate(src: string): string {
  const js = src
    .replace(/([\w.?]+)\.values\(\)/g, 'Object.values($1)')
    .replace(/for \(def (\w+) : (.+?)\) \{/g, 'for (const $1 of $2) {')
    .replace(/\bdef (\w+)/g, 'let $1')
    .replace(/new ArrayList\(\)/g, '[]')
    .replace(/new HashMap\(\)/g, '{}')
    .replace(/([\w.?]+) instanceof (Map|List|String)\b/g, (_m, v: string, t: string) => `is${t}(${v})`)
    .replace(/(\w+)\.get\((\w+)\)/g, '$1[$2]')
    .replace(/(\w+)\.isEmpty\(\)/g, '($1.length === 0)')
    .replace(/(\w+)\.contains\((\w+)\)/g, '$1.includes($2)')
    .replace(/(\w+)\.addAll\((\w+)\)/g, '$1.push(...$2)')
    .replace(/(\w+)\.add\((\w+)\)/g, '$1.push($2)');
  const leftover = /\b(ArrayList|HashMap|StringBuilder|ZonedDateTime|instanceof)\b/.exec(js);
  if (leftover) throw new Error(`painless-lite cannot run '${leftover[0]}' in: ${src}`);
  return js;
}

/** Runs a script processor's `if` and `source` on `doc` (changed in place, as ctx is). */
export function runScriptProcessor(p: { if?: string; source: string; params?: Record<string, unknown> }, doc: Doc): void {
  const helpers = ['isMap', 'isList', 'isString'];
  const values = [isMap, isList, isString];
  if (p.if !== undefined) {
    const cond = new Function('ctx', 'params', ...helpers, `return (${translate(p.if)});`) as (...a: unknown[]) => unknown;
    if (cond(doc, p.params ?? {}, ...values) !== true) return;
  }
  const body = new Function('ctx', 'params', ...helpers, translate(p.source)) as (...a: unknown[]) => void;
  body(doc, p.params ?? {}, ...values);
}
