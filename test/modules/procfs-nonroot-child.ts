// Run by procfs.test.ts under setpriv as an unprivileged user; prints one JSON report.
// Guarded by an env variable because node --test loads every file under test/.
import { processDataset } from '../../modules/system/process/dataset.js';
import { flushLogs, makeContext } from './context.js';

if (process.env.PROCBEAT_NONROOT_CHILD === '1') {
  const backend = process.argv[2] ?? 'procfs';
  const t = makeContext();
  const v = processDataset.validate({ process: { backend, include_self: true, hash: { hash_types: [] } } });
  if (!v.ok) throw new Error(v.errors.join('; '));
  const ds = await processDataset.create(v.config, t.ctx);
  let pids: number[] = [];
  let self: unknown;
  if (ds.kind === 'periodic') {
    const docs = (await ds.fetch(t.abort.signal)).map((e) => e.fields as { process: { pid: number } });
    pids = docs.map((d) => d.process.pid);
    self = docs.find((d) => d.process.pid === process.pid);
  }
  await ds.close?.();
  await flushLogs();
  const metrics = Object.fromEntries(t.metrics.spaces.get('system.process') ?? []);
  process.stdout.write(JSON.stringify({ euid: process.geteuid?.(), kind: ds.kind, logs: t.logs, pids, self, metrics }));
}
