/**
 * Lineage: fills ProcessEvent.lineage (parent, group leader, session leader, entry leader)
 * from the process table. Events must be given in the order the backend produced them:
 * each one first updates the table, then is resolved against it.
 */
import type { MetricsNamespace } from '../../../../../core/api/metrics.js';
import type { EntryLeader, Lineage, ProcessEvent, RelatedProcess } from '../../event.js';
import { entryLeaderOf, INIT_PID_NS_INODE } from './entry-leader.js';
import { relatedOf, type Known } from './known.js';
import { procLookup, sshSourceIp } from './proc-lookup.js';
import { ProcessTable, type ProcessLookup } from './table.js';

export { ProcessTable, type ProcessLookup } from './table.js';
export { entryLeaderOf, entryPointType, INIT_PID_NS_INODE } from './entry-leader.js';
export type { Known } from './known.js';

export interface LineageOptions {
  /** `process.lineage.cache_size`. */
  maxEntries: number;
  /** `process.lineage.grace_period` in ms. */
  graceMs: number;
  maxBytes?: number;
  metrics?: MetricsNamespace;
  /** Default: /proc. Tests give their own. */
  lookups?: ProcessLookup[];
  /** Default: SSH_CONNECTION from /proc/<pid>/environ. */
  sshSource?: (pid: number, startBootNs: bigint | undefined) => string | undefined;
  perf?: { now(): number };
}

const MAX_PIDNS_WALK = 512;
/** A parent this close in start time to its child may have been read mid-exec by procfs. */
const YOUNG_PARENT_MS = 5000;

export class LineageResolver {
  readonly table: ProcessTable;
  private readonly sshSource: (pid: number, startBootNs: bigint | undefined) => string | undefined;
  private readonly metrics: MetricsNamespace | undefined;

  constructor(opts: LineageOptions) {
    this.metrics = opts.metrics;
    this.table = new ProcessTable({
      maxEntries: opts.maxEntries,
      graceMs: opts.graceMs,
      lookups: opts.lookups ?? [procLookup()],
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}),
      ...(opts.perf !== undefined ? { perf: opts.perf } : {}),
    });
    this.sshSource = opts.sshSource ?? ((pid, start) => sshSourceIp(pid, start));
  }

  /** The kernel backend's own process cache, asked before /proc on a miss. */
  setProcessLookup(lookup: ProcessLookup): void {
    this.table.addLookupFirst(lookup);
  }

  /** Updates the table with `ev` and sets `ev.lineage`; returns the process's table entry. */
  enrich(ev: ProcessEvent): Known {
    const self = this.table.observe(ev);
    if (ev.backend === 'procfs') this.refreshYoungParent(self);
    const lineage: Lineage = {};
    const parent = this.parentOf(self);
    if (parent !== undefined) lineage.parent = this.related(parent);
    const group = this.leaderOf(self, 'group', ev.time);
    if (group !== undefined) lineage.groupLeader = this.related(group, this.parentOf(group));
    const session = this.leaderOf(self, 'session', ev.time);
    if (session !== undefined) lineage.sessionLeader = this.related(session, this.parentOf(session));
    lineage.entryLeader = this.entryLeader(self);
    ev.lineage = lineage;
    return self;
  }

  /**
   * procfs reads each process once. A parent first read within moments of its own start may
   * have been caught between fork and exec (or before setsid): read it again, once, when its
   * first child shows up, so the child's parent and entry leader see its final image and ids.
   */
  private refreshYoungParent(self: Known): void {
    const parent = this.parentOf(self);
    if (parent === undefined || parent.refreshed || parent.start === undefined || self.start === undefined) return;
    parent.refreshed = true;
    if (self.start.getTime() - parent.start.getTime() > YOUNG_PARENT_MS) return;
    this.table.refresh(parent);
  }

  /** The parent: a process that had started by the time its child did. */
  parentOf(k: Known): Known | undefined {
    const ppid = k.ppid;
    if (ppid === undefined || ppid === 0 || ppid === k.pid) return undefined;
    if (k.parentRef?.pid === ppid) return k.parentRef.known;
    const p = this.table.find(ppid, {
      ...(k.startBootNs !== undefined ? { startedByNs: k.startBootNs } : {}),
      ...(k.start !== undefined ? { startedBy: k.start } : {}),
    });
    if (p !== undefined) k.parentRef = { pid: ppid, known: p };
    return p;
  }

  /**
   * The process group or session leader. A leader may be younger than a member (a shell
   * may move an older child into a newer group), but it existed when the event happened;
   * and the kernel does not reuse a pid while it names a live group or session.
   */
  private leaderOf(k: Known, which: 'group' | 'session', at: Date): Known | undefined {
    const id = which === 'group' ? k.pgid : k.sid;
    if (id === undefined || id === 0) return undefined;
    if (id === k.pid) return k;
    const ref = which === 'group' ? k.groupRef : k.sessionRef;
    if (ref?.pid === id) return ref.known;
    const leader = this.table.find(id, { startedBy: at });
    if (leader !== undefined) {
      if (which === 'group') k.groupRef = { pid: id, known: leader };
      else k.sessionRef = { pid: id, known: leader };
    }
    return leader;
  }

  private entryLeader(self: Known): EntryLeader {
    const ref = entryLeaderOf(self, (k) => this.parentOf(k));
    if (ref.type === 'unknown') this.metrics?.inc('lineage.unknown_entry_leaders');
    if (ref.type === 'sshd' && !ref.sourceTried && ref.leader.exitedAt === undefined) {
      ref.sourceTried = true;
      const ip = this.sshSource(ref.leader.pid, ref.leader.startBootNs);
      if (ip !== undefined) ref.sourceIp = ip;
    }
    const entry: EntryLeader = { ...relatedOf(ref.leader, this.parentOf(ref.leader)), entryType: ref.type };
    if (ref.sourceIp !== undefined) entry.sourceIp = ref.sourceIp;
    return entry;
  }

  private related(k: Known, parent?: Known): RelatedProcess {
    return relatedOf(k, parent);
  }

  /**
   * Start of the init (vpid 1) of the process's pid namespace when it is not the host's, found
   * through the ancestors that share the namespace (procfs events do not carry it).
   */
  pidNamespaceInitStart(self: Known): Date | undefined {
    if (self.pidNs === undefined || self.pidNs === INIT_PID_NS_INODE) return undefined;
    let node: Known | undefined = self;
    for (let i = 0; node !== undefined && i < MAX_PIDNS_WALK; i++) {
      if (node.vpid === 1) return node.start;
      const parent = this.parentOf(node);
      if (parent === undefined || parent.pidNs !== self.pidNs) return undefined;
      node = parent;
    }
    return undefined;
  }
}
