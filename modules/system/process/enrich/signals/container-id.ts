/**
 * ECS container.id and container.runtime from a process's cgroup path. Each runtime names
 * the cgroup of a container after its id, in a few known shapes (cgroup v2 or the v1 path
 * the kernel reports first). The innermost match wins, so a container nested in another
 * (docker in docker, a pod in a VM slice) reports its own id.
 */

export interface ContainerRef {
  id: string;
  /** docker, containerd, cri-o, podman, lxc; absent when the path does not say. */
  runtime?: string;
}

const HEX64 = '[0-9a-f]{64}';

interface Shape {
  re: RegExp;
  runtime?: string;
}

// Per path component. Order matters only within one component; the last component that
// matches any shape wins.
const SHAPES: Shape[] = [
  // systemd cgroup driver: <runtime>-<id>.scope; the conmon-/conmon scopes belong to the
  // monitor process outside the container and are skipped below.
  { re: new RegExp(`^docker-(${HEX64})\\.scope$`), runtime: 'docker' },
  { re: new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), runtime: 'containerd' },
  { re: new RegExp(`^crio-(${HEX64})\\.scope$`), runtime: 'cri-o' },
  { re: new RegExp(`^libpod-(${HEX64})\\.scope$`), runtime: 'podman' },
  // cgroupfs driver: /docker/<id>, /libpod_parent/libpod-<id>, containerd's /<namespace>/<id>
  { re: new RegExp(`^libpod-(${HEX64})$`), runtime: 'podman' },
  // LXC / Incus: lxc.payload.<name> (the monitor lives in lxc.monitor.<name>)
  { re: /^lxc\.payload\.([A-Za-z0-9][A-Za-z0-9_.-]*)$/, runtime: 'lxc' },
];

const BARE_ID = new RegExp(`^(${HEX64})$`);

/** The container a cgroup path belongs to, or undefined for a host cgroup. */
export function containerFromCgroup(path: string): ContainerRef | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let found: ContainerRef | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.includes('-conmon-') || part.startsWith('lxc.monitor.')) continue;
    const shaped = matchShape(part);
    if (shaped !== undefined) { found = shaped; continue; }
    const bare = BARE_ID.exec(part);
    if (bare !== null) {
      const prev = i > 0 ? parts[i - 1]! : '';
      found = { id: bare[1]!, ...runtimeFromParent(prev) };
    }
  }
  return found;
}

function matchShape(part: string): ContainerRef | undefined {
  for (const s of SHAPES) {
    const m = s.re.exec(part);
    if (m !== null) return s.runtime !== undefined ? { id: m[1]!, runtime: s.runtime } : { id: m[1]! };
  }
  return undefined;
}

/** A bare 64-hex component: the folder above tells the runtime when it can. */
function runtimeFromParent(prev: string): { runtime?: string } {
  if (prev === 'docker') return { runtime: 'docker' };
  if (prev === 'libpod_parent') return { runtime: 'podman' };
  // Kubernetes with the cgroupfs driver (/kubepods/<qos>/pod<uid>/<id>) and containerd
  // without Kubernetes (/<containerd namespace>/<id>, e.g. nerdctl's /default/<id>): the
  // runtime is not in the path.
  return {};
}
