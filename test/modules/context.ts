/** A real DatasetContext for tests: a pino logger whose lines are kept, in-memory metrics. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { BeatInfo, DatasetContext } from '../../core/api/dataset.js';
import type { MetricsNamespace, MetricsRegistry } from '../../core/api/metrics.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class MemoryMetrics implements MetricsRegistry {
  readonly spaces = new Map<string, Map<string, number | string>>();
  namespace(name: string): MetricsNamespace {
    let m = this.spaces.get(name);
    if (!m) { m = new Map(); this.spaces.set(name, m); }
    const values = m;
    return {
      name,
      inc(key, by = 1) { const v = values.get(key); values.set(key, (typeof v === 'number' ? v : 0) + by); },
      set(key, value) { values.set(key, value); },
      get(key) { return values.get(key); },
    };
  }
}

export interface TestContext {
  ctx: DatasetContext;
  logs: LogLine[];
  metrics: MemoryMetrics;
  abort: AbortController;
}

export const TEST_HOST_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export function makeContext(): TestContext {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const metrics = new MemoryMetrics();
  const abort = new AbortController();
  const info: BeatInfo = {
    name: 'procbeat', version: '0.0.0-test', uuid: '00000000-0000-4000-8000-000000000000',
    hostname: 'test-host', hostId: TEST_HOST_ID, paths: { data: '/tmp', logs: '/tmp' },
  };
  return { ctx: { logger, metrics, info, signal: abort.signal }, logs, metrics, abort };
}

/** pino writes asynchronously through the stream; give it a tick before reading `logs`. */
export async function flushLogs(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}
