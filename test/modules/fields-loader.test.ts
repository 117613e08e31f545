import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FieldsFileError, loadFields, parseFields } from '../../core/fields/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'procbeat-fields-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const ok = `- key: base
  title: Base
  description: d
  fields:
  - name: process
    type: group
    description: The process.
    fields:
    - name: pid
      type: long
      description: Process id.
    - name: tty.char_device.major
      type: long
      description: Dotted names are allowed.
  - name: fields
    type: object
    description: Anything.
`;

function failure(text: string): FieldsFileError {
  try {
    parseFields(text, 'x.yml');
  } catch (err) {
    assert.ok(err instanceof FieldsFileError, String(err));
    return err;
  }
  assert.fail('expected the file to be refused');
}

test('a well-formed file flattens groups into dotted names', () => {
  const defs = parseFields(ok);
  assert.deepEqual(defs.map((d) => [d.name, d.type, d.group, d.line]), [
    ['process.pid', 'long', 'base', 9],
    ['process.tty.char_device.major', 'long', 'base', 12],
    ['fields', 'object', 'base', 15],
  ]);
});

test('errors name the file, the line and the field', () => {
  let e = failure(ok.replace('type: long\n      description: Process id.', 'type: lnog\n      description: Process id.'));
  assert.equal(e.message, "x.yml:10: field 'process.pid': unknown type 'lnog' (expected group or one of keyword, constant_keyword, wildcard, text, match_only_text, version, long, integer, short, byte, unsigned_long, double, float, half_float, scaled_float, date, date_nanos, boolean, ip, object, nested, flattened, geo_point, binary)");
  assert.equal(e.line, 10);

  e = failure(ok.replace('      description: Process id.\n', ''));
  assert.match(e.message, /^x\.yml:9: field 'process\.pid': missing or empty 'description'$/);

  e = failure(ok.replace('    - name: pid\n', '    - name: pid\n      tpye: long\n'));
  assert.match(e.message, /^x\.yml:10: field 'process': unknown key 'tpye' in a field$/);

  e = failure(`${ok}  - name: process.pid\n    type: long\n    description: again\n`);
  assert.match(e.message, /^x\.yml:18: field 'process\.pid': declared twice \(first at line 9\)$/);

  e = failure(ok.replace('    type: group\n    description: The process.\n    fields:', '    type: keyword\n    description: The process.\n    fields:'));
  assert.match(e.message, /field 'process': a field of type 'keyword' cannot have 'fields'/);

  e = failure('- key: a\n  fields:\n  - name: x\n    type: keyword\n    description: [oops\n');
  assert.match(e.message, /^x\.yml:\d+: invalid YAML/);

  e = failure('key: a\n');
  assert.match(e.message, /^x\.yml:1: expected a list of field groups/);

  e = failure('- key: a\n  fields:\n  - name: p\n    type: long\n    description: leaf\n  - name: p.q\n    type: long\n    description: child of a leaf\n');
  assert.match(e.message, /^x\.yml:6: field 'p\.q': 'p' \(line 3\) is a long and cannot have sub-fields$/);
});

test('loadFields reads a path and says which file it could not read', () => {
  const p = join(tmp, 'f.yml');
  writeFileSync(p, ok);
  assert.equal(loadFields(p).length, 3);
  assert.throws(() => loadFields(join(tmp, 'missing.yml')), (err: Error) => err.message.startsWith(`${join(tmp, 'missing.yml')}:0: cannot read`));
});
