import type { Fields } from '../../api/event.js';

/** What the cache knows of one container: the fields it adds to each of its events. */
export interface ContainerMeta {
  id: string;
  name: string;
  /** Image reference without tag or digest, e.g. `nginx` or `registry:5000/team/app`. */
  imageName: string;
  imageTag?: string;
  labels: Record<string, string>;
}

/** The kubelet's labels on every container it creates. */
export const KUBELET_LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
} as const;

/**
 * `registry:5000/team/app:1.2` → name `registry:5000/team/app`, tag `1.2`; a digest
 * (`app@sha256:…`) has no tag. The tag is after the last `:` of the last path component,
 * so a registry port is never taken for a tag.
 */
export function splitImage(ref: string): { name: string; tag?: string } {
  const at = ref.indexOf('@');
  const noDigest = at === -1 ? ref : ref.slice(0, at);
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash && colon < noDigest.length - 1) return { name: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
  return { name: colon > slash ? noDigest.slice(0, colon) : noDigest };
}

export function makeMeta(id: string, name: string, image: string, labels: Record<string, string> | null | undefined): ContainerMeta {
  const { name: imageName, tag } = splitImage(image);
  return {
    id,
    // The API names containers `/name`.
    name: name.startsWith('/') ? name.slice(1) : name,
    imageName,
    ...(tag !== undefined ? { imageTag: tag } : {}),
    labels: labels ?? {},
  };
}

/**
 * A `create` (or `start`) event's attributes are the container's labels plus `name` and
 * `image` (and, on later actions, a few of the daemon's own keys). Enough to enrich at
 * once; an inspect replaces it with the exact labels shortly after.
 */
const DAEMON_ATTRIBUTES = new Set(['name', 'image', 'exitCode', 'signal', 'execID', 'execDuration', 'oldName']);

export function metaFromEventAttributes(id: string, attrs: Record<string, string>): ContainerMeta | undefined {
  const name = attrs.name;
  const image = attrs.image;
  if (typeof name !== 'string' || typeof image !== 'string') return undefined;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (!DAEMON_ATTRIBUTES.has(k)) labels[k] = v;
  return makeMeta(id, name, image, labels);
}

/**
 * The fields one container adds: container.{name,image,labels,runtime}, and when the
 * kubelet created it, kubernetes.* (as add_kubernetes_metadata names them) and ECS
 * orchestrator.*. Built once per container; each event gets its own copy.
 */
export function metaFields(meta: ContainerMeta, runtime: string, dedot: boolean): { container: Fields; kubernetes?: Fields; orchestrator?: Fields } {
  const image: Fields = { name: meta.imageName };
  if (meta.imageTag !== undefined) image.tag = [meta.imageTag];
  const container: Fields = { name: meta.name, image, runtime };
  const keys = Object.keys(meta.labels);
  if (keys.length > 0) {
    const labels: Fields = {};
    for (const k of keys) labels[dedot ? k.replace(/\./g, '_') : k] = meta.labels[k]!;
    container.labels = labels;
  }
  const podName = meta.labels[KUBELET_LABELS.podName];
  if (podName === undefined) return { container };
  const ns = meta.labels[KUBELET_LABELS.podNamespace];
  const uid = meta.labels[KUBELET_LABELS.podUid];
  const cname = meta.labels[KUBELET_LABELS.containerName];
  const pod: Fields = { name: podName };
  if (uid !== undefined) pod.uid = uid;
  const kubernetes: Fields = { pod };
  if (ns !== undefined) kubernetes.namespace = ns;
  if (cname !== undefined) kubernetes.container = { name: cname };
  const resource: Fields = { type: 'pod', name: podName };
  if (uid !== undefined) resource.id = uid;
  const orchestrator: Fields = { type: 'kubernetes', resource };
  if (ns !== undefined) orchestrator.namespace = ns;
  return { container, kubernetes, orchestrator };
}
