/**
 * The ECS fields of the enrichment (lineage, signals, redaction, hash reason), written into
 * the document the ECS mapping builds. Entity ids come from the mapping's own function, so
 * a process has the same entity_id as itself, as a parent and as a leader.
 */
import type { Fields, FieldValue } from '../../../../core/api/event.js';
import { processEntityId } from '../ecs/entity-id.js';
import type { ProcessEvent, RelatedMemo, RelatedProcess } from '../event.js';
import type { NameResolver } from './user-names.js';
import { isoTime as iso } from '../ecs/iso-time.js';
import { isInteractiveTty } from '../ecs/tty.js';

export interface EnrichmentEcsContext {
  hostId: string;
  names: NameResolver;
}

/** The object at a dotted path, created on the way (one split per prefix, not per field). */
function nodeAt(doc: Fields, path: string): Fields {
  let node = doc;
  for (const k of path.split('.')) {
    const next = node[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) {
      const fresh: Fields = {};
      node[k] = fresh;
      node = fresh;
    } else {
      node = next as Fields;
    }
  }
  return node;
}

function set(obj: Fields, key: string, value: FieldValue | undefined): void {
  if (value !== undefined) obj[key] = value;
}

function named(id: number, name: string | undefined): Fields {
  return name === undefined ? { id: String(id) } : { id: String(id), name };
}

/** Parents and leaders are named on many documents: their ids are kept with the table entry, not rehashed each time. */
function entityId(ctx: EnrichmentEcsContext, rel: { pid: number; startBootNs?: bigint; memo?: RelatedMemo }): string | undefined {
  const { pid, startBootNs } = rel;
  if (ctx.hostId === '' || startBootNs === undefined) return undefined;
  const kept = rel.memo?.entityId;
  if (kept !== undefined && kept.pid === pid && kept.startBootNs === startBootNs && kept.hostId === ctx.hostId) return kept.id;
  const id = processEntityId(ctx.hostId, pid, startBootNs);
  if (rel.memo !== undefined) rel.memo.entityId = { pid, startBootNs, hostId: ctx.hostId, id };
  return id;
}

/** Fields that exist whether or not the record was complete (they concern process.args / hashing). */
export function putAlwaysFields(doc: Fields, ev: ProcessEvent): void {
  if (ev.argsRedacted) nodeAt(doc, 'procbeat.process').args_redacted = true;
  if (ev.hashes === undefined && ev.hashReason !== undefined) nodeAt(doc, 'procbeat.process').hash_reason = ev.hashReason;
}

/** Lineage and signal fields (complete records only, like the rest of the process details). */
export function putEnrichmentFields(doc: Fields, ev: ProcessEvent, ctx: EnrichmentEcsContext): void {
  const l = ev.lineage;
  if (l !== undefined) {
    const proc = nodeAt(doc, 'process');
    if (l.parent !== undefined) putRelated(nodeAt(proc, 'parent'), l.parent, ctx);
    for (const [key, rel] of [['group_leader', l.groupLeader], ['session_leader', l.sessionLeader], ['entry_leader', l.entryLeader]] as const) {
      // Pid 0 is "no leader" (sid 0 of a kernel-started process): Auditbeat omits the object.
      if (rel === undefined || rel.pid === 0) continue;
      const target = nodeAt(proc, key);
      putRelated(target, rel, ctx);
      target.same_as_process = rel.pid === ev.pid
        && (rel.startBootNs === undefined || ev.startBootNs === undefined || rel.startBootNs === ev.startBootNs);
      const p = rel.parent;
      // ECS has <leader>.parent for the session and entry leader only.
      if (p !== undefined && key !== 'group_leader') {
        const parent: Fields = { pid: p.pid };
        set(parent, 'vpid', p.vpid);
        set(parent, 'entity_id', entityId(ctx, p));
        set(parent, 'start', iso(p.start));
        target.parent = parent;
      }
    }
    if (l.entryLeader !== undefined) {
      const meta: Fields = { type: l.entryLeader.entryType };
      if (l.entryLeader.sourceIp !== undefined) meta.source = { ip: l.entryLeader.sourceIp };
      nodeAt(proc, 'entry_leader').entry_meta = meta;
    }
  }

  const x = ev.exe;
  const s = ev.signals;
  const hasExec = s?.exec !== undefined || x?.privilegesChanged !== undefined;
  if (x !== undefined || s?.exe !== undefined) {
    const exe = nodeAt(doc, 'procbeat.process.exe');
    if (x !== undefined) {
      set(exe, 'uid', x.uid !== undefined ? String(x.uid) : undefined);
      set(exe, 'gid', x.gid !== undefined ? String(x.gid) : undefined);
      set(exe, 'size', x.size);
    }
    if (s?.exe !== undefined) {
      set(exe, 'ctime_to_exec_ms', s.exe.ctimeToExecMs);
      set(exe, 'mtime_to_exec_ms', s.exe.mtimeToExecMs);
      set(exe, 'writable_by_user', s.exe.writableByUser);
    }
  }
  if (hasExec) {
    const exec = nodeAt(doc, 'procbeat.process.exec');
    set(exec, 'privileges_changed', s?.exec?.privilegesChanged ?? x?.privilegesChanged);
    if (s?.exec !== undefined) {
      set(exec, 'euid_gained', s.exec.euidGained !== undefined ? String(s.exec.euidGained) : undefined);
      set(exec, 'egid_gained', s.exec.egidGained !== undefined ? String(s.exec.egidGained) : undefined);
      set(exec, 'file_capabilities', s.exec.fileCapabilities);
      if (s.exec.inferred) exec.inferred = true;
    }
  }
  const c = s?.container;
  if (c !== undefined) {
    if (c.id !== undefined) {
      const container = nodeAt(doc, 'container');
      container.id = c.id;
      set(container, 'runtime', c.runtime);
    }
    const start = iso(c.start);
    if (start !== undefined) nodeAt(doc, 'procbeat.process.container').start = start;
  }
}

function putRelated(target: Fields, rel: RelatedProcess, ctx: EnrichmentEcsContext): void {
  target.pid = rel.pid;
  set(target, 'vpid', rel.vpid);
  set(target, 'entity_id', entityId(ctx, rel));
  set(target, 'start', iso(rel.start));
  set(target, 'name', rel.name);
  set(target, 'executable', rel.executable);
  if (rel.args !== undefined) {
    target.args = [...rel.args];
    target.args_count = rel.args.length;
    target.command_line = rel.args.join(' ');
  }
  set(target, 'working_directory', rel.cwd);
  if (rel.tty !== undefined) {
    target.interactive = isInteractiveTty(rel.tty);
    if (rel.tty.major !== 0) target.tty = { char_device: { major: rel.tty.major, minor: rel.tty.minor } };
  }
  const c = rel.creds;
  if (c !== undefined) {
    // ECS: user / group are the effective ids, real_* the real ones.
    target.user = named(c.euid, ctx.names.userName(c.euid));
    target.group = named(c.egid, ctx.names.groupName(c.egid));
    target.real_user = named(c.uid, ctx.names.userName(c.uid));
    target.real_group = named(c.gid, ctx.names.groupName(c.gid));
    target.saved_user = named(c.suid, ctx.names.userName(c.suid));
    target.saved_group = named(c.sgid, ctx.names.groupName(c.sgid));
    if (c.supplementalGids !== undefined && c.supplementalGids.length > 0) {
      target.supplemental_groups = c.supplementalGids.map((g) => named(g, ctx.names.groupName(g)));
    }
  }
}
