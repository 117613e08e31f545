import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { BeatInfo } from '../api/dataset.js';
import { BEAT_NAME, beatVersion } from './version.js';

export type { BeatInfo } from '../api/dataset.js';

/** What procbeat keeps in `<path.data>/meta.json` across restarts. */
interface BeatMeta {
  uuid: string;
  first_start: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BeatInfoOptions {
  paths: { data: string; logs: string };
  /** Where the machine id is read from (tests point it elsewhere). */
  machineIdFile?: string;
  /**
   * false: do not create path.data or meta.json (for `test config`); a missing uuid is
   * replaced by a throwaway one.
   */
  persist?: boolean;
}

/**
 * Loads (or on first run creates) this installation's identity. The uuid survives restarts
 * so monitoring data and agent.id stay stable; the host id comes from the machine id.
 */
export function loadBeatInfo(options: BeatInfoOptions): BeatInfo {
  const uuid = loadOrCreateUuid(options.paths.data, options.persist ?? true);
  return {
    name: BEAT_NAME,
    version: beatVersion(),
    uuid,
    hostname: hostname(),
    hostId: readMachineId(options.machineIdFile ?? '/etc/machine-id') ?? uuid,
    paths: { data: options.paths.data, logs: options.paths.logs },
  };
}

function loadOrCreateUuid(dataDir: string, persist: boolean): string {
  const file = join(dataDir, 'meta.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (text !== undefined) {
    let meta: Partial<BeatMeta>;
    try {
      meta = JSON.parse(text) as Partial<BeatMeta>;
    } catch {
      throw new Error(`${file}: not valid JSON; remove it to create a new beat uuid`);
    }
    if (typeof meta.uuid !== 'string' || !UUID.test(meta.uuid)) {
      throw new Error(`${file}: uuid missing or malformed; remove the file to create a new one`);
    }
    return meta.uuid;
  }
  if (!persist) return randomUUID();
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  } catch (err) {
    throw new Error(`cannot create path.data ${dataDir}: ${(err as Error).message}`);
  }
  const meta: BeatMeta = { uuid: randomUUID(), first_start: new Date().toISOString() };
  // Write then rename, so a crash never leaves a half-written meta.json behind.
  const tmp = `${file}.new`;
  writeFileSync(tmp, `${JSON.stringify(meta)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return meta.uuid;
}

function readMachineId(file: string): string | undefined {
  try {
    const id = readFileSync(file, 'utf8').trim();
    return /^[0-9a-f]{32}$/i.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
