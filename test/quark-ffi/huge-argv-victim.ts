/**
 * A process that any local user could make: its argv area points at a huge unbacked
 * mapping (fixtures/huge-argv-area.py, prctl PR_SET_MM_MAP). Readers of /proc that read a
 * command line to its end stall on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './procbeat-run.js';

export const VICTIM_PYTHON = '/usr/bin/python3';
export const TIB = 2 ** 40;
const FIXTURE = join(REPO_ROOT, 'test', 'quark-ffi', 'fixtures', 'huge-argv-area.py');

/** Starts the fixture as nobody in `dir` (must be world-readable); resolves once it says "ready", rejects with its reason. */
export function startHugeArgvVictim(dir: string, areaBytes: number): Promise<ChildProcess> {
  const script = join(dir, 'huge-argv-area.py');
  copyFileSync(FIXTURE, script);
  chmodSync(script, 0o644);
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', VICTIM_PYTHON, script, String(areaBytes)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.includes('ready')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the victim exited (${code}): ${out.trim()}`)));
  });
}

/**
 * The victim, started in a fresh world-readable directory (the test removes it); undefined
 * when this host cannot make one, after skipping the test with the reason.
 */
export async function hugeArgvVictimOrSkip(t: TestContext, prefix: string, areaBytes: number): Promise<{ dir: string; victim: ChildProcess } | undefined> {
  if (!existsSync(VICTIM_PYTHON)) {
    t.skip(`${VICTIM_PYTHON} is not installed (it sets up the argv area)`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  try {
    return { dir, victim: await startHugeArgvVictim(dir, areaBytes) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot set up the argv area here: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
