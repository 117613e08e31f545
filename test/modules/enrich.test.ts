/**
 * The enrichment step as a whole: redaction end to end (a password on a real command line
 * never reaches the document, in the process's own args, its child's parent.args or an
 * earlier image in process.previous), hash_reason wiring, the config keys, and every field
 * the enrichment writes being declared in fields.yml.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDocument, loadFields } from '../../core/fields/index.js';
import { processDataset } from '../../modules/system/process/dataset.js';
import { processEventToBeatEvent } from '../../modules/system/process/ecs/to-beat-event.js';
import { Enrichment } from '../../modules/system/process/enrich/index.js';
import { compileArgsRedaction } from '../../modules/system/process/enrich/redact.js';
import type { Hasher } from '../../modules/system/process/enrich/hasher/index.js';
import type { ProcessEvent } from '../../modules/system/process/event.js';
import { argsOf, get, run, runKernel, runProcfsCollector, uniqueSeconds, type Collector, type Doc } from './enrich-helpers.js';

const SECRET = 'hunter2-procbeat';
const TOKEN = 'tok3n-procbeat-value';
const defs = loadFields();

function assertDeclared(docs: readonly Doc[]): void {
  const problems = new Set<string>();
  for (const d of docs) for (const p of checkDocument(d, defs)) problems.add(`${p.field}: ${p.problem}${p.declared ? ` (declared ${p.declared})` : ''}`);
  assert.deepEqual([...problems], [], 'every field is declared in fields.yml with its type');
}

async function redactionEndToEnd(col: Collector, secs: number): Promise<void> {
  const d = uniqueSeconds(secs);
  const r = await run('sh', ['-c', `sleep ${d}; true`, 'sh', `--password=${SECRET}`, '--token', TOKEN]);
  assert.equal(r.code, 0);
  const child = await col.waitFor((x) => argsOf(x)[0] === 'sleep' && argsOf(x)[1] === d, 'the child document');
  const parent = await col.waitFor((x) => get(x, 'process.pid') === r.pid && argsOf(x).length > 3, 'the shell document');
  const expected = ['sh', '-c', `sleep ${d}; true`, 'sh', '--password=[REDACTED]', '--token', '[REDACTED]'];
  assert.deepEqual(get(parent, 'process.args'), expected);
  assert.equal(get(parent, 'process.args_count'), 7);
  assert.equal(get(parent, 'procbeat.process.args_redacted'), true);
  assert.deepEqual(get(child, 'process.parent.args'), expected);
  assert.equal(get(child, 'procbeat.process.args_redacted'), true, 'the child carries a redacted parent');
  for (const doc of col.docs) {
    const text = JSON.stringify(doc);
    assert.ok(!text.includes(SECRET) && !text.includes(TOKEN), `no secret in any document (pid ${String(get(doc, 'process.pid'))})`);
  }
}

test('redaction end to end through procfs: own args and parent args, nothing leaks into any document', async () => {
  const col = await runProcfsCollector({ args_redaction: { enabled: true } });
  try {
    await redactionEndToEnd(col, 2);
    assertDeclared(col.docs);
  } finally {
    await col.stop();
  }
});

test('redaction end to end through kernel_tracing, including process.previous of an exec without fork', async (t) => {
  const r0 = await runKernel({ args_redaction: { enabled: true } });
  if ('skip' in r0) { t.skip(r0.skip); return; }
  const col = r0;
  try {
    await redactionEndToEnd(col, 0.6);
    const d = uniqueSeconds(0.3);
    const r = await run('sh', ['-c', `exec sleep ${d}`, 'sh', `--password=${SECRET}`]);
    const doc = await col.waitFor((x) => get(x, 'process.pid') === r.pid && argsOf(x)[0] === 'sleep', 'the exec\'d sleep');
    const previous = get(doc, 'process.previous') as Array<{ args?: string[] }>;
    const shImage = previous.find((p) => p.args?.[0] === 'sh');
    assert.ok(shImage, `the sh image is in process.previous: ${JSON.stringify(previous)}`);
    assert.deepEqual(shImage.args, ['sh', '-c', `exec sleep ${d}`, 'sh', '--password=[REDACTED]']);
    assert.equal(get(doc, 'procbeat.process.args_redacted'), true);
    assert.ok(!JSON.stringify(col.docs).includes(SECRET));
    assertDeclared(col.docs);
  } finally {
    await col.stop();
  }
});

test('redaction is off by default: the arguments are shipped as they are', () => {
  const v = processDataset.validate({});
  assert.ok(v.ok);
  assert.equal(v.config.argsRedaction.enabled, false);
  const e = new Enrichment({ lineage: { maxEntries: 10, graceMs: 1000 }, lookups: [] });
  const ev = event({ args: ['mysql', `--password=${SECRET}`] });
  e.apply(ev);
  assert.deepEqual(ev.args, ['mysql', `--password=${SECRET}`]);
  assert.equal(ev.argsRedacted, undefined);
});

test('config keys: args_redaction and lineage, with errors that name the key', () => {
  const ok = processDataset.validate({
    process: {
      args_redaction: { enabled: true, patterns: ['^pin$'], value_patterns: ['sk-[a-z0-9]+'] },
      lineage: { cache_size: 500, grace_period: '5s' },
    },
  });
  assert.ok(ok.ok, ok.ok ? '' : ok.errors.join('; '));
  assert.deepEqual(ok.config.argsRedaction, { enabled: true, patterns: ['^pin$'], valuePatterns: ['sk-[a-z0-9]+'] });
  assert.deepEqual(ok.config.lineage, { cacheSize: 500, gracePeriodMs: 5000 });
  const defaults = processDataset.validate({});
  assert.ok(defaults.ok);
  assert.deepEqual(defaults.config.lineage, { cacheSize: 16384, gracePeriodMs: 30_000 });

  const bad = processDataset.validate({ process: { args_redaction: { enabled: 'yes', patterns: ['('] } } });
  assert.ok(!bad.ok);
  assert.ok(bad.errors.some((e) => e.startsWith('process.args_redaction.enabled:')), bad.errors.join('; '));
  assert.ok(bad.errors.some((e) => e.startsWith('process.args_redaction.patterns[0]: invalid regular expression')), bad.errors.join('; '));
  const badLineage = processDataset.validate({ process: { lineage: { cache_size: 0 } } });
  assert.ok(!badLineage.ok);
  assert.match(badLineage.errors.join('; '), /process\.lineage\.cache_size/);
  const badGrace = processDataset.validate({ process: { lineage: { grace_period: 'soon' } } });
  assert.ok(!badGrace.ok);
  assert.match(badGrace.errors.join('; '), /process\.lineage\.grace_period/);
});

function event(over: Partial<ProcessEvent>): ProcessEvent {
  return {
    backend: 'kernel_tracing', action: 'process_ran', types: ['start', 'change', 'end'],
    flags: { snapshot: false, fork: true, exec: true, exit: true },
    time: new Date(), pid: 4242, ppid: 1, name: 'x', executable: '/usr/bin/x', complete: true,
    startBootNs: 42_000_000_000n, ...over,
  };
}

test('hash_reason: a skip reason goes on the document, and on later documents of the process', async () => {
  const answers = [{ reason: 'hash skipped: different mount namespace' }];
  const hasher = {
    hashProcessExecutable: async () => answers.shift() ?? { error: 'unexpected' },
    close: async () => undefined,
  } as unknown as Hasher;
  const e = new Enrichment({ hasher, lineage: { maxEntries: 10, graceMs: 1000 }, lookups: [] });
  const names = { userName: () => undefined, groupName: () => undefined };
  const first = event({ action: 'process_started', flags: { snapshot: false, fork: true, exec: true, exit: false } });
  await e.hash(first);
  e.apply(first);
  assert.equal(get(processEventToBeatEvent(first, { hostId: 'h', names }).fields, 'procbeat.process.hash_reason'), 'hash skipped: different mount namespace');
  // The stop event of the same process is not hashed again (procfs reuses what it had).
  const stop = event({ action: 'process_stopped', flags: { snapshot: false, fork: false, exec: false, exit: true } });
  e.apply(stop);
  assert.equal(get(processEventToBeatEvent(stop, { hostId: 'h', names }).fields, 'procbeat.process.hash_reason'), 'hash skipped: different mount namespace');
});

test('a redacted relative is redacted once and reused for every event that names it', () => {
  const compiled = compileArgsRedaction({ enabled: true });
  assert.ok(compiled.ok && compiled.redactor);
  let calls = 0;
  const counting = { ...compiled.redactor, redactArgs: (a: readonly string[]) => { calls++; return compiled.redactor!.redactArgs(a); } };
  const e = new Enrichment({ redactor: counting, lineage: { maxEntries: 10, graceMs: 1000 }, lookups: [] });
  e.apply(event({ pid: 10, ppid: 0, startBootNs: 1n, args: ['db', '--password', SECRET] }));
  calls = 0;
  for (let i = 0; i < 5; i++) {
    const child = event({ pid: 20 + i, ppid: 10, startBootNs: 5n, args: ['child'] });
    e.apply(child);
    assert.deepEqual(child.lineage?.parent?.args, ['db', '--password', '[REDACTED]']);
    assert.equal(child.argsRedacted, true);
  }
  // Per child: its own args and its entry leader's are looked at; the parent's are reused.
  assert.ok(calls <= 5 * 2, `${calls} redactArgs calls for 5 children`);
});
