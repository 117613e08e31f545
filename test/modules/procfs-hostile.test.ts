/**
 * The procfs reader under what an unprivileged user controls (issue 10, finding 1, procfs
 * side): a process whose argv area spans 64 TiB of unbacked memory must be read in bounded
 * time, with its arguments cut at the cap and the true size taken from stat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hugeArgvVictimOrSkip, TIB } from '../quark-ffi/huge-argv-victim.js';
import { REPO_ROOT } from '../quark-ffi/procbeat-run.js';

const READER = join(REPO_ROOT, 'dist', 'modules', 'system', 'process', 'backends', 'procfs', 'reader.js');

test('procfs reads a process with a 64 TiB argv area at once, cut at the cap, with the true size from stat', { timeout: 120_000 }, async (t) => {
  if (process.geteuid?.() !== 0) { t.skip('needs root (runs the victim as nobody)'); return; }
  const made = await hugeArgvVictimOrSkip(t, 'procbeat-procfs-hostile-', 64 * TIB);
  if (made === undefined) return;
  const { dir, victim } = made;
  try {
    // In a child with a deadline: the unfixed reader reads the whole area and never returns.
    const script = `import(${JSON.stringify(READER)}).then((m) => {
      const out = m.readProcess(${victim.pid}, { procRoot: '/proc', bootMs: 0, clockTicks: 100, maxArgsBytes: 65536, euid: 0 });
      process.stdout.write(JSON.stringify(out.kind === 'ok' ? { kind: out.kind, n: out.facts.args?.join('').length, truncated: out.facts.argsTruncated, orig: out.facts.argsOriginalBytes } : out));
    });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'reading the process did not finish within 20 s (it reads the whole argv area)');
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { kind: string; truncated?: boolean; orig?: number };
    assert.equal(got.kind, 'ok');
    assert.equal(got.truncated, true);
    assert.equal(got.orig, 64 * TIB);
  } finally {
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
