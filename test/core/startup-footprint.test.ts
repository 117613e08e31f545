import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The packages a procbeat loads to run with the file or console output and no
 * add_docker_metadata: the modules `procbeat run` imports at start-up, then every package
 * the CommonJS loader holds (dockerode and the Elasticsearch client are CommonJS).
 */
function packagesAtStartup(): string[] {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(join(DIST, 'core', 'cli', 'main.js'))});
    await import(${JSON.stringify(join(DIST, 'core', 'cli', 'beat.js'))});
    const { BUILTIN_OUTPUT_MODULES } = await import(${JSON.stringify(join(DIST, 'core', 'outputs', 'registry.js'))});
    for (const m of BUILTIN_OUTPUT_MODULES) await import(new URL(m, ${JSON.stringify(`file://${join(DIST, 'core', 'outputs')}/`)}).href);
    await import(${JSON.stringify(join(DIST, 'core', 'processors', 'index.js'))});
    await import(${JSON.stringify(join(DIST, 'modules', 'system', 'process', 'index.js'))});
    const cache = createRequire(import.meta.url).cache;
    const pkgs = new Set();
    for (const k of Object.keys(cache)) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k); if (m) pkgs.add(m[1]); }
    process.stdout.write(JSON.stringify([...pkgs].sort()));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

describe('start-up footprint', () => {
  test('dockerode and the Elasticsearch client are not loaded unless configured (each is ~25-30 MiB of RSS)', () => {
    const pkgs = packagesAtStartup();
    assert.ok(pkgs.length > 0, 'the probe sees CommonJS packages at all');
    for (const heavy of ['dockerode', '@elastic/elasticsearch', '@elastic/transport', 'undici']) {
      assert.ok(!pkgs.includes(heavy), `${heavy} is loaded at start-up: ${pkgs.join(', ')}`);
    }
  });
});
