/**
 * ISO 8601 text of a time, remembered for the last few thousand distinct milliseconds: a
 * parent's or leader's start, and an executable's ctime and mtime, appear on every child's
 * document, and Date#toISOString costs far more than a map lookup.
 */
const cache = new Map<number, string>();
const MAX_ENTRIES = 4096;

export function isoTime(d: Date | undefined): string | undefined {
  if (d === undefined) return undefined;
  const ms = d.getTime();
  if (Number.isNaN(ms)) return undefined;
  let text = cache.get(ms);
  if (text === undefined) {
    text = d.toISOString();
    // Cleared whole when full: cheaper than an LRU, and the hot entries come back at once.
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(ms, text);
  }
  return text;
}
