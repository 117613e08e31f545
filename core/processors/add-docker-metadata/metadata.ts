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
 * What one container adds to each of its events, prepared once per container so that the
 * per-event work is a few property writes and small copies (no generic deep clone).
 */
export interface ContainerFacts {
  name: string;
  imageName: string;
  imageTag?: string;
  runtime: string;
  /** Label keys as they are written (dots replaced when labels.dedot is on); undefined when none. */
  labels?: Record<string, string>;
  pod?: { name: string; uid?: string; namespace?: string; container?: string };
}

export function factsOf(meta: ContainerMeta, runtime: string, dedot: boolean): ContainerFacts {
  const facts: ContainerFacts = { name: meta.name, imageName: meta.imageName, runtime };
  if (meta.imageTag !== undefined) facts.imageTag = meta.imageTag;
  const keys = Object.keys(meta.labels);
  if (keys.length > 0) {
    const labels: Record<string, string> = {};
    for (const k of keys) labels[dedot ? k.replace(/\./g, '_') : k] = meta.labels[k]!;
    facts.labels = labels;
  }
  const podName = meta.labels[KUBELET_LABELS.podName];
  if (podName !== undefined) {
    facts.pod = { name: podName };
    const uid = meta.labels[KUBELET_LABELS.podUid];
    const ns = meta.labels[KUBELET_LABELS.podNamespace];
    const cname = meta.labels[KUBELET_LABELS.containerName];
    if (uid !== undefined) facts.pod.uid = uid;
    if (ns !== undefined) facts.pod.namespace = ns;
    if (cname !== undefined) facts.pod.container = cname;
  }
  return facts;
}

/**
 * Writes container.{name,image,labels,runtime} (and container.id when the event has none)
 * and, for a kubelet-created container, kubernetes.* (as add_kubernetes_metadata names
 * them) and ECS orchestrator.*. Every object written is the event's own.
 */
export function writeFacts(f: Fields, id: string, facts: ContainerFacts): void {
  let c = f.container;
  if (!isFields(c)) {
    c = {};
    f.container = c;
  }
  if (c.id === undefined) c.id = id;
  c.name = facts.name;
  c.image = facts.imageTag !== undefined ? { name: facts.imageName, tag: [facts.imageTag] } : { name: facts.imageName };
  if (facts.labels !== undefined) c.labels = { ...facts.labels };
  c.runtime = facts.runtime;
  const pod = facts.pod;
  if (pod === undefined) return;
  const kpod: Fields = { name: pod.name };
  if (pod.uid !== undefined) kpod.uid = pod.uid;
  const k = own(f, 'kubernetes');
  k.pod = kpod;
  if (pod.namespace !== undefined) k.namespace = pod.namespace;
  if (pod.container !== undefined) k.container = { name: pod.container };
  const resource: Fields = { type: 'pod', name: pod.name };
  if (pod.uid !== undefined) resource.id = pod.uid;
  const o = own(f, 'orchestrator');
  o.type = 'kubernetes';
  if (pod.namespace !== undefined) o.namespace = pod.namespace;
  o.resource = resource;
}

function own(f: Fields, key: string): Fields {
  const cur = f[key];
  if (isFields(cur)) return cur;
  const created: Fields = {};
  f[key] = created;
  return created;
}

function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields one container adds, as a document fragment (for tests and docs). */
export function metaFields(meta: ContainerMeta, runtime: string, dedot: boolean): Fields {
  const doc: Fields = { container: { id: meta.id } };
  writeFacts(doc, meta.id, factsOf(meta, runtime, dedot));
  delete (doc.container as Fields).id;
  return doc;
}
