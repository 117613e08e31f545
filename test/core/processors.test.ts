import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { describe, it } from 'node:test';
import type { BeatEvent, Fields } from '../../core/api/event.js';
import { ConfigErrors } from '../../core/config/errors.js';
import { ProcessorError, buildProcessors, type Processor, type ProcessorResult } from '../../core/processors/index.js';
import { osFamily, parseOsRelease } from '../../core/processors/host-info.js';
import { event, silentLogger, testInfo } from './publisher-support.js';

const ctx = { key: 'processors', logger: silentLogger, info: testInfo(), file: 'procbeat.yml' };

async function build(list: unknown): Promise<Processor[]> {
  return buildProcessors(list, ctx);
}

/** These processors never hold an event: their result is there at once. */
function now(r: ProcessorResult): BeatEvent | null {
  assert.ok(!(r instanceof Promise), 'a synchronous processor returned a Promise');
  return r;
}

/** Runs the chain as the pipeline does (ProcessorError: go on with its event). */
function run(chain: Processor[], fields: Fields): Fields | null {
  let e: BeatEvent | null = event(structuredClone(fields));
  for (const p of chain) {
    try {
      e = now(p.run(e));
    } catch (err) {
      if (!(err instanceof ProcessorError)) throw err;
      e = err.event;
    }
    if (e === null) return null;
  }
  return e.fields;
}

/** Does `when` match `fields`? (drop_event drops exactly the matching events.) */
async function matches(when: unknown, fields: Fields): Promise<boolean> {
  return run(await build([{ drop_event: { when } }]), fields) === null;
}

async function configErrors(list: unknown): Promise<Array<{ key: string; problem: string; message: string }>> {
  try {
    await build(list);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${String(err)}`);
    return err.errors.map((e) => ({ key: e.key, problem: e.problem, message: e.message }));
  }
  assert.fail(`no error for ${JSON.stringify(list)}`);
}

const http = (code: number, extra: Fields = {}): Fields => ({ http: { response: { code } }, ...extra });

describe('conditions', () => {
  it('equals: integers, strings and booleans of the same kind; all listed fields must match', async () => {
    assert.equal(await matches({ equals: { 'http.response.code': 200 } }, http(200)), true);
    assert.equal(await matches({ equals: { 'http.response.code': 200 } }, http(404)), false);
    assert.equal(await matches({ equals: { 'http.response.code': 200 } }, { http: { response: { code: '200' } } }), false, 'string is not an int');
    assert.equal(await matches({ equals: { status: 'OK' } }, { status: 'OK' }), true);
    assert.equal(await matches({ equals: { status: 'OK' } }, { status: 'ok' }), false);
    assert.equal(await matches({ equals: { 'process.interactive': false } }, { process: { interactive: false } }), true);
    assert.equal(await matches({ equals: { status: 'OK' } }, {}), false, 'missing field never matches');
    assert.equal(await matches({ equals: { status: 'OK', 'http.response.code': 200 } }, http(200, { status: 'OK' })), true);
    assert.equal(await matches({ equals: { status: 'OK', 'http.response.code': 200 } }, http(500, { status: 'OK' })), false);
    // YAML may hand the dotted field name over as nested maps; same meaning.
    assert.equal(await matches({ equals: { http: { response: { code: 200 } } } }, http(200)), true);
  });

  it('field names look into nested objects and also find keys that contain dots', async () => {
    assert.equal(await matches({ equals: { 'a.b.c': 'x' } }, { a: { 'b.c': 'x' } }), true);
    assert.equal(await matches({ equals: { 'a.b.c': 'x' } }, { 'a.b': { c: 'x' } }), true);
    assert.equal(await matches({ has_fields: ['@timestamp'] }, {}), true);
  });

  it('contains: substring of a string, or of any string in a list', async () => {
    assert.equal(await matches({ contains: { status: 'Specific error' } }, { status: 'A Specific error happened' }), true);
    assert.equal(await matches({ contains: { status: 'Specific error' } }, { status: 'specific error' }), false);
    assert.equal(await matches({ contains: { 'process.args': '--debug' } }, { process: { args: ['/bin/x', '--debug=1'] } }), true);
    assert.equal(await matches({ contains: { 'process.pid': '1' } }, { process: { pid: 1 } }), false, 'numbers are not strings');
  });

  it('regexp: unanchored RE2-style patterns, (?i) supported, lists match on any element', async () => {
    assert.equal(await matches({ regexp: { 'process.name': '^foo.*' } }, { process: { name: 'foobar' } }), true);
    assert.equal(await matches({ regexp: { 'process.name': '^foo.*' } }, { process: { name: 'barfoo' } }), false);
    assert.equal(await matches({ regexp: { 'process.name': 'oo' } }, { process: { name: 'barfoo' } }), true, 'unanchored');
    assert.equal(await matches({ regexp: { 'process.name': '(?i)^SSHD$' } }, { process: { name: 'sshd' } }), true);
    assert.equal(await matches({ regexp: { 'process.args': '^-{2}v' } }, { process: { args: ['ls', '--verbose'] } }), true);
  });

  it('range: gt/gte/lt/lte on numeric fields, nested or dotted config', async () => {
    assert.equal(await matches({ range: { 'http.response.code': { gte: 400 } } }, http(404)), true);
    assert.equal(await matches({ range: { 'http.response.code.gte': 400 } }, http(399)), false);
    const pct = { 'system.cpu.user.pct.gte': 0.5, 'system.cpu.user.pct.lt': 0.8 };
    assert.equal(await matches({ range: pct }, { system: { cpu: { user: { pct: 0.5 } } } }), true);
    assert.equal(await matches({ range: pct }, { system: { cpu: { user: { pct: 0.8 } } } }), false);
    assert.equal(await matches({ range: { 'x.gt': 1, 'x.lte': 3 } }, { x: 3 }), true);
    assert.equal(await matches({ range: { 'x.gt': 1, 'x.lte': 3 } }, { x: 1 }), false);
    assert.equal(await matches({ range: { 'x.gt': '1' } }, { x: 2 }), true, 'a numeric string bound (from ${VAR}) is a number');
    assert.equal(await matches({ range: { 'x.gt': 1 } }, { x: '2' }), false, 'a string field is not a number');
    assert.equal(await matches({ range: { 'x.gt': 1 } }, {}), false);
  });

  it('has_fields: every listed field present', async () => {
    assert.equal(await matches({ has_fields: ['http.response.code'] }, http(200)), true);
    assert.equal(await matches({ has_fields: ['http.response.code', 'status'] }, http(200)), false);
    assert.equal(await matches({ has_fields: ['status'] }, { status: null }), true, 'a null value is present');
  });

  it('and, or, not combine conditions', async () => {
    const or = { or: [{ equals: { 'http.response.code': 304 } }, { equals: { 'http.response.code': 404 } }] };
    assert.equal(await matches(or, http(404)), true);
    assert.equal(await matches(or, http(200)), false);
    const and = { and: [{ equals: { 'http.response.code': 200 } }, { equals: { status: 'OK' } }] };
    assert.equal(await matches(and, http(200, { status: 'OK' })), true);
    assert.equal(await matches(and, http(200, { status: 'NOK' })), false);
    assert.equal(await matches({ not: { equals: { status: 'OK' } } }, { status: 'OK' }), false);
    assert.equal(await matches({ not: { equals: { status: 'OK' } } }, { status: 'down' }), true);
    const nested = { and: [{ not: { has_fields: ['error'] } }, { or: [{ regexp: { m: '^a' } }, { range: { n: { lt: 0 } } }] }] };
    assert.equal(await matches(nested, { m: 'abc' }), true);
    assert.equal(await matches(nested, { m: 'xbc', n: -1 }), true);
    assert.equal(await matches(nested, { m: 'abc', error: 'x' }), false);
  });
});

describe('processors', () => {
  it('drop_event drops the matching events only; without when, every event', async () => {
    const chain = await build([{ drop_event: { when: { equals: { 'event.action': 'existing_process' } } } }]);
    assert.equal(run(chain, { event: { action: 'existing_process' } }), null);
    assert.deepEqual(run(chain, { event: { action: 'process_started' } }), { event: { action: 'process_started' } });
    assert.equal(run(await build([{ drop_event: null }]), { a: 1 }), null);
  });

  it('add_fields: under `fields` by default, under a target, or at the root; merges and overwrites', async () => {
    const def = await build([{ add_fields: { fields: { name: 'myproject', id: '574734885120952459' } } }]);
    assert.deepEqual(run(def, { a: 1 }), { a: 1, fields: { name: 'myproject', id: '574734885120952459' } });
    const target = await build([{ add_fields: { target: 'project', fields: { name: 'myproject', id: '574734885120952459' } } }]);
    assert.deepEqual(run(target, { project: { owner: 'me', name: 'old' } }), { project: { owner: 'me', name: 'myproject', id: '574734885120952459' } });
    const deep = await build([{ add_fields: { target: 'a.b', fields: { 'c.d': 1 } } }]);
    assert.deepEqual(run(deep, {}), { a: { b: { c: { d: 1 } } } });
    const root = await build([{ add_fields: { target: '', fields: { service: { name: 'x' } } } }]);
    assert.deepEqual(run(root, { service: { type: 'system' } }), { service: { type: 'system', name: 'x' } });
    // The added values are copied per event: changing one event does not leak into the next.
    const shared = await build([{ add_fields: { fields: { list: [1, 2] } } }]);
    const e1 = event({});
    shared[0]!.run(e1);
    ((e1.fields.fields as Fields).list as number[]).push(3);
    const e2 = event({});
    shared[0]!.run(e2);
    assert.deepEqual((e2.fields.fields as Fields).list, [1, 2]);
  });

  it('drop_fields: names and /regexp/; missing names are an error unless ignore_missing, the rest still go', async () => {
    const chain = await build([{ drop_fields: { fields: ['process.args', 'user'], ignore_missing: false } }]);
    assert.deepEqual(run(chain, { process: { args: ['a'], pid: 1 }, user: { id: '0' } }), { process: { pid: 1 } });
    assert.throws(
      () => chain[0]!.run(event({ process: { args: [], pid: 1 } })),
      (err: unknown) => err instanceof ProcessorError && /failed to drop field \[user\]/.test(err.message) && (err.event?.fields.process as Fields).args === undefined,
    );
    const lenient = await build([{ drop_fields: { fields: ['nope', 'a'], ignore_missing: true } }]);
    assert.deepEqual(now(lenient[0]!.run(event({ a: 1, b: 2 })))!.fields, { b: 2 });
    const re = await build([{ drop_fields: { fields: ['/^process\\.thread\\./', '/^host\\.(ip|mac)$/'] } }]);
    assert.deepEqual(run(re, { process: { thread: { capabilities: { effective: ['x'] } }, pid: 3 }, host: { ip: ['1'], mac: ['2'], name: 'h' } }), {
      process: { thread: {}, pid: 3 },
      host: { name: 'h' },
    });
    const guarded = await build([{ drop_fields: { when: { equals: { keep: false } }, fields: ['secret'] } }]);
    assert.deepEqual(run(guarded, { keep: true, secret: 's' }), { keep: true, secret: 's' });
    assert.deepEqual(run(guarded, { keep: false, secret: 's' }), { keep: false });
  });

  it('add_host_metadata: host.* from this machine, once; replace_fields and netinfo.enabled', async () => {
    const chain = await build([{ add_host_metadata: null }]);
    const host = run(chain, { host: { name: 'x', boot: { id: 'b' } } })!.host as Fields;
    assert.equal(host.name, 'testhost');
    assert.equal(host.hostname, os.hostname());
    assert.equal(host.architecture, os.machine());
    assert.equal(host.id, testInfo().hostId);
    const hostOs = host.os as Fields;
    assert.equal(hostOs.type, 'linux');
    assert.equal(hostOs.kernel, os.release());
    const rel = parseOsRelease(await readFile('/etc/os-release', 'utf8'));
    assert.equal(hostOs.platform, rel.ID);
    assert.equal(hostOs.name, rel.NAME);
    assert.equal(hostOs.version, rel.VERSION ?? rel.VERSION_ID);
    assert.equal(hostOs.family, osFamily(rel.ID ?? '', rel.ID_LIKE ?? ''));
    assert.equal(host.boot, undefined, 'replace_fields (default true) replaces the host object');
    const ips = Object.values(os.networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address);
    assert.deepEqual([...(host.ip as string[])].sort(), [...new Set(ips)].sort());
    for (const mac of host.mac as string[]) assert.match(mac, /^([0-9A-F]{2}-){5}[0-9A-F]{2}$/);
    assert.ok(!(host.ip as string[]).includes('127.0.0.1'), 'no loopback');

    const keep = await build([{ add_host_metadata: { replace_fields: false, 'netinfo.enabled': false } }]);
    assert.deepEqual(run(keep, { host: { name: 'x', boot: { id: 'b' } } })!.host, { name: 'x', boot: { id: 'b' } });
    const filled = run(keep, { host: { name: 'only-name' } })!.host as Fields;
    assert.equal(filled.hostname, os.hostname(), 'only host.name present: still filled');
    assert.equal(filled.ip, undefined, 'netinfo disabled');
    assert.equal(filled.mac, undefined);
  });

  it('os family from ID / ID_LIKE', () => {
    assert.equal(osFamily('debian', ''), 'debian');
    assert.equal(osFamily('ubuntu', 'debian'), 'debian');
    assert.equal(osFamily('rocky', 'rhel centos fedora'), 'redhat');
    assert.equal(osFamily('weird', 'suse'), 'suse');
    assert.deepEqual(parseOsRelease('NAME="Debian GNU/Linux"\nID=debian\n# c\nVERSION=\'12 (bookworm)\'\n'), {
      NAME: 'Debian GNU/Linux',
      ID: 'debian',
      VERSION: '12 (bookworm)',
    });
  });

  it('applies processors in order', async () => {
    const chain = await build([
      { add_fields: { target: '', fields: { stage: 1 } } },
      { drop_event: { when: { equals: { stage: 2 } } } },
      { add_fields: { target: '', fields: { stage: 2 } } },
      { drop_fields: { fields: ['gone'] } },
    ]);
    assert.deepEqual(run(chain, { gone: true }), { stage: 2 });
  });

  it('an empty or absent list builds nothing', async () => {
    assert.deepEqual(await build(undefined), []);
    assert.deepEqual(await build(null), []);
    assert.deepEqual(await build([]), []);
  });
});

describe('processor config errors name the key', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['not a list', { drop_event: {} }, 'processors', /expected a list of processors/],
    ['unknown processor', [{ add_cloud_metadata: null }], 'processors[0]', /unknown processor 'add_cloud_metadata'/],
    ['two names in one item', [{ drop_event: {}, add_fields: {} }], 'processors[0]', /exactly one processor name, found: drop_event, add_fields/],
    ['settings not a map', [{ drop_fields: ['a'] }], 'processors[0].drop_fields', /expected a map of settings/],
    ['missing drop_fields.fields', [{ drop_fields: {} }], 'processors[0].drop_fields.fields', /is required/],
    ['fields not a list', [{ add_fields: { fields: { a: 1 } } }, { drop_fields: { fields: 'x' } }], 'processors[1].drop_fields.fields', /expected a list of strings/],
    ['bad list item', [{ drop_fields: { fields: ['a', 7] } }], 'processors[0].drop_fields.fields[1]', /expected a non-empty string/],
    ['unknown setting', [{ drop_fields: { fields: ['a'], ignore_mising: true } }], 'processors[0].drop_fields.ignore_mising', /unknown setting; expected one of: fields, ignore_missing, when/],
    ['bad bool', [{ drop_fields: { fields: ['a'], ignore_missing: 'yes' } }], 'processors[0].drop_fields.ignore_missing', /expected true or false/],
    ['add_fields without fields', [{ add_fields: { target: 'x' } }], 'processors[0].add_fields.fields', /is required/],
    ['nested unknown', [{ add_host_metadata: { netinfo: { enabld: true } } }], 'processors[0].add_host_metadata.netinfo.enabld', /unknown setting/],
    ['dotted bad value', [{ add_host_metadata: { 'netinfo.enabled': 'maybe' } }], 'processors[0].add_host_metadata.netinfo.enabled', /expected true or false/],
    ['bad regexp', [{ drop_event: { when: { regexp: { 'process.name': '([a-' } } } }], 'processors[0].drop_event.when.regexp.process.name', /invalid regular expression/],
    ['bad drop_fields regexp', [{ drop_fields: { fields: ['/(/'] } }], 'processors[0].drop_fields.fields[0]', /invalid regular expression/],
    ['equals with a float', [{ drop_event: { when: { equals: { x: 1.5 } } } }], 'processors[0].drop_event.when.equals.x', /only strings, integers and booleans/],
    ['range operator', [{ drop_event: { when: { range: { x: { gtx: 1 } } } } }], 'processors[0].drop_event.when.range.x.gtx', /gt\|gte\|lt\|lte/],
    ['range value', [{ drop_event: { when: { range: { 'x.gt': 'big' } } } }], 'processors[0].drop_event.when.range.x.gt', /expected a number/],
    ['two conditions in one map', [{ drop_event: { when: { equals: { a: 1 }, contains: { b: 'x' } } } }], 'processors[0].drop_event.when', /exactly one condition, found: equals, contains/],
    ['unknown condition deep inside', [{ drop_event: { when: { and: [{ equals: { a: 1 } }, { nope: {} }] } } }], 'processors[0].drop_event.when.and[1].nope', /unknown condition 'nope'/],
    ['empty or', [{ drop_event: { when: { or: [] } } }], 'processors[0].drop_event.when.or', /non-empty list of conditions/],
    ['has_fields not a list', [{ drop_event: { when: { has_fields: 'a' } } }], 'processors[0].drop_event.when.has_fields', /non-empty list of field names/],
    ['empty when', [{ add_fields: { fields: { a: 1 }, when: {} } }], 'processors[0].add_fields.when', /empty condition/],
  ];
  for (const [name, list, key, problem] of cases) {
    it(name, async () => {
      const errs = await configErrors(list);
      const hit = errs.find((e) => e.key === key);
      assert.ok(hit, `no error for key ${key}; got ${JSON.stringify(errs)}`);
      assert.match(hit.problem, problem);
      assert.ok(hit.message.startsWith(`procbeat.yml: ${key}: `), hit.message);
    });
  }

  it('reports every problem of the list at once', async () => {
    const errs = await configErrors([{ drop_fields: {} }, { nope: {} }, { add_fields: { fields: {}, x: 1 } }]);
    assert.deepEqual(errs.map((e) => e.key).sort(), ['processors[0].drop_fields.fields', 'processors[1]', 'processors[2].add_fields.fields', 'processors[2].add_fields.x'].sort());
  });
});
