/** The index template and ILM policy generated from fields.yml, and the module's ingest pipeline. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { estypes } from '@elastic/elasticsearch';
import { loadFields, parseFields } from '../../core/fields/index.js';
import { buildSetupAssets } from '../../core/setup/assets.js';
import { defaultIlmPolicy } from '../../core/setup/ilm.js';
import { discoverPipelines, type IngestPipelineBody } from '../../core/setup/pipelines.js';
import { readSetupSettings } from '../../core/setup/settings.js';
import { buildIndexTemplate, buildMappings, TEMPLATE_REVISION, TemplateFieldError } from '../../core/setup/template.js';
import { runScriptProcessor } from './painless-lite.js';
import pipelineJson from '../../modules/system/process/ingest/pipeline.json' with { type: 'json' };

// The shipped pipeline must have the shape of the client's request type: a wrong body fails here at compile time.
const typedPipeline: IngestPipelineBody = pipelineJson;

const FIXTURE = `
- key: base
  title: Base
  description: Base fields.
  fields:
  - name: '@timestamp'
    type: date
    description: When.
  - name: message
    type: match_only_text
    description: Summary.
  - name: labels
    type: object
    object_type: keyword
    description: Custom labels.
- key: process
  title: Process
  description: Processes.
  fields:
  - name: process
    type: group
    description: The process.
    fields:
    - name: pid
      type: long
      description: Pid.
    - name: name
      type: keyword
      description: Name.
    - name: command_line
      type: wildcard
      description: Command line.
    - name: start
      type: date
      description: Start.
    - name: interactive
      type: boolean
      description: Has a tty.
    - name: title
      type: keyword
      ignore_above: 256
      description: Title.
    - name: parent
      type: group
      description: Parent.
      fields:
      - name: pid
        type: long
        description: Parent pid.
- key: host
  title: Host
  description: Host.
  fields:
  - name: host.ip
    type: ip
    description: Addresses.
`;

type Props = Record<string, estypes.MappingProperty>;

/** The ECS fields procbeat declares that ECS gives a `.text` multi-field (ECS definitions, 8.x/9.x). */
const ECS_TEXT_FIELDS = [
    'host.os.name',
    'process.name',
    'process.executable',
    'process.command_line',
    'process.working_directory',
    'process.user.name',
    'process.real_user.name',
    'process.saved_user.name',
    'process.previous.executable',
    'process.parent.name',
    'process.parent.executable',
    'process.parent.command_line',
    'process.parent.working_directory',
    'process.parent.user.name',
    'process.parent.real_user.name',
    'process.parent.saved_user.name',
    'process.group_leader.name',
    'process.group_leader.executable',
    'process.group_leader.command_line',
    'process.group_leader.working_directory',
    'process.group_leader.user.name',
    'process.group_leader.real_user.name',
    'process.group_leader.saved_user.name',
    'process.session_leader.name',
    'process.session_leader.executable',
    'process.session_leader.command_line',
    'process.session_leader.working_directory',
    'process.session_leader.user.name',
    'process.session_leader.real_user.name',
    'process.session_leader.saved_user.name',
    'process.entry_leader.name',
    'process.entry_leader.executable',
    'process.entry_leader.command_line',
    'process.entry_leader.working_directory',
    'process.entry_leader.user.name',
    'process.entry_leader.real_user.name',
    'process.entry_leader.saved_user.name',
    'user.name',
    'user.effective.name',
];

/** Walks `properties` by a dotted name. */
function prop(mappings: estypes.MappingTypeMapping, name: string): estypes.MappingProperty | undefined {
  let props: Props | undefined = mappings.properties;
  let found: estypes.MappingProperty | undefined;
  for (const part of name.split('.')) {
    found = props?.[part];
    props = (found as { properties?: Props } | undefined)?.properties;
  }
  return found;
}

describe('index template', () => {
  const fields = parseFields(FIXTURE, 'fixture-fields.yml');

  test('every field with its type; keywords with ignore_above 1024; no date detection; strings as keyword', () => {
    const m = buildMappings(fields, { beat: 'procbeat', version: '0.1.0' });
    assert.equal(m.date_detection, false);
    assert.deepEqual(prop(m, '@timestamp'), { type: 'date' });
    assert.deepEqual(prop(m, 'message'), { type: 'match_only_text' });
    assert.deepEqual(prop(m, 'process.pid'), { type: 'long' });
    assert.deepEqual(prop(m, 'process.name'), { type: 'keyword', ignore_above: 1024 });
    assert.deepEqual(prop(m, 'process.title'), { type: 'keyword', ignore_above: 256 });
    assert.deepEqual(prop(m, 'process.command_line'), { type: 'wildcard' });
    assert.deepEqual(prop(m, 'process.start'), { type: 'date' });
    assert.deepEqual(prop(m, 'process.interactive'), { type: 'boolean' });
    assert.deepEqual(prop(m, 'process.parent.pid'), { type: 'long' });
    assert.deepEqual(prop(m, 'host.ip'), { type: 'ip' });
    assert.deepEqual(prop(m, 'labels'), { type: 'object' });
    const dts = m.dynamic_templates!;
    // strings only, as beats writes it: a number stays a number, an object under labels.* stays an object
    assert.deepEqual(dts[0], { labels: { path_match: 'labels.*', match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 1024 } } });
    assert.deepEqual(dts.at(-1), { strings_as_keyword: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 1024 } } });
  });

  test('the composable template: data stream, pattern, priority 150, settings, lifecycle, default pipeline', () => {
    const t = buildIndexTemplate(fields, {
      beatName: 'procbeat',
      version: '0.1.0',
      patterns: ['procbeat-0.1.0'],
      priority: 150,
      ilmPolicy: 'procbeat',
      defaultPipeline: 'procbeat-0.1.0-system-process-pipeline',
      settings: { index: { number_of_shards: 2, mapping: { total_fields: { limit: 20000 } } }, _source: { enabled: true } },
    });
    assert.deepEqual(t.index_patterns, ['procbeat-0.1.0']);
    assert.deepEqual(t.data_stream, {});
    assert.equal(t.priority, 150);
    const index = t.template.settings!.index as Record<string, unknown>;
    assert.equal(index['refresh_interval'], '5s');
    assert.deepEqual(index['mapping'], { total_fields: { limit: 20000 } }, 'user settings win');
    assert.equal(index['number_of_shards'], 2);
    assert.deepEqual(index['lifecycle'], { name: 'procbeat' });
    assert.equal(index['default_pipeline'], 'procbeat-0.1.0-system-process-pipeline');
    assert.ok((index['query'] as { default_field: string[] }).default_field.includes('process.name'));
    assert.ok(!(index['query'] as { default_field: string[] }).default_field.includes('process.pid'));
    assert.deepEqual(t.template.mappings!._source, { enabled: true });
    const { fingerprint, ...meta } = t._meta as Record<string, unknown>;
    assert.deepEqual(meta, { beat: 'procbeat', version: '0.1.0', revision: TEMPLATE_REVISION });
    assert.match(String(fingerprint), /^[0-9a-f]{16}$/, 'setup compares this on its next run');
  });

  test('a field declared both as a value and as an object is an error naming it', () => {
    assert.throws(
      () => buildMappings([{ name: 'a.b', type: 'keyword' }, { name: 'a.b.c', type: 'long' }], {}),
      (e: unknown) => e instanceof TemplateFieldError && /a\.b\.c/.test(e.message),
    );
    assert.throws(() => buildMappings([{ name: 'x', type: 'keyword' }, { name: 'x', type: 'long' }], {}), /declared twice/);
  });

  test('the shipped fields.yml maps every declared field with its declared type', () => {
    const all = loadFields();
    const m = buildMappings(all, {});
    for (const f of all) {
      const p = prop(m, f.name) as { type?: string } | undefined;
      assert.ok(p, `${f.name} is in the mappings`);
      if (f.type !== 'object') assert.equal(p.type, f.type, f.name);
    }
  });

  test('the ECS fields that have a .text multi-field get it (match_only_text), kept out of the default query fields', () => {
    const all = loadFields();
    const m = buildMappings(all, {});
    const withText = all.filter((f) => f.multiFields?.some((x) => x.name === 'text')).map((f) => f.name);
    assert.deepEqual(withText.sort(), [...ECS_TEXT_FIELDS].sort());
    for (const name of ECS_TEXT_FIELDS) {
      const p = prop(m, name) as { type?: string; fields?: Record<string, unknown> } | undefined;
      assert.deepEqual(p?.fields, { text: { type: 'match_only_text' } }, name);
    }
    assert.equal((prop(m, 'process.command_line') as { type?: string }).type, 'wildcard', 'the field itself keeps its type');
    const t = buildIndexTemplate(all, { beatName: 'procbeat', version: '0.1.0', patterns: ['p'], priority: 150 });
    const defaults = ((t.template.settings!.index as Record<string, unknown>)['query'] as { default_field: string[] }).default_field;
    assert.ok(defaults.includes('process.name') && !defaults.includes('process.name.text'));
    assert.equal(defaults.at(-1), 'fields.*', 'custom fields are searched too, as beats does');
  });

  test('multi_fields in fields.yml: read with their type; a bad entry names the file, line and field', () => {
    const ok = parseFields(`
- key: g
  title: G
  description: G.
  fields:
  - name: a
    type: keyword
    description: A.
    multi_fields:
    - name: text
      type: match_only_text
      default_field: false
`, 'mf.yml');
    assert.deepEqual(ok[0]!.multiFields, [{ name: 'text', type: 'match_only_text', defaultField: false }]);
    const bad = (entry: string, type = 'keyword'): string => `
- key: g
  title: G
  description: G.
  fields:
  - name: a
    type: ${type}
    description: A.
    multi_fields:
${entry}
`;
    assert.throws(() => parseFields(bad('    - name: text\n      type: texty'), 'mf.yml'), /mf\.yml:11: field 'a\.text': unknown multi_fields type 'texty'/);
    assert.throws(() => parseFields(bad('    - name: a.b\n      type: text'), 'mf.yml'), /field 'a': a multi_fields entry needs a 'name' without dots/);
    assert.throws(() => parseFields(bad('    - name: text\n      type: text\n      analyzer: x'), 'mf.yml'), /unknown key 'analyzer' in multi_fields/);
    assert.throws(() => parseFields(bad('    - name: text\n      type: text', 'object'), 'mf.yml'), /a field of type 'object' cannot have 'multi_fields'/);
  });

  test('settings: defaults, custom names, and the rule for a changed output index', () => {
    const d = readSetupSettings(undefined, { beatName: 'procbeat', version: '0.1.0' });
    assert.equal(d.template.name, 'procbeat-0.1.0');
    assert.deepEqual(d.template.patterns, ['procbeat-0.1.0']);
    assert.equal(d.template.priority, 150);
    assert.equal(d.ilm.policyName, 'procbeat');
    assert.equal(d.template.overwrite, false);
    assert.throws(
      () => readSetupSettings({}, { beatName: 'procbeat', version: '0.1.0', outputIndex: 'custom', file: 'p.yml' }),
      /p\.yml: setup\.template\.name: setup\.template\.name and setup\.template\.pattern must both be set/,
    );
    const c = readSetupSettings(
      { template: { name: 'custom', pattern: 'custom*', priority: 200, overwrite: true }, ilm: { policy_name: 'keep-30d', enabled: false } },
      { beatName: 'procbeat', version: '0.1.0', outputIndex: 'custom' },
    );
    assert.deepEqual(c.template.patterns, ['custom*']);
    const a = buildSetupAssets(c, { beatName: 'procbeat', version: '0.1.0', fields, pipelines: [] });
    assert.equal(a.ilm, undefined);
    assert.equal(a.template!.name, 'custom');
    assert.equal(a.template!.body.priority, 200);
    assert.equal((a.template!.body.template.settings!.index as Record<string, unknown>)['lifecycle'], undefined);
  });
});

describe('ILM policy', () => {
  test('hot phase rolls over at 50gb per primary shard or 30 days', () => {
    const p = defaultIlmPolicy('procbeat', '0.1.0');
    assert.deepEqual(p.policy.phases.hot?.actions?.rollover, { max_primary_shard_size: '50gb', max_age: '30d' });
    assert.equal(p.policy.phases.delete, undefined, 'nothing is deleted by default');
  });
});

describe('the system/process ingest pipeline', () => {
  const known = new Set(['set', 'script', 'append', 'rename', 'remove', 'convert', 'date', 'foreach']);

  test('is discovered under modules/ and named as filebeat names module pipelines', () => {
    const found = discoverPipelines('procbeat', '0.1.0');
    assert.deepEqual(found.map((p) => p.id), ['procbeat-0.1.0-system-process-pipeline']);
    assert.deepEqual(found[0]!.body, typedPipeline);
  });

  test('sets event.ingested first, and every processor is tagged, described and keeps the document on failure', () => {
    const procs = typedPipeline.processors ?? [];
    const first = procs[0]?.set;
    assert.equal(first?.field, 'event.ingested');
    assert.equal(first?.value, '{{{_ingest.timestamp}}}');
    const tags = new Set<string>();
    for (const p of procs) {
      if (!p) continue;
      const [name, body] = Object.entries(p)[0]! as [string, { tag?: string; description?: string; on_failure?: unknown[]; source?: string; lang?: string }];
      assert.ok(known.has(name), `processor ${name}`);
      assert.ok(body.tag && !tags.has(body.tag), `unique tag on ${name}`);
      tags.add(body.tag);
      assert.ok(body.description && body.description.length > 10, `${body.tag} says why`);
      assert.ok(Array.isArray(body.on_failure) && body.on_failure.length > 0, `${body.tag} has on_failure`);
      if (name === 'script') assert.equal(body.lang, 'painless');
    }
    assert.deepEqual([...tags], ['event-ingested', 'command-line', 'process-duration', 'related-user', 'related-hash']);
    assert.ok(Array.isArray(typedPipeline.on_failure) && typedPipeline.on_failure.length > 0, 'a failure never turns a document away');
  });

  test('related-user and related-hash add to what related.* held, a single string included', () => {
    const script = (tag: string): { if?: string; source: string; params?: Record<string, unknown> } => {
      const p = (typedPipeline.processors ?? []).find((x) => x?.script?.tag === tag)?.script;
      assert.ok(p && typeof p.source === 'string', tag);
      const out: { if?: string; source: string; params?: Record<string, unknown> } = { source: p.source };
      if (typeof p.if === 'string') out.if = p.if;
      if (p.params) out.params = p.params as Record<string, unknown>;
      return out;
    };
    const doc = (): Record<string, unknown> => ({
      user: { name: 'alice', effective: { name: 'root' } },
      process: { user: { name: 'alice' }, hash: { sha256: 'b'.repeat(64) } },
    });
    for (const [had, want] of [
      ['bob', ['bob', 'alice', 'root']],
      [['bob', 'alice'], ['bob', 'alice', 'root']],
      [undefined, ['alice', 'root']],
    ] as const) {
      const d = doc();
      if (had !== undefined) d['related'] = { user: had };
      runScriptProcessor(script('related-user'), d);
      assert.deepEqual((d['related'] as { user: unknown }).user, want, `related.user was ${JSON.stringify(had)}`);
    }
    const h = doc();
    h['related'] = { hash: 'a'.repeat(40) };
    runScriptProcessor(script('related-hash'), h);
    assert.deepEqual((h['related'] as { hash: unknown }).hash, ['a'.repeat(40), 'b'.repeat(64)]);
  });

  test('its painless sources have balanced braces (a compile error would fail setup)', () => {
    for (const p of typedPipeline.processors ?? []) {
      if (!p) continue;
      const src = p.script?.source;
      if (typeof src !== 'string') continue;
      let depth = 0;
      for (const ch of src) {
        if (ch === '{') depth++;
        if (ch === '}') depth--;
        assert.ok(depth >= 0, `unbalanced braces in ${p.script?.tag}`);
      }
      assert.equal(depth, 0, `unbalanced braces in ${p.script?.tag}`);
    }
  });
});
