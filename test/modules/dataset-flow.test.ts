/**
 * The dataset's flow reads one way: dataset -> backend -> ProcessEvent -> enrichment ->
 * document. A backend gets what it needs handed down; it never imports the dataset back.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const backends = join(here, '..', '..', 'modules', 'system', 'process', 'backends');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
  });
}

it('no backend imports the dataset module (no circle, no lookup by context)', () => {
  const offenders = files(backends).filter((f) => /from\s+['"][./]*\/dataset\.js['"]/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders.map((f) => f.slice(backends.length + 1)), []);
});
