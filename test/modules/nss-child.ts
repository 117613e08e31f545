// Run by names-nss.test.ts inside a private mount namespace where the name service knows
// a user only through extrausers; prints one JSON report. Guarded by an env variable
// because node --test loads every file under test/.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processDataset } from '../../modules/system/process/dataset.js';
import { makeContext } from './context.js';

type Doc = { process: { pid: number }; event: { action: string }; user?: { id: string; name?: string; group?: { name?: string } } };

if (process.env.PROCBEAT_NSS_CHILD === '1') {
  const uid = Number(process.argv[2]);
  const gid = Number(process.argv[3]);
  const runAs = (): ChildProcess => spawn('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '/usr/bin/sleep', '60'], { stdio: 'ignore' });
  const t = makeContext();
  const v = processDataset.validate({ process: { backend: 'procfs', hash: { hash_types: [] } } });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, t.ctx);
  if (ds.kind !== 'periodic') throw new Error('expected procfs');
  const fetchDocs = async (): Promise<Doc[]> => (await ds.fetch(t.abort.signal)).map((e) => e.fields as unknown as Doc);
  const report = (d: Doc | undefined) => d && { action: d.event.action, id: d.user?.id ?? null, name: d.user?.name ?? null, group: d.user?.group?.name ?? null };

  // Running as the user once setpriv has exec'd sleep.
  const ready = async (c: ChildProcess): Promise<void> => {
    for (let i = 0; i < 500; i++) {
      try {
        if (readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim() === 'sleep') return;
      } catch { /* not there yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the process as the extrausers user did not start');
  };
  const first = runAs();
  await ready(first);
  const firstDoc = (await fetchDocs()).find((d) => d.process.pid === first.pid);
  // The lookup runs on a native thread; give it a moment, as the next scan would.
  await new Promise((r) => setTimeout(r, 500));
  const second = runAs();
  await ready(second);
  const secondDoc = (await fetchDocs()).find((d) => d.process.pid === second.pid);
  first.kill('SIGKILL');
  second.kill('SIGKILL');
  t.abort.abort();
  await ds.close?.();
  const metrics = Object.fromEntries(t.metrics.spaces.get('system.process') ?? []);
  process.stdout.write(JSON.stringify({ first: report(firstDoc), second: report(secondDoc), metrics }));
}
