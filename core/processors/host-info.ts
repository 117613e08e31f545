import { access, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import type { Fields } from '../api/event.js';

/**
 * What `add_host_metadata` puts under `host`: gathered once, from the kernel (uname),
 * os-release, the machine id and the network interfaces.
 */
export interface HostInfo {
  name: string;
  hostname: string;
  architecture: string;
  os: { type: string; family: string; name: string; version: string; kernel: string; platform: string; codename?: string };
  /** Whether this host is itself a container (ECS host.containerized). */
  containerized?: boolean;
  id?: string;
  ip?: string[];
  mac?: string[];
}

export function hostInfoFields(h: HostInfo): Fields {
  const out: Fields = {
    name: h.name,
    hostname: h.hostname,
    architecture: h.architecture,
    os: { ...h.os },
  };
  if (h.containerized !== undefined) out.containerized = h.containerized;
  if (h.id) out.id = h.id;
  if (h.ip && h.ip.length > 0) out.ip = [...h.ip];
  if (h.mac && h.mac.length > 0) out.mac = [...h.mac];
  return out;
}

/** KEY=value lines, values optionally quoted (os-release(5)). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) {
      v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    }
    out[m[1]!] = v;
  }
  return out;
}

// Distribution ids grouped the way ECS `host.os.family` names them.
const FAMILIES: Record<string, string> = {
  debian: 'debian', ubuntu: 'debian', raspbian: 'debian', linuxmint: 'debian', kali: 'debian', pop: 'debian',
  rhel: 'redhat', centos: 'redhat', fedora: 'redhat', rocky: 'redhat', almalinux: 'redhat', amzn: 'redhat', ol: 'redhat',
  sles: 'suse', suse: 'suse', opensuse: 'suse', 'opensuse-leap': 'suse', 'opensuse-tumbleweed': 'suse',
  arch: 'arch', manjaro: 'arch', archarm: 'arch',
  gentoo: 'gentoo', alpine: 'alpine',
};

export function osFamily(id: string, idLike: string): string {
  for (const candidate of [id, ...idLike.split(/\s+/)]) {
    const f = FAMILIES[candidate.toLowerCase()];
    if (f) return f;
  }
  return idLike.split(/\s+/)[0] || id || 'linux';
}

async function readFirst(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      return await readFile(p, 'utf8');
    } catch {
      // try the next location
    }
  }
  return undefined;
}

/** ECS wants MACs upper-case with dashes. */
export function formatMac(mac: string): string {
  return mac.trim().toUpperCase().replace(/:/g, '-');
}

async function interfaceMacs(): Promise<string[]> {
  const macs = new Set<string>();
  let names: string[] = [];
  try {
    names = await readdir('/sys/class/net');
  } catch {
    // no sysfs: fall back to what node knows below
  }
  for (const name of names) {
    try {
      const type = (await readFile(`/sys/class/net/${name}/type`, 'utf8')).trim();
      if (type === '772') continue; // ARPHRD_LOOPBACK
      const addr = (await readFile(`/sys/class/net/${name}/address`, 'utf8')).trim();
      if (addr && !/^[0:]*$/.test(addr)) macs.add(formatMac(addr));
    } catch {
      // interfaces come and go; a vanished one has nothing to report
    }
  }
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!a.internal && a.mac && !/^[0:]*$/.test(a.mac)) macs.add(formatMac(a.mac));
    }
  }
  return [...macs];
}

function interfaceIps(): string[] {
  const ips = new Set<string>();
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) ips.add(a.address);
  }
  return [...ips];
}

/** `bookworm` from VERSION_CODENAME, else from a VERSION like `12 (bookworm)`. */
export function osCodename(rel: Record<string, string>): string | undefined {
  if (rel.VERSION_CODENAME) return rel.VERSION_CODENAME;
  const m = /\(([^)]+)\)/.exec(rel.VERSION ?? '');
  return m ? m[1]!.trim() || undefined : undefined;
}

const CONTAINER_CGROUP = /docker|lxc|kubepods|containerd|libpod|crio/;

/**
 * Whether we run inside a container: a runtime's marker file, or init's cgroup naming a
 * runtime (cgroup v1 and hybrid hosts show it there).
 */
export async function detectContainerized(root = ''): Promise<boolean> {
  for (const marker of ['/.dockerenv', '/run/.containerenv']) {
    try {
      await access(root + marker);
      return true;
    } catch {
      // not this runtime
    }
  }
  const cgroup = await readFirst([`${root}/proc/1/cgroup`]);
  return cgroup !== undefined && CONTAINER_CGROUP.test(cgroup);
}

export async function gatherHostInfo(opts: { name: string; hostId: string; netinfo: boolean }): Promise<HostInfo> {
  const rel = parseOsRelease((await readFirst(['/etc/os-release', '/usr/lib/os-release'])) ?? '');
  const id = opts.hostId || (await readFirst(['/etc/machine-id', '/var/lib/dbus/machine-id']))?.trim() || undefined;
  const platform = rel.ID ?? 'linux';
  const info: HostInfo = {
    name: opts.name || os.hostname(),
    hostname: os.hostname(),
    architecture: os.machine(),
    os: {
      type: 'linux',
      family: osFamily(platform, rel.ID_LIKE ?? ''),
      name: rel.NAME ?? 'Linux',
      version: rel.VERSION ?? rel.VERSION_ID ?? '',
      kernel: os.release(),
      platform,
    },
    containerized: await detectContainerized(),
  };
  const codename = osCodename(rel);
  if (codename !== undefined) info.os.codename = codename;
  if (id) info.id = id;
  if (opts.netinfo) {
    info.ip = interfaceIps();
    info.mac = await interfaceMacs();
  }
  return info;
}
