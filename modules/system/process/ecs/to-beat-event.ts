/**
 * ProcessEvent -> ECS document (reference spec §2). Both backends go through here, so a
 * process looks the same whichever backend saw it. Fields ECS has no place for go under the
 * one custom namespace `procbeat.process.*` (declared in fields.yml).
 */
import type { BeatEvent, Fields, FieldValue } from '../../../../core/api/event.js';
import { putAlwaysFields, putEnrichmentFields } from '../enrich/ecs-fields.js';
import type { NameResolver } from '../enrich/user-names.js';
import type { ProcessEvent } from '../event.js';
import { capabilityNames, ecsCapabilityNames } from './capabilities.js';
import { processEntityId } from './entity-id.js';
import { processMessage } from './message.js';
import { isInteractiveTty } from './tty.js';
import { isoTime as iso } from './iso-time.js';

export interface EcsContext {
  /** The machine id the entity ids are derived from; no entity_id when empty. */
  hostId: string;
  names: NameResolver;
  /** Value of `procbeat.process.backend` (`procfs`, `ebpf`, `kprobe`); default: the event's backend. */
  backendName?: string;
}

/** Sets a key unless the value is undefined, so documents never carry undefined keys. */
function set(obj: Fields, key: string, value: FieldValue | undefined): void {
  if (value !== undefined) obj[key] = value;
}

/** Attaches `child` under `key` only when it got at least one field. */
function attach(obj: Fields, key: string, child: Fields): void {
  for (const _ in child) {
    obj[key] = child;
    return;
  }
}

function eventKind(ev: ProcessEvent): 'state' | 'event' {
  // Only the procfs poller sends periodic state reports; the kernel snapshot is an event.
  return ev.backend === 'procfs' && ev.flags.snapshot && ev.action === 'existing_process' ? 'state' : 'event';
}

export function processEventToBeatEvent(ev: ProcessEvent, ctx: EcsContext): BeatEvent {
  const error = ev.errors && ev.errors.length > 0 ? ev.errors.join('; ') : undefined;
  // Auditbeat's message names the first failure only; error.message keeps them all.
  const firstError = ev.errors && ev.errors.length > 0 ? ev.errors[0] : undefined;
  const full = ev.complete;
  const userName = full && ev.creds ? ctx.names.userName(ev.creds.uid) : undefined;

  // Always present (reference spec §2), whether or not the record is complete.
  const event: Fields = {
    kind: eventKind(ev),
    category: ['process'],
    type: [...ev.types],
    action: ev.action,
    module: 'system',
    dataset: 'process',
  };
  set(event, 'id', ev.reportId);
  const doc: Fields = {
    event,
    service: { type: 'system' },
    message: processMessage(ev.action, ev.name, ev.pid, userName, firstError),
  };
  if (error !== undefined) doc.error = { message: error };

  const proc: Fields = { name: ev.name, pid: ev.pid };
  if (ev.args) {
    proc.args = [...ev.args];
    proc.args_count = ev.args.length;
    proc.command_line = ev.args.join(' ');
  }
  set(proc, 'working_directory', ev.cwd);
  set(proc, 'executable', ev.executable);
  const custom: Fields = { backend: ctx.backendName ?? ev.backend };
  if (ev.exit) {
    proc.exit_code = ev.exit.code;
    const exit: Fields = {};
    set(exit, 'signal', ev.exit.signal);
    set(exit, 'core_dumped', ev.exit.coreDumped);
    set(exit, 'raw_status', ev.exit.rawStatus);
    attach(custom, 'exit', exit);
  }
  if (ev.argsTruncated) {
    custom.args_truncated = true;
    set(custom, 'args_original_bytes', ev.argsOriginalBytes);
  }
  doc.process = proc;
  doc.procbeat = { process: custom };

  if (full) addCompleteFields(doc, proc, custom, ev, ctx, userName);
  // Lineage, drift / privilege / container signals, redaction and hash reason (enrich/).
  if (full) putEnrichmentFields(doc, ev, ctx);
  putAlwaysFields(doc, ev);
  return { timestamp: ev.time, fields: doc };
}

/**
 * ECS process.user / group (effective), real_*, saved_* and supplemental_groups: what the
 * session view and ECS rules read, besides Auditbeat's user.* of the event.
 */
function putProcessUsers(proc: Fields, c: NonNullable<ProcessEvent['creds']>, names: NameResolver): void {
  const named = (id: number, name: string | undefined): Fields => (name === undefined ? { id: String(id) } : { id: String(id), name });
  proc.user = named(c.euid, names.userName(c.euid));
  proc.group = named(c.egid, names.groupName(c.egid));
  proc.real_user = named(c.uid, names.userName(c.uid));
  proc.real_group = named(c.gid, names.groupName(c.gid));
  proc.saved_user = named(c.suid, names.userName(c.suid));
  proc.saved_group = named(c.sgid, names.groupName(c.sgid));
  if (c.supplementalGids !== undefined && c.supplementalGids.length > 0) {
    proc.supplemental_groups = c.supplementalGids.map((g) => named(g, names.groupName(g)));
  }
}

function addCompleteFields(doc: Fields, proc: Fields, custom: Fields, ev: ProcessEvent, ctx: EcsContext, userName: string | undefined): void {
  if (ev.ppid !== undefined) proc.parent = { pid: ev.ppid };
  set(proc, 'start', iso(ev.start));
  if (ctx.hostId !== '' && ev.startBootNs !== undefined) proc.entity_id = processEntityId(ctx.hostId, ev.pid, ev.startBootNs);
  set(proc, 'vpid', ev.vpid);
  // Pid 0 means "none" (a kernel-started process has no session): no leader object then.
  if (ev.pgid !== undefined && ev.pgid !== 0) proc.group_leader = { pid: ev.pgid };
  if (ev.sid !== undefined && ev.sid !== 0) proc.session_leader = { pid: ev.sid };
  if (ev.exit) set(proc, 'end', iso(ev.exit.time));
  if (ev.tty) {
    proc.interactive = isInteractiveTty(ev.tty);
    if (ev.tty.major !== 0) proc.tty = { char_device: { major: ev.tty.major, minor: ev.tty.minor } };
  }
  const thread: Fields = {};
  set(thread, 'id', ev.tid);
  if (ev.caps) {
    // As Auditbeat: the ECS capability fields appear only when the set is not empty.
    const caps: Fields = {};
    const eff = ecsCapabilityNames(ev.caps.effective);
    const prm = ecsCapabilityNames(ev.caps.permitted);
    if (eff.length > 0) caps.effective = eff;
    if (prm.length > 0) caps.permitted = prm;
    attach(thread, 'capabilities', caps);
    const more: Fields = {};
    if (ev.caps.inheritable !== undefined) more.inheritable = capabilityNames(ev.caps.inheritable);
    if (ev.caps.bounding !== undefined) more.bounding = capabilityNames(ev.caps.bounding);
    if (ev.caps.ambient !== undefined) more.ambient = capabilityNames(ev.caps.ambient);
    attach(custom, 'capabilities', more);
  }
  attach(proc, 'thread', thread);
  if (ev.previous && ev.previous.length > 0) {
    proc.previous = ev.previous.map((p) => {
      const prev: Fields = {};
      set(prev, 'executable', p.executable);
      if (p.args) {
        prev.args = [...p.args];
        prev.args_count = p.args.length;
      }
      return prev;
    });
  }
  if (ev.hashes) attach(proc, 'hash', { ...ev.hashes });

  const c = ev.creds;
  if (c) {
    const names = ctx.names;
    const named = (id: string, name: string | undefined): Fields => (name === undefined ? { id } : { id, name });
    const user = named(String(c.uid), userName);
    user.group = named(String(c.gid), names.groupName(c.gid));
    user.effective = { ...named(String(c.euid), names.userName(c.euid)), group: named(String(c.egid), names.groupName(c.egid)) };
    user.saved = { ...named(String(c.suid), names.userName(c.suid)), group: named(String(c.sgid), names.groupName(c.sgid)) };
    doc.user = user;
    putProcessUsers(proc, c, names);
    const creds: Fields = {};
    if (c.fsuid !== undefined) creds.fsuid = String(c.fsuid);
    if (c.fsgid !== undefined) creds.fsgid = String(c.fsgid);
    attach(custom, 'creds', creds);
  }

  if (ev.cgroup !== undefined) custom.cgroup = { path: ev.cgroup };
  if (ev.namespaces) {
    const ns: Fields = {};
    for (const [name, inode] of Object.entries(ev.namespaces)) set(ns, name, inode);
    attach(custom, 'namespaces', ns);
  }
  const x = ev.exe;
  if (x) {
    const exe: Fields = {};
    set(exe, 'dev', x.dev);
    set(exe, 'inode', x.inode);
    set(exe, 'nlink', x.nlink);
    set(exe, 'mode', x.mode);
    set(exe, 'ctime', iso(x.ctime));
    set(exe, 'mtime', iso(x.mtime));
    set(exe, 'from_memfd', x.fromMemfd);
    set(exe, 'unlinked', x.unlinked);
    attach(custom, 'exe', exe);
    const exec: Fields = {};
    set(exec, 'setuid', x.setuid);
    set(exec, 'setgid', x.setgid);
    attach(custom, 'exec', exec);
  }
  set(custom, 'old_pid', ev.oldPid);
  set(custom, 'pidns_init_start', iso(ev.pidnsInitStart));
}
