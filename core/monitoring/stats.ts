import { cpuUsage, memoryUsage } from 'node:process';
import type { BeatInfo } from '../api/dataset.js';
import type { MetricValue } from './registry.js';

/** Namespaces that beats reports under `libbeat`. */
const LIBBEAT_NAMESPACES = new Set(['pipeline', 'output']);

export interface StatsContext {
  info: BeatInfo;
  ephemeralId: string;
  startedAt: number;
  snapshot: Map<string, ReadonlyMap<string, MetricValue>>;
}

export type StatsTree = { [key: string]: MetricValue | StatsTree };

/**
 * The beats-like `/stats` document: `beat` (memory, cpu, uptime), `libbeat.pipeline` and
 * `libbeat.output`, then every other namespace under its own name; keys nest by their dots.
 */
export function buildStats(ctx: StatsContext): StatsTree {
  const mem = memoryUsage();
  const cpu = cpuUsage();
  const userMs = Math.round(cpu.user / 1000);
  const systemMs = Math.round(cpu.system / 1000);
  const ticks = (ms: number): StatsTree => ({ ticks: ms, time: { ms } });
  const out: StatsTree = {
    beat: {
      info: {
        name: ctx.info.name,
        version: ctx.info.version,
        ephemeral_id: ctx.ephemeralId,
        uptime: { ms: Date.now() - ctx.startedAt },
      },
      memstats: {
        rss: mem.rss,
        heap_total: mem.heapTotal,
        heap_used: mem.heapUsed,
        external: mem.external,
        array_buffers: mem.arrayBuffers,
      },
      cpu: { user: ticks(userMs), system: ticks(systemMs), total: { ...ticks(userMs + systemMs), value: userMs + systemMs } },
    },
    libbeat: {},
  };
  for (const [name, values] of ctx.snapshot) {
    const target = LIBBEAT_NAMESPACES.has(name) ? branch(out['libbeat'] as StatsTree, name) : branch(out, name);
    for (const [key, value] of values) setNested(target, key.split('.'), value);
  }
  return out;
}

function branch(tree: StatsTree, key: string): StatsTree {
  const existing = tree[key];
  if (typeof existing === 'object') return existing;
  const fresh: StatsTree = {};
  tree[key] = fresh;
  return fresh;
}

/** When both `a` and `a.b` exist, the plain value moves to `a.value` so neither is lost. */
function setNested(tree: StatsTree, parts: string[], value: MetricValue): void {
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const existing = node[part];
    if (existing !== undefined && typeof existing !== 'object') node[part] = { value: existing };
    node = branch(node, part);
  }
  const last = parts[parts.length - 1]!;
  const existing = node[last];
  if (typeof existing === 'object') existing['value'] = value;
  else node[last] = value;
}
