import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, FIXTURE, REPO, httpGet, killIfRunning, logLines, spawnProcbeat, waitFor, type Spawned } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'procbeat-run-'));
const children: Spawned[] = [];
after(() => {
  children.forEach(killIfRunning);
  rmSync(dir, { recursive: true, force: true });
});

function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

/** Starts procbeat with `-e` and waits for the monitoring endpoint's address in the log. */
async function start(script: string, name: string, config: string): Promise<{ p: Spawned; url: string; out: string }> {
  const home = join(dir, name);
  const out = join(home, 'out');
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, config.replaceAll('OUT_DIR', out));
  const p = spawnProcbeat(script, ['run', '-e', '-c', file, '--path.home', home], dir);
  children.push(p);
  const url = await waitFor('the monitoring endpoint', () => {
    if (p.child.exitCode !== null) throw new Error(`procbeat exited early (${p.child.exitCode}):\n${p.stderr()}`);
    return /listening on (http:\/\/[^"\s]+)/.exec(p.stderr())?.[1];
  });
  return { p, url, out: join(out, 'procbeat') };
}

async function stats(url: string): Promise<any> {
  return JSON.parse((await httpGet(`${url}/stats`)).body);
}

/** The pipeline invariant from core/publisher/api.ts. */
function assertAddsUp(pipeline: any): void {
  const e = pipeline.events;
  assert.equal(e.total, e.filtered + e.dropped + e.active + e.acked + e.failed, JSON.stringify(e));
}

const HTTP = 'http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: 0\n';

describe('procbeat run', () => {
  test('SIGTERM drains the queue into the output and exits 0', async () => {
    // flush.min_events and flush.timeout are large, so the events sit in the queue until shutdown.
    const { p, url, out } = await start(FIXTURE, 'drain', [
      'procbeat.modules:\n- module: fake\n  datasets: [burst]\n  count: 500\n',
      'output.file: {path: OUT_DIR}\n',
      'queue.mem: {events: 2000, flush.min_events: 2000, flush.timeout: 10m}\n',
      'shutdown_timeout: 30s\n', HTTP,
    ].join(''));
    const before = await waitFor('500 events queued', async () => {
      const s = await stats(url);
      return s.runner?.fake?.burst?.events === 500 ? s : undefined;
    });
    assert.equal(before.libbeat.pipeline.events.active, 500, 'queued, not yet written');
    assert.equal(lines(out).length, 0);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.stderr());

    const written = lines(out).map((l) => JSON.parse(l) as { event: { sequence: number } });
    assert.equal(written.length, 500);
    assert.deepEqual(written.map((d) => d.event.sequence), Array.from({ length: 500 }, (_, i) => i));
    const log = logLines(p.stderr());
    const total = log.find((l) => l['message'] === 'Total metrics') as any;
    assert.ok(total, 'the final metrics are logged');
    assert.equal(total.monitoring.metrics['pipeline.events.acked'], 500);
    assert.equal(total.monitoring.metrics['output.events.acked'], 500);
    assert.ok(log.some((l) => String(l['message']).startsWith('stopping (SIGTERM)')));
    assert.ok(log.some((l) => l['message'] === 'procbeat stopped'));
  });

  test('/stats and /metrics counters add up after a run', async () => {
    const { p, url, out } = await start(FIXTURE, 'stats', [
      'procbeat.modules:\n- module: fake\n  datasets: [burst]\n  count: 300\n',
      'output.file: {path: OUT_DIR}\n',
      'queue.mem: {events: 64, flush.min_events: 16, flush.timeout: 50ms}\n',
      'tags: [t1]\n', HTTP,
    ].join(''));
    await waitFor('300 lines in the output file', () => lines(out).length === 300);
    const s = await waitFor('the acks counted', async () => {
      const v = await stats(url);
      return v.libbeat.output.events.acked === 300 ? v : undefined;
    });
    assertAddsUp(s.libbeat.pipeline);
    assert.equal(s.libbeat.pipeline.events.total, 300);
    assert.equal(s.libbeat.pipeline.events.acked, 300);
    assert.equal(s.runner.fake.burst.events, 300);
    assert.equal(s.runner.fake.burst.running, 1);
    assert.equal(s.libbeat.output.events.total, 300);

    const metrics = (await httpGet(`${url}/metrics`)).body;
    assert.match(metrics, /^procbeat_pipeline_events_total 300$/m);
    assert.match(metrics, /^procbeat_pipeline_events_acked 300$/m);
    assert.match(metrics, /^procbeat_output_events_acked 300$/m);
    assert.match(metrics, /^procbeat_runner_fake_burst_events 300$/m);

    const root = JSON.parse((await httpGet(`${url}/`)).body) as Record<string, unknown>;
    assert.equal(root['beat'], 'procbeat');
    const meta = JSON.parse(readFileSync(join(dir, 'stats', 'data', 'meta.json'), 'utf8')) as { uuid: string };
    assert.equal(root['uuid'], meta.uuid);

    const doc = JSON.parse(lines(out)[0]!) as Record<string, unknown>;
    assert.deepEqual(doc['tags'], ['t1'], 'global tags reach the events');

    p.child.kill('SIGINT');
    assert.equal(await p.exited, 0);
  });

  test('a startup error (busy port) is printed and exits 1', async () => {
    const { p, url } = await start(FIXTURE, 'busy1', 'procbeat.modules:\n- {module: fake, datasets: [burst], count: 1}\noutput.file: {path: OUT_DIR}\n' + HTTP);
    const port = new URL(url).port;
    const file = join(dir, 'busy2.yml');
    writeFileSync(file, `procbeat.modules:\n- {module: fake, datasets: [burst]}\noutput.file: {path: ${join(dir, 'busy2')}}\nhttp: {enabled: true, host: 127.0.0.1, port: ${port}}\n`);
    const second = spawnProcbeat(FIXTURE, ['run', '-e', '-c', file, '--path.home', join(dir, 'busy2')], dir);
    children.push(second);
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), new RegExp(`^http: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use$`, 'm'));
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
  });

  test('logs go to <path.logs>/procbeat.ndjson without -e', async () => {
    const home = join(dir, 'filelogs');
    const file = join(dir, 'filelogs.yml');
    writeFileSync(file, `procbeat.modules:\n- {module: fake, datasets: [burst], count: 3}\noutput.file: {path: ${join(home, 'out')}}\n`);
    const p = spawnProcbeat(FIXTURE, ['run', '-c', file, '--path.home', home], dir);
    children.push(p);
    const logFile = join(home, 'logs', 'procbeat.ndjson');
    await waitFor('the running line in the log file', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('is running'));
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.equal(p.stderr(), '');
    const log = logLines(readFileSync(logFile, 'utf8'));
    assert.ok(log.every((l) => typeof l['log.level'] === 'string' && typeof l['@timestamp'] === 'string'));
    assert.ok(log.some((l) => l['message'] === 'procbeat stopped'));
  });

  test('the real process module (procfs) runs, drains on SIGTERM and the numbers add up', async (t) => {
    if (!existsSync(join(REPO, 'dist/modules/index.js'))) {
      t.skip('the process module is not built (dist/modules/index.js missing)');
      return;
    }
    const { p, url, out } = await start(BIN, 'procfs', [
      'auditbeat.modules:\n- module: system\n  datasets: [process]\n  process.backend: procfs\n  period: 1s\n',
      'output.file: {path: OUT_DIR}\n',
      'queue.mem: {events: 8192, flush.min_events: 8192, flush.timeout: 10m}\n',
      'shutdown_timeout: 30s\n', HTTP,
    ].join(''));
    const s = await waitFor('the state report queued', async () => {
      const v = await stats(url);
      return (v.libbeat.pipeline?.events?.total ?? 0) > 0 ? v : undefined;
    });
    assertAddsUp(s.libbeat.pipeline);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.stderr());
    const total = logLines(p.stderr()).find((l) => l['message'] === 'Total metrics') as any;
    const m = total.monitoring.metrics;
    assert.ok(m['pipeline.events.total'] >= s.libbeat.pipeline.events.total);
    assert.equal(m['pipeline.events.total'], m['pipeline.events.filtered'] + m['pipeline.events.dropped'] + m['pipeline.events.active'] + m['pipeline.events.acked'] + m['pipeline.events.failed']);
    assert.equal(m['pipeline.events.active'], 0, 'nothing left in the queue');
    assert.equal(lines(out).length, m['output.events.acked']);
    const doc = JSON.parse(lines(out)[0]!) as { event: { module: string; dataset: string } };
    assert.equal(doc.event.module, 'system');
  });
});
