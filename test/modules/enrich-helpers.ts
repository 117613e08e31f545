/**
 * Helpers for the enrichment tests (lineage, signals, redaction): run the system/process
 * dataset with either backend, collect its documents in the background, spawn real
 * processes and wait for their documents.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { after, before } from 'node:test';
import type { Fields } from '../../core/api/event.js';
import { processDataset } from '../../modules/system/process/dataset.js';
import { makeContext, type TestContext } from './context.js';

export type Doc = Fields;

/** A dotted path into a document; undefined when any step is missing. */
export function get(doc: Doc, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Fields)[part];
  }
  return node;
}

export interface Collector {
  t: TestContext;
  docs: Doc[];
  backend: 'procfs' | 'kernel_tracing';
  /** The first document (in arrival order) that matches, waiting for it. */
  waitFor(pick: (d: Doc) => boolean, what: string, timeoutMs?: number): Promise<Doc>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForDoc(docs: Doc[], pick: (d: Doc) => boolean, what: string, timeoutMs: number): Promise<Doc> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = docs.find(pick);
    if (d !== undefined) return d;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${docs.length} documents seen)`);
    await sleep(25);
  }
}

/**
 * The kernel_tracing backend (eBPF only, short hold time), or the reason it cannot run here
 * (not root, quark-ffi not built or refused: the dataset then falls back to procfs).
 */
export async function runKernel(process_: Record<string, unknown> = {}): Promise<Collector | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'needs root to load eBPF programs' };
  const t = makeContext();
  const v = processDataset.validate({
    process: {
      backend: 'kernel_tracing',
      hash: { hash_types: [] },
      kernel_tracing: { hold_time: '200ms', backends: ['ebpf'] },
      ...process_,
    },
  });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, t.ctx);
  if (ds.kind !== 'push') {
    await ds.close?.();
    const why = t.logs.map((l) => l.msg).find((m) => m.includes('falling back')) ?? 'fell back to procfs';
    return { skip: `kernel_tracing unavailable: ${why}` };
  }
  const docs: Doc[] = [];
  const abort = new AbortController();
  const loop = (async () => {
    for await (const e of ds.events(abort.signal)) docs.push(e.fields);
  })();
  return {
    t,
    docs,
    backend: 'kernel_tracing',
    waitFor: (pick, what, timeoutMs = 30_000) => waitForDoc(docs, pick, what, timeoutMs),
    stop: async () => {
      abort.abort();
      t.abort.abort();
      await loop.catch(() => undefined);
      await ds.close?.();
    },
  };
}

/** The procfs backend polling every 200 ms in the background. */
export async function runProcfsCollector(process_: Record<string, unknown> = {}): Promise<Collector> {
  const t = makeContext();
  const v = processDataset.validate({ period: '200ms', process: { hash: { hash_types: [] }, ...process_ } });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, t.ctx);
  if (ds.kind !== 'periodic') throw new Error(`expected the procfs backend, got ${ds.kind}`);
  const docs: Doc[] = [];
  let running = true;
  let failure: unknown;
  const fetchMs: number[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const began = Date.now();
        for (const e of await ds.fetch(t.abort.signal)) docs.push(e.fields);
        fetchMs.push(Date.now() - began);
      } catch (err) {
        failure = err;
        return;
      }
      await sleep(ds.periodMs);
    }
  })();
  return {
    t,
    docs,
    backend: 'procfs',
    waitFor: async (pick, what, timeoutMs = 30_000) => {
      try {
        return await waitForDoc(docs, pick, what, timeoutMs);
      } catch (err) {
        if (failure !== undefined) throw new Error(`procfs fetch failed: ${String(failure)}`);
        throw new Error(`${err instanceof Error ? err.message : String(err)}; ${fetchMs.length} fetches, the last took ${fetchMs.slice(-5).join(', ')} ms`);
      }
    },
    stop: async () => {
      running = false;
      await loop;
      t.abort.abort();
      await ds.close?.();
    },
  };
}

/** Runs a command to its end; resolves with its pid and exit code. */
export function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<{ pid: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ pid: child.pid ?? -1, code }));
  });
}

/** A duration argument for `sleep` that no other process on the machine uses: it names our process. */
export function uniqueSeconds(base: number): string {
  const b = Number.isInteger(base) ? `${base}.` : String(base);
  return `${b}${String(Math.floor(Math.random() * 9000) + 1000)}`;
}

export const argsOf = (d: Doc): string[] => (get(d, 'process.args') as string[] | undefined) ?? [];
export const pidOf = (d: Doc): number => get(d, 'process.pid') as number;
export const entityOf = (d: Doc): string | undefined => get(d, 'process.entity_id') as string | undefined;

/**
 * One collector for the enclosing describe(): opened before its tests, stopped after.
 * `need(t)` returns it, or skips the test with the reason the backend could not run.
 */
export function collectorPerSuite(
  open: () => Promise<Collector | { skip: string }>,
): (t: { skip: (reason: string) => void }) => Collector | undefined {
  let c: Collector | undefined;
  let skip: string | undefined;
  before(async () => {
    const r = await open();
    if ('skip' in r) skip = r.skip; else c = r;
  });
  after(async () => { await c?.stop(); });
  return (t) => {
    if (c === undefined) { t.skip(skip ?? 'backend not running'); return undefined; }
    return c;
  };
}
