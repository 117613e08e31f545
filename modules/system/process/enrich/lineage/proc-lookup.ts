/**
 * What /proc says about a live process, for the process table's misses (a parent or leader
 * no event told us about, or one evicted since) and for the ssh source address of an entry
 * leader. Reuses the procfs backend's reader, so the facts (and the tick-floored start that
 * entity ids are made of) are exactly the ones the procfs backend reports.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { bootTimeMs, clockTicksPerSecond } from '../../backends/procfs/boot.js';
import { readProcess, readStatKey, type ReaderOptions } from '../../backends/procfs/reader.js';
import type { ProcessEvent } from '../../event.js';
import type { ProcessLookup } from './table.js';

/** argv kept for a looked-up relative: ECS leaders carry args, but not megabytes of them. */
const LOOKUP_MAX_ARGS_BYTES = 64 * 1024;
const BOOT_TIME_REFRESH_MS = 10_000;

export function procLookup(procRoot = '/proc'): ProcessLookup {
  const reader: ReaderOptions = {
    procRoot,
    bootMs: 0,
    clockTicks: clockTicksPerSecond(),
    maxArgsBytes: LOOKUP_MAX_ARGS_BYTES,
    euid: process.geteuid?.() ?? 0,
  };
  let bootReadAt = Number.NEGATIVE_INFINITY;
  return (pid) => {
    const now = Date.now();
    if (now - bootReadAt > BOOT_TIME_REFRESH_MS) {
      try {
        reader.bootMs = bootTimeMs(procRoot);
        bootReadAt = now;
      } catch {
        return undefined;
      }
    }
    const r = readProcess(pid, reader);
    if (r.kind !== 'ok') return undefined;
    const { errors: _ignored, ...facts } = r.facts;
    const ev: ProcessEvent = {
      ...facts,
      action: 'existing_process',
      types: ['info'],
      flags: { snapshot: true, fork: false, exec: false, exit: false },
      time: new Date(now),
    };
    return ev;
  };
}

/** True while `pid` is still the process that started at `startBootNs` (tick-floored). */
export function sameProcessAlive(pid: number, startBootNs: bigint | undefined, procRoot = '/proc'): boolean {
  const key = readStatKey(pid, procRoot);
  if (!key || key.kernelThread) return false;
  if (startBootNs === undefined) return true;
  const tck = BigInt(clockTicksPerSecond());
  return key.startTicks === (startBootNs * tck) / 1_000_000_000n;
}

/**
 * The client address of an ssh login, from the SSH_CONNECTION (or SSH_CLIENT) variable sshd
 * puts into the session's environment: `client_ip client_port server_ip server_port`.
 * Only while the process is alive and still the same one; undefined otherwise.
 */
export function sshSourceIp(pid: number, startBootNs: bigint | undefined, procRoot = '/proc'): string | undefined {
  if (!sameProcessAlive(pid, startBootNs, procRoot)) return undefined;
  let env: string;
  try {
    env = readFileSync(`${procRoot}/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  let client: string | undefined;
  for (const entry of env.split('\0')) {
    if (entry.startsWith('SSH_CONNECTION=')) { client = entry.slice(15); break; }
    if (entry.startsWith('SSH_CLIENT=')) client ??= entry.slice(11);
  }
  const ip = client?.trim().split(/\s+/)[0];
  return ip !== undefined && isIP(ip) !== 0 ? ip : undefined;
}
