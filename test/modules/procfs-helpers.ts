/** Shared helpers for the procfs tests: spawn real processes, run the dataset, find documents. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { PeriodicDataset } from '../../core/api/dataset.js';
import type { BeatEvent, Fields } from '../../core/api/event.js';
import { processDataset } from '../../modules/system/process/dataset.js';
import { makeContext, type TestContext } from './context.js';

export type Doc = Fields & {
  event: { kind: string; action: string; type: string[]; id?: string; category: string[]; module: string; dataset: string };
  process: Fields & { pid: number; name: string; executable?: string; args?: string[]; parent?: { pid: number } };
};

export const docsOf = (events: BeatEvent[]): Doc[] => events.map((e) => e.fields as Doc);

export interface Running {
  t: TestContext;
  ds: PeriodicDataset;
  fetch(): Promise<Doc[]>;
  close(): Promise<void>;
}

/** The dataset as the runner would create it, hashing off unless asked (the hasher has its own tests). */
export async function runProcfs(process: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Running> {
  const t = makeContext();
  const v = processDataset.validate({ ...extra, process: { hash: { hash_types: [] }, ...process } });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, t.ctx);
  if (ds.kind !== 'periodic') throw new Error(`expected the procfs backend, got a ${ds.kind} dataset`);
  return {
    t,
    ds,
    fetch: async () => docsOf(await ds.fetch(t.abort.signal)),
    close: async () => { t.abort.abort(); await ds.close?.(); },
  };
}

/** Fetches until `pick` finds something in one batch (or the time runs out). */
export async function fetchUntil<T>(r: Running, pick: (docs: Doc[]) => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pick(await r.fetch());
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('condition not met before the timeout');
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Spawns a child and waits until its stdout shows `marker`; `output()` is all it printed so far. */
export async function spawnReady(cmd: string, args: string[], marker: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  await waitFor(() => out.includes(marker) || child.exitCode !== null, 30_000, `${cmd} to print ${marker}`);
  if (child.exitCode !== null) throw new Error(`${cmd} exited early with ${child.exitCode}: ${out}`);
  return { child, output: () => out };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((res) => child.once('exit', res));
  child.kill('SIGKILL');
  await done;
}

export function exists(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}
