/**
 * add_docker_metadata's settings, mapping, cache and holding rules, against a Docker
 * Engine API served over a real unix socket (FakeEngine) so that slow, hung and missing
 * daemons can be produced on demand. The real daemon is in docker-metadata-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BeatEvent, Fields } from '../../core/api/event.js';
import { ConfigErrors } from '../../core/config/errors.js';
import { buildProcessors, type Processor } from '../../core/processors/index.js';
import { metaFields, makeMeta, splitImage } from '../../core/processors/add-docker-metadata/metadata.js';
import { ContainerCache } from '../../core/processors/add-docker-metadata/cache.js';
import { containerIdOfCgroupFile } from '../../core/processors/add-docker-metadata/match.js';
import { captureLogger, event, MemoryMetrics, silentLogger, testInfo, waitFor } from '../core/publisher-support.js';
import { cid, FakeEngine, type FakeContainer } from './fake-engine.js';

async function build(settings: Record<string, unknown>, metrics = new MemoryMetrics(), logger = silentLogger): Promise<Processor> {
  const [p] = await buildProcessors([{ add_docker_metadata: settings }], { key: 'processors', logger, info: testInfo(), file: 'procbeat.yml', metrics });
  return p!;
}

async function problems(settings: Record<string, unknown>): Promise<string[]> {
  try {
    await build(settings);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => `${e.key}: ${e.problem}`);
  }
  return [];
}

const inContainer = (id: string, extra: Fields = {}): BeatEvent => event({ container: { id, runtime: 'docker' }, process: { pid: 42 }, ...extra });

describe('add_docker_metadata settings', () => {
  it('names the key of every bad setting', async () => {
    assert.deepEqual(await problems({ host: 'ftp://x' }), ["processors[0].add_docker_metadata.host: unsupported scheme 'ftp'; expected unix, tcp, http or https"]);
    assert.deepEqual(await problems({ cleanup_timeout: 'soon' }), ['processors[0].add_docker_metadata.cleanup_timeout: must be a duration such as 500ms, 10s, 1m or 12h; got string "soon"']);
    assert.deepEqual(await problems({ hold_max_events: -1 }), ['processors[0].add_docker_metadata.hold_max_events: expected an integer >= 0, got number -1']);
    assert.deepEqual(await problems({ match_fields: 'container.id' }), ['processors[0].add_docker_metadata.match_fields: expected a list of strings, got string "container.id"']);
    const bad = await problems({ nope: 1 });
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /^processors\[0\]\.add_docker_metadata\.nope: unknown setting; expected one of: host, match_fields/);
    const tls = await problems({ host: 'tcp://127.0.0.1:2376', 'ssl.certificate_authority': '/nonexistent/ca.pem' });
    assert.equal(tls.length, 1);
    assert.match(tls[0]!, /^processors\[0\]\.add_docker_metadata\.ssl\.certificate_authority: cannot read \/nonexistent\/ca\.pem: ENOENT/);
  });

  it('accepts beats settings (and builds without connecting anywhere)', async () => {
    const ca = `/tmp/procbeat-test-ca-${process.pid}.pem`;
    writeFileSync(ca, 'not checked until connect');
    const p = await build({
      host: 'tcp://127.0.0.1:1', match_fields: ['container.id'], match_pids: ['process.pid'], match_source: false,
      match_source_index: 4, match_short_id: true, cleanup_timeout: 60, 'labels.dedot': true,
      ssl: { certificate_authority: ca }, hold_timeout: '250ms', 'cache.max_entries': 10,
    });
    assert.equal(p.name, 'add_docker_metadata');
  });
});

describe('add_docker_metadata mapping', () => {
  it('splits image references into name and tag; a registry port is not a tag, a digest has none', () => {
    assert.deepEqual(splitImage('nginx:1.25'), { name: 'nginx', tag: '1.25' });
    assert.deepEqual(splitImage('nginx'), { name: 'nginx' });
    assert.deepEqual(splitImage('registry:5000/team/app'), { name: 'registry:5000/team/app' });
    assert.deepEqual(splitImage('registry:5000/team/app:v2'), { name: 'registry:5000/team/app', tag: 'v2' });
    assert.deepEqual(splitImage('app@sha256:abcd'), { name: 'app' });
    assert.deepEqual(splitImage('app:1@sha256:abcd'), { name: 'app', tag: '1' });
  });

  it('maps kubelet labels to kubernetes.* and orchestrator.*; labels.dedot replaces dots', () => {
    const labels = { 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': 'u-1', 'io.kubernetes.container.name': 'app', team: 'a' };
    const f = metaFields(makeMeta(cid(1), '/k8s_app', 'img:2', labels), 'docker', true);
    assert.deepEqual(f.container, {
      name: 'k8s_app', image: { name: 'img', tag: ['2'] }, runtime: 'docker',
      labels: { io_kubernetes_pod_name: 'web-0', io_kubernetes_pod_namespace: 'shop', io_kubernetes_pod_uid: 'u-1', io_kubernetes_container_name: 'app', team: 'a' },
    });
    assert.deepEqual(f.kubernetes, { pod: { name: 'web-0', uid: 'u-1' }, namespace: 'shop', container: { name: 'app' } });
    assert.deepEqual(f.orchestrator, { type: 'kubernetes', namespace: 'shop', resource: { type: 'pod', name: 'web-0', id: 'u-1' } });
    const plain = metaFields(makeMeta(cid(2), 'db', 'postgres', {}), 'podman', false);
    assert.deepEqual(plain, { container: { name: 'db', image: { name: 'postgres' }, runtime: 'podman' } });
  });
});

describe('add_docker_metadata cache', () => {
  it('is bounded in entries (stopped ones go first, then the oldest) and forgets stopped containers after cleanup_timeout', () => {
    const c = new ContainerCache(2, false);
    const f = { name: 'x', imageName: 'i', runtime: 'docker' };
    c.set(cid(1), f);
    c.set(cid(2), f);
    c.markGone(cid(1), 1000);
    c.set(cid(3), f);
    assert.equal(c.get(cid(1)), undefined, 'the stopped one went');
    assert.ok(c.get(cid(2)) && c.get(cid(3)));
    c.set(cid(4), f);
    assert.equal(c.get(cid(2)), undefined, 'then the oldest');
    assert.equal(c.evicted, 2);
    c.markGone(cid(3), 5000);
    assert.equal(c.sweep(5000 + 59_999, 60_000), 0, 'kept for late events');
    assert.equal(c.sweep(5000 + 60_000, 60_000), 1);
    assert.equal(c.get(cid(3)), undefined);
    assert.equal(c.size, 1);
  });

  it('match_short_id finds a container by its 12-character id', () => {
    const c = new ContainerCache(10, true);
    c.set(cid(7), { name: 'x', imageName: 'i', runtime: 'docker' });
    assert.ok(c.get(cid(7).slice(0, 12)));
  });
});

describe('add_docker_metadata pid matching', () => {
  it('reads the container id from a cgroup file: cgroupfs and systemd driver paths, v1 and v2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'procbeat-cgroup-'));
    try {
      const file = (name: string, text: string): string => { const f = join(dir, name); writeFileSync(f, text); return f; };
      assert.equal(containerIdOfCgroupFile(file('v1', `12:pids:/docker/${cid(1)}\n1:name=systemd:/docker/${cid(1)}\n`)), cid(1));
      assert.equal(containerIdOfCgroupFile(file('v2', `0::/system.slice/docker-${cid(2)}.scope\n`)), cid(2));
      assert.equal(containerIdOfCgroupFile(file('host', '0::/user.slice/user-0.slice/session-1.scope\n')), undefined);
      assert.equal(containerIdOfCgroupFile(join(dir, 'gone')), undefined, 'a process gone already');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('add_docker_metadata against an Engine API', () => {
  let engine: FakeEngine;
  let proc: Processor | undefined;
  let metrics: MemoryMetrics;
  const known: FakeContainer = { id: cid(1), name: 'web', image: 'nginx:1.25', labels: { tier: 'front' } };

  beforeEach(async () => {
    engine = new FakeEngine();
    engine.containers.set(known.id, known);
    await engine.start();
    metrics = new MemoryMetrics();
  });
  afterEach(async () => {
    await proc?.close?.();
    proc = undefined;
    await engine.stop();
    engine.destroy();
  });

  const ns = () => metrics.namespace('add_docker_metadata');
  async function started(settings: Record<string, unknown> = {}, logger = silentLogger): Promise<Processor> {
    proc = await build({ host: engine.host, ...settings }, metrics, logger);
    proc.start?.();
    await waitFor(() => engine.subscribers > 0, 'the event stream is open');
    return proc;
  }

  it('enriches a listed container synchronously (a map lookup, nothing held); host events pass untouched', async () => {
    const p = await started();
    await waitFor(() => !((p.run(inContainer(known.id))) instanceof Promise), 'listing known');
    const e = p.run(inContainer(known.id)) as BeatEvent;
    assert.deepEqual(e.fields.container, { id: known.id, runtime: 'docker', name: 'web', image: { name: 'nginx', tag: ['1.25'] }, labels: { tier: 'front' } });
    const host = event({ process: { pid: 1 } });
    assert.equal(p.run(host), host);
    assert.deepEqual(host.fields, { process: { pid: 1 } });
  });

  it('holds only an unknown container\'s events while it is looked up; others go at once', async () => {
    const p = await started({ hold_timeout: '5s' });
    await waitFor(() => !(p.run(inContainer(known.id)) instanceof Promise), 'listing known');
    const fresh: FakeContainer = { id: cid(2), name: 'job', image: 'busybox', labels: {} };
    engine.containers.set(fresh.id, fresh);
    engine.inspectDelayMs = 150;
    const heldBefore = ns().num('events.held');
    const inspectsBefore = engine.inspects;
    const first = p.run(inContainer(fresh.id, { seq: 1 }));
    const second = p.run(inContainer(fresh.id, { seq: 2 }));
    assert.ok(first instanceof Promise && second instanceof Promise, 'held');
    const other = p.run(inContainer(known.id));
    assert.ok(!(other instanceof Promise), 'another container is not held');
    assert.equal(((other as BeatEvent).fields.container as Fields).name, 'web');
    const order: number[] = [];
    const [a, b] = await Promise.all([first.then((e) => { order.push(1); return e; }), second.then((e) => { order.push(2); return e; })]);
    assert.deepEqual(order, [1, 2], 'a container\'s held events keep their order');
    for (const e of [a, b]) assert.equal(((e!.fields.container as Fields).name), 'job');
    assert.equal(ns().num('events.held') - heldBefore, 2);
    assert.equal(engine.inspects - inspectsBefore, 1, 'one lookup per container');
  });

  it('a create event on the stream lets held events go before the lookup answers', async () => {
    const p = await started({ hold_timeout: '10s' });
    const fresh: FakeContainer = { id: cid(3), name: 'quick', image: 'app:7', labels: { 'io.kubernetes.pod.name': 'p' } };
    engine.hang.add(fresh.id);
    const held = p.run(inContainer(fresh.id));
    assert.ok(held instanceof Promise);
    await waitFor(() => engine.inspects === 1, 'lookup sent');
    engine.emit('create', fresh);
    const e = await held;
    assert.equal((e!.fields.container as Fields).name, 'quick');
    assert.deepEqual((e!.fields.kubernetes as Fields).pod, { name: 'p' });
  });

  it('a hung API: held at most hold_timeout, then shipped without and counted; not held again while the lookup hangs', async () => {
    const p = await started({ hold_timeout: '100ms' });
    const id = cid(4);
    engine.hang.add(id);
    const t0 = performance.now();
    const held = p.run(inContainer(id));
    assert.ok(held instanceof Promise);
    const e = await held;
    const waited = performance.now() - t0;
    assert.ok(waited >= 90, `released after ${waited} ms`);
    assert.equal((e!.fields.container as Fields).name, undefined);
    assert.equal(ns().num('events.missing.timeout'), 1);
    const next = p.run(inContainer(id));
    assert.ok(!(next instanceof Promise), 'not held a second time');
    assert.equal(ns().num('events.missing.timeout'), 2);
  });

  it('hold_max_events bounds what is held; past it events ship without, counted', async () => {
    const p = await started({ hold_timeout: '5s', hold_max_events: 1 });
    engine.hang.add(cid(5));
    engine.hang.add(cid(6));
    const held = p.run(inContainer(cid(5)));
    assert.ok(held instanceof Promise);
    const over = p.run(inContainer(cid(6)));
    assert.ok(!(over instanceof Promise));
    assert.equal(ns().num('events.missing.hold_full'), 1);
    await proc!.close?.();
    await held;
  });

  it('an id the daemon does not know is remembered: shipped without, not looked up again', async () => {
    const p = await started();
    const id = cid(9);
    const e = await p.run(inContainer(id));
    assert.equal((e!.fields.container as Fields).name, undefined);
    assert.ok(!(p.run(inContainer(id)) instanceof Promise));
    assert.equal(engine.inspects, 1);
    assert.equal(ns().num('events.missing.not_found'), 2);
  });

  it('match_source takes the id from log.file.path; match_pids from a pid\'s cgroup (a host pid has none)', async () => {
    const p = await started({ match_fields: [], match_pids: ['process.pid'] });
    const fromLog = event({ log: { file: { path: `/var/lib/docker/containers/${known.id}/${known.id}-json.log` } } });
    await waitFor(() => !(p.run(structuredClone(fromLog)) instanceof Promise), 'listing known');
    const e = p.run(fromLog) as BeatEvent;
    assert.deepEqual(e.fields.container, { id: known.id, name: 'web', image: { name: 'nginx', tag: ['1.25'] }, labels: { tier: 'front' }, runtime: 'docker' });
    const host = event({ process: { pid: process.pid } });
    assert.equal(p.run(host), host);
    assert.equal(host.fields.container, undefined);
  });

  it('no daemon: one log line says why, events ship without metadata (counted), reconnects with backoff', async () => {
    await engine.stop();
    const { logger, records } = captureLogger();
    proc = await build({ host: engine.host }, metrics, logger);
    proc.start?.();
    await waitFor(() => records.some((r) => /cannot use the Docker API/.test(String(r.msg))), 'the warning');
    const e = await proc.run(inContainer(cid(1)));
    assert.equal((e!.fields.container as Fields).name, undefined);
    // Within the next second, events are not held at all.
    for (let i = 0; i < 100; i++) assert.ok(!(proc.run(inContainer(cid(1))) instanceof Promise));
    assert.ok(ns().num('events.missing.disconnected') >= 100);
    await new Promise((r) => setTimeout(r, 1700)); // backoff 0.5 s then 1 s: two more attempts
    const warnings = records.filter((r) => /cannot use the Docker API/.test(String(r.msg)));
    assert.equal(warnings.length, 1, 'said once');
    assert.match(String(warnings[0]!.msg), /ENOENT/);
    await waitFor(() => (ns().get('api.reconnects') as number) >= 2, 'reconnect attempts counted');
    assert.equal(ns().get('api.state'), 'down');
    // The daemon comes back: the stream reconnects and the listing fills the cache.
    await engine.start();
    await waitFor(() => ns().get('api.state') === 'up', 'reconnected', 10_000);
    const back = proc.run(inContainer(known.id));
    assert.equal(((back as BeatEvent).fields.container as Fields).name, 'web');
    assert.ok(records.some((r) => /add_docker_metadata: reconnected to docker/.test(String(r.msg))));
  });
});
