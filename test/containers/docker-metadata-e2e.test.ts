/**
 * add_docker_metadata against a real Docker daemon (our own, on its own socket) with the
 * kernel_tracing backend, through the real CLI: a long-running container, 50 containers
 * that run /bin/true and are gone at once, one with kubelet's labels, one started right
 * after the daemon restarted, and the daemon stopped (procbeat keeps shipping and says
 * once why metadata is missing).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkDocument, defaultFieldsPath, loadFields } from '../../core/fields/index.js';
import { docField as get, kernelTracingUnavailable, OutputReader, ProcbeatRun, writeKernelTracingConfig } from '../quark-ffi/procbeat-run.js';
import { dockerUnavailable, TestDaemon } from './docker-daemon.js';

const SHORT_LIVED = 50;

type Doc = Record<string, unknown>;

function writeConfig(dir: string, host: string): string {
  return writeKernelTracingConfig(dir, {
    // Each fork, exec and exit ships as it happens: a container's first events may reach
    // the processor before the runtime's event stream has told it about the container.
    module: '    process.kernel_tracing.hold_time: 0',
    top: `processors:
  - add_docker_metadata:
      host: ${host}
logging.metrics.period: 60s`,
  });
}

/** Collects documents by the last argument of their process (our markers). */
class Docs {
  readonly byMarker = new Map<string, Doc[]>();
  private readonly reader: OutputReader;
  constructor(dir: string, private readonly tag: string) {
    this.reader = new OutputReader(join(dir, 'out'));
  }
  poll(): void {
    for (const doc of this.reader.readNew()) {
      const args = get(doc, 'process.args');
      if (!Array.isArray(args)) continue;
      const last = String(args[args.length - 1]);
      if (last.includes(this.tag)) this.byMarker.set(last, [...(this.byMarker.get(last) ?? []), doc]);
    }
  }
  async waitFor(markers: string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      const missing = markers.filter((m) => !this.byMarker.has(m));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`no document for ${missing.length} marker(s), e.g. ${missing.slice(0, 5).join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  of(marker: string): Doc[] {
    return this.byMarker.get(marker) ?? [];
  }
}

function runOnHost(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
}

test('add_docker_metadata: every process of every container carries its name, image and pod fields', { timeout: 600_000 }, async (t) => {
  const why = (await kernelTracingUnavailable()) ?? (await dockerUnavailable());
  if (why) { t.skip(why); return; }
  const daemon = new TestDaemon();
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-docker-e2e-'));
  let beat: ProcbeatRun | undefined;
  try {
    try {
      await daemon.start();
      await daemon.importImage();
    } catch (err) {
      t.skip(`the Docker daemon cannot run here: ${(err as Error).message}`);
      return;
    }
    const tag = randomUUID().slice(0, 8);
    // Running before procbeat: known from the initial listing.
    const long = await daemon.startContainer({ name: `long-${tag}`, cmd: ['/bin/sleep', '300'] });

    beat = new ProcbeatRun(writeConfig(dir, daemon.host));
    await beat.waitForLog(/quark-ffi opened with the ebpf backend/, 60_000);
    await beat.waitForLog(/add_docker_metadata: connected to docker/, 30_000);
    const docs = new Docs(dir, tag);

    // 1. A process started inside the long-running container.
    const exec = await long.exec({ Cmd: ['/bin/true', `long-${tag}`] });
    await exec.start({ Detach: true });
    // 2. 50 containers that run /bin/true and are gone at once.
    for (let i = 0; i < SHORT_LIVED; i++) await daemon.runContainer({ name: `short-${tag}-${i}`, cmd: ['/bin/true', `short-${tag}-${i}`] });
    // 3. Kubelet's labels.
    const podUid = randomUUID();
    await daemon.runContainer({
      name: `k8s_app_web-${tag}`,
      cmd: ['/bin/true', `pod-${tag}`],
      labels: {
        'io.kubernetes.pod.name': `web-${tag}`,
        'io.kubernetes.pod.namespace': 'shop',
        'io.kubernetes.pod.uid': podUid,
        'io.kubernetes.container.name': 'app',
      },
    });
    await docs.waitFor([`long-${tag}`, `pod-${tag}`, ...Array.from({ length: SHORT_LIVED }, (_, i) => `short-${tag}-${i}`)]);

    const checkContainer = (marker: string, name: string): void => {
      const found = docs.of(marker);
      assert.ok(found.length > 0, `no document for ${marker}`);
      for (const doc of found) {
        assert.equal(get(doc, 'container.name'), name, `${marker} (${String(get(doc, 'event.action'))}): container.name; container=${JSON.stringify(get(doc, 'container'))}`);
        assert.equal(get(doc, 'container.image.name'), 'procbeat-test/busybox', `${marker}: container.image.name`);
        assert.deepEqual(get(doc, 'container.image.tag'), ['1.0'], `${marker}: container.image.tag`);
        assert.equal(get(doc, 'container.runtime'), 'docker', `${marker}: container.runtime`);
        assert.match(String(get(doc, 'container.id')), /^[0-9a-f]{64}$/, `${marker}: container.id`);
      }
    };
    checkContainer(`long-${tag}`, `long-${tag}`);
    assert.equal(get(docs.of(`long-${tag}`)[0]!, 'container.id'), long.id);
    for (let i = 0; i < SHORT_LIVED; i++) checkContainer(`short-${tag}-${i}`, `short-${tag}-${i}`);
    checkContainer(`pod-${tag}`, `k8s_app_web-${tag}`);
    for (const doc of docs.of(`pod-${tag}`)) {
      assert.deepEqual(get(doc, 'kubernetes'), { pod: { name: `web-${tag}`, uid: podUid }, namespace: 'shop', container: { name: 'app' } });
      assert.deepEqual(get(doc, 'orchestrator'), { type: 'kubernetes', namespace: 'shop', resource: { type: 'pod', name: `web-${tag}`, id: podUid } });
      // labels.dedot is false (beats' default): label keys keep their dots.
      assert.equal((get(doc, 'container.labels') as Doc)['io.kubernetes.pod.namespace'], 'shop');
      assert.deepEqual(checkDocument(doc, loadFields(defaultFieldsPath())), [], 'every field is in fields.yml');
    }

    // 4. The daemon restarts; a container started as soon as it answers gets its metadata
    //    (procbeat may still be in its reconnect backoff).
    await long.remove({ force: true });
    await daemon.stop();
    await beat.waitForLog(/add_docker_metadata: cannot use the Docker API/, 30_000);
    await daemon.start();
    await daemon.runContainer({ name: `restart-${tag}`, cmd: ['/bin/true', `restart-${tag}`] });
    await docs.waitFor([`restart-${tag}`]);
    checkContainer(`restart-${tag}`, `restart-${tag}`);
    await beat.waitForLog(/add_docker_metadata: reconnected to docker/, 60_000);

    // 5. The daemon stops for good: procbeat keeps shipping, and says why once.
    const linesBefore = beat.logs.length;
    await daemon.stop();
    await beat.waitForLog(/add_docker_metadata: cannot use the Docker API/, 30_000);
    // Several reconnect attempts (backoff 0.5 s, 1 s, 2 s) happen in the next 4 s.
    await new Promise((r) => setTimeout(r, 4000));
    await runOnHost(['/bin/true', `host-${tag}`]);
    await docs.waitFor([`host-${tag}`]);
    assert.equal(get(docs.of(`host-${tag}`)[0]!, 'container'), undefined, 'a host process has no container');
    const warnings = beat.logs.slice(linesBefore).filter((l) => /add_docker_metadata: cannot use the Docker API/.test(String(l.message)));
    assert.equal(warnings.length, 1, `one line per outage; got:\n${warnings.map((w) => w.message).join('\n')}`);
    assert.match(String(warnings[0]!.message), /ENOENT|ECONNREFUSED|event stream ended|socket hang up|ECONNRESET/);

    assert.equal(await beat.stop(), 0, `procbeat exit code; last lines:\n${beat.tail()}`);
    const m = beat.finalMetrics() ?? {};
    t.diagnostic(`add_docker_metadata metrics: ${JSON.stringify(Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('add_docker_metadata.'))))}`);
    assert.ok(Number(m['add_docker_metadata.events.enriched']) >= SHORT_LIVED + 2, `enriched: ${String(m['add_docker_metadata.events.enriched'])}`);
    assert.ok(Number(m['add_docker_metadata.api.reconnects']) >= 2, `reconnects: ${String(m['add_docker_metadata.api.reconnects'])}`);
    assert.equal(m['add_docker_metadata.api.state'], 'down');
    assert.equal(m['pipeline.events.held'], 0);
  } finally {
    await beat?.stop();
    await daemon.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
