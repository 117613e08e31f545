import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { BeatEvent } from '../../core/api/event.js';
import { toDocument } from '../../core/api/event.js';
import { checkDocument, fieldsMarkdown, loadFields, defaultFieldsPath, type FieldDefinition } from '../../core/fields/index.js';
import { buildProcessors } from '../../core/processors/index.js';
import { makeMeta, writeFacts, factsOf } from '../../core/processors/add-docker-metadata/metadata.js';
import { makeBeatFields } from '../../core/publisher/beat-fields.js';
import { HASH_TYPES } from '../../modules/system/process/config.js';
import { processEventToBeatEvent } from '../../modules/system/process/ecs/index.js';
import { UserNames } from '../../modules/system/process/enrich/user-names.js';
import type { ProcessAction } from '../../modules/system/process/event.js';
import { fullKernelEvent } from './ecs-fixtures.js';
import { runProcfs } from './procfs-helpers.js';

const defs = loadFields();
const byName = new Map(defs.map((d) => [d.name, d]));

/** Every document the tests below produce, for the declared-and-emitted check at the end. */
const emitted: BeatEvent[] = [];

function assertDeclared(events: BeatEvent[]): void {
  emitted.push(...events);
  const problems = new Map<string, string>();
  for (const e of events) {
    for (const p of checkDocument(toDocument(e), defs)) {
      problems.set(`${p.field} ${p.problem}`, `${p.field}: ${p.problem}${p.declared ? ` (declared ${p.declared})` : ''}, value ${JSON.stringify(p.value)}`);
    }
  }
  assert.deepEqual([...problems.values()], [], 'every emitted field is declared in fields.yml with the right type');
}

test('fields.yml loads: flattened dotted names with types and descriptions', () => {
  assert.ok(defs.length > 200);
  const t = (name: string): string | undefined => byName.get(name)?.type;
  assert.equal(t('@timestamp'), 'date');
  assert.equal(t('process.pid'), 'long');
  assert.equal(t('process.parent.pid'), 'long');
  assert.equal(t('process.args'), 'keyword');
  assert.equal(t('process.entry_leader.entry_meta.type'), 'keyword');
  assert.equal(t('process.session_leader.same_as_process'), 'boolean');
  assert.equal(t('host.ip'), 'ip');
  assert.equal(t('message'), 'match_only_text');
  assert.equal(t('fields'), 'object');
  for (const h of HASH_TYPES) assert.equal(t(`process.hash.${h}`), 'keyword', h);
  for (const d of defs) assert.ok(d.description.length > 5, `${d.name} has a description`);
  const custom = defs.filter((d) => d.name.startsWith('procbeat.'));
  assert.ok(custom.every((d) => d.name.startsWith('procbeat.process.')), 'one custom namespace');
  assert.ok(custom.length >= 30);
});

test('every field a procfs run emits (with beat fields and processors) is declared with its type', async () => {
  const r = await runProcfs({ include_self: true, hash: { hash_types: [...HASH_TYPES] } });
  try {
    const events: BeatEvent[] = [];
    const { ctx } = r.t;
    const processors = await buildProcessors(
      [{ add_host_metadata: {} }, { add_fields: { fields: { team: 'sec', n: 1 } } }, { add_fields: { target: '', fields: { labels: { env: 'test' } } } }],
      { key: 'processors', logger: ctx.logger, info: ctx.info },
    );
    const beatFields = makeBeatFields(ctx.info, { tags: ['t1'], fields: { site: 'x' } });
    for (let i = 0; i < 2; i++) events.push(...(await r.ds.fetch(ctx.signal)));
    assert.ok(events.length > 5);
    const processed: BeatEvent[] = [];
    for (const e of events) {
      beatFields(e);
      let cur: BeatEvent | null = e;
      for (const p of processors) if (cur) cur = await p.run(cur);
      if (cur) processed.push(cur);
    }
    const self = processed.find((e) => (e.fields.process as { pid: number }).pid === process.pid)!;
    assert.ok(self, 'our own process is in the report');
    const host = self.fields.host as Record<string, unknown>;
    assert.ok(host.hostname && host.os, 'add_host_metadata ran');
    assertDeclared(processed);
  } finally {
    await r.close();
  }
});

test('every field of a complete and an incomplete kernel record, and of every action, is declared', () => {
  const names = new UserNames();
  const all = Object.fromEntries(HASH_TYPES.map((h) => [h, 'ab'.repeat(16)]));
  const events: BeatEvent[] = [];
  for (const action of ['existing_process', 'process_started', 'process_stopped', 'process_ran', 'process_changed_image', 'process_error'] as ProcessAction[]) {
    events.push(processEventToBeatEvent({ ...fullKernelEvent(), action, hashes: all }, { hostId: 'h', names, backendName: 'ebpf' }));
    events.push(processEventToBeatEvent({ ...fullKernelEvent(), action, complete: false, errors: ['e'] }, { hostId: 'h', names }));
  }
  assertDeclared(events);
});

/** Dotted paths of a document's leaves; arrays of objects are walked through. */
function leafPaths(value: unknown, path: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) for (const v of value) leafPaths(v, path, out);
    else out.add(path);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) leafPaths(v, path ? `${path}.${k}` : k, out);
  } else if (value !== undefined) out.add(path);
}

test('the kernel mapping with lineage, signals, leaders and every hash type is declared', () => {
  const names = new UserNames();
  const all = Object.fromEntries(HASH_TYPES.map((h) => [h, 'ab'.repeat(16)]));
  const creds = { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, supplementalGids: [0] };
  const rel = {
    pid: 10, vpid: 1, startBootNs: 5n, start: new Date(0), name: 'sh', executable: '/bin/sh', args: ['sh'], cwd: '/',
    tty: { major: 136, minor: 0 }, creds, parent: { pid: 1, vpid: 1, startBootNs: 1n, start: new Date(0) },
  };
  const ev = {
    ...fullKernelEvent(), hashes: all, creds,
    lineage: { parent: rel, groupLeader: rel, sessionLeader: rel, entryLeader: { ...rel, entryType: 'sshd' as const, sourceIp: '10.0.0.1' } },
    exe: { ...fullKernelEvent().exe, uid: 0, gid: 0, size: 10, privilegesChanged: true },
    signals: {
      exe: { ctimeToExecMs: 1, mtimeToExecMs: 2, writableByUser: false },
      exec: { privilegesChanged: true, euidGained: 0, egidGained: 0, fileCapabilities: false, inferred: true },
      container: { id: 'abc', runtime: 'docker', start: new Date(0) },
    },
  };
  const reasoned = { ...fullKernelEvent(), hashes: undefined, hashReason: 'too big', argsRedacted: true };
  assertDeclared([
    processEventToBeatEvent(ev, { hostId: 'h', names, backendName: 'ebpf' }),
    processEventToBeatEvent(reasoned, { hostId: 'h', names }),
  ]);
});

test('a process of a kubelet-created container, as add_docker_metadata fills it, is declared', () => {
  const id = 'c'.repeat(64);
  const meta = makeMeta(id, '/k8s_app_web-0', 'registry:5000/team/app:1.2', {
    'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.uid': '0b5c1f0e-7e1d-4c1b-9d53-2f0a5f7c9d11', 'io.kubernetes.container.name': 'app',
  });
  const ev = processEventToBeatEvent({ ...fullKernelEvent() }, { hostId: 'h', names: new UserNames() });
  writeFacts(ev.fields, id, factsOf(meta, 'docker', true));
  assertDeclared([ev]);
});

test('fields.yml declares exactly what the code can emit: no declared field is left unused', () => {
  const seen = new Set<string>();
  for (const e of emitted) leafPaths(toDocument(e), '', seen);
  // The module's ingest pipeline sets a few fields in Elasticsearch (event.ingested, related.*).
  const pipeline = readFileSync(defaultFieldsPath().replace(/fields\.yml$/, 'modules/system/process/ingest/pipeline.json'), 'utf8');
  const unused = defs
    .filter((d) => !pipeline.includes(d.name))
    .filter((d) => !seen.has(d.name) && ![...seen].some((p) => p.startsWith(`${d.name}.`)))
    .map((d) => d.name);
  assert.deepEqual(unused, [], 'declared in fields.yml but emitted by no document: emit them or remove them');
});

test('the checker catches an undeclared field and a wrong type', () => {
  const problems = checkDocument({ process: { pid: '12', nope: 1, args: ['a', 3] }, '@timestamp': 'yesterday' }, defs);
  const got = problems.map((p) => `${p.field}:${p.problem}`).sort();
  assert.deepEqual(got, ['@timestamp:wrong_type', 'process.args:wrong_type', 'process.nope:undeclared', 'process.pid:wrong_type']);
});

test('docs/fields.md is generated from fields.yml and up to date', () => {
  const path = defaultFieldsPath().replace(/fields\.yml$/, 'docs/fields.md');
  const current = readFileSync(path, 'utf8');
  assert.equal(current, fieldsMarkdown(defs), 'run: node dist/core/fields/write-docs.js');
});

export type { FieldDefinition };
