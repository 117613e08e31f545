import { readFileSync } from 'node:fs';

/** The version in package.json, read once (dist/core/beat/ and core/beat/ both sit 3 levels below it). */
let cached: string | undefined;

export function beatVersion(): string {
  if (cached !== undefined) return cached;
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'procbeat' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // try the next candidate
    }
  }
  cached = '0.0.0';
  return cached;
}

export const BEAT_NAME = 'procbeat';
