/**
 * Drift, privilege and container signals for one ProcessEvent (ev.signals), plus the
 * executable facts procfs events lack (ev.exe, read from /proc/<pid>/exe). Runs after the
 * lineage step, whose table entry for the process remembers facts across its events (a
 * procfs stop event is built after the process is gone).
 */
import type { ExecutableFacts, ProcessEvent, ProcessSignals } from '../../event.js';
import type { Known } from '../lineage/known.js';
import { INIT_PID_NS_INODE } from '../lineage/entry-leader.js';
import { containerFromCgroup } from './container-id.js';
import { driftSignals } from './drift.js';
import { ExeOwnerCache, statRunningExe } from './exe-facts.js';
import { execPrivilegeSignals, inferredPrivilegeSignals } from './privilege.js';

export { containerFromCgroup, type ContainerRef } from './container-id.js';
export { driftSignals, writableByUser } from './drift.js';
export { execPrivilegeSignals, inferredPrivilegeSignals } from './privilege.js';

export interface SignalsContext {
  /** Start of the process's pid namespace init, from the lineage when the event lacks it. */
  pidNamespaceInitStart(self: Known): Date | undefined;
  /** Default: stat /proc/<pid>/exe. */
  statRunningExe?: (pid: number, startBootNs: bigint | undefined) => ExecutableFacts | undefined;
}

export class SignalsStep {
  private readonly owners = new ExeOwnerCache();
  private readonly statExe: (pid: number, startBootNs: bigint | undefined) => ExecutableFacts | undefined;

  constructor(private readonly ctx: SignalsContext) {
    this.statExe = ctx.statRunningExe ?? ((pid, start) => statRunningExe(pid, start));
  }

  apply(ev: ProcessEvent, self: Known): void {
    if (ev.backend === 'procfs') this.fillProcfsExe(ev, self);
    else this.fillOwner(ev, self);

    const signals: ProcessSignals = {};
    const x = ev.exe;
    if (x !== undefined) {
      const drift = driftSignals(x, ev.creds, this.execReference(ev, self));
      if (Object.keys(drift).length > 0) signals.exe = drift;
      if (ev.backend === 'procfs') {
        const inferred = inferredPrivilegeSignals(x, ev.creds);
        if (inferred !== undefined) {
          ev.exe = { ...x, setuid: inferred.setuid, setgid: inferred.setgid };
          signals.exec = inferred.signals;
        }
      } else {
        const exec = execPrivilegeSignals(x, ev.creds);
        if (exec !== undefined) signals.exec = exec;
      }
    }

    const container = ev.cgroup !== undefined ? containerFromCgroup(ev.cgroup) : undefined;
    const pidNs = ev.namespaces?.pid ?? self.pidNs;
    const start = pidNs !== undefined && pidNs !== INIT_PID_NS_INODE
      ? ev.pidnsInitStart ?? this.ctx.pidNamespaceInitStart(self)
      : undefined;
    if (container !== undefined || start !== undefined) {
      signals.container = { ...container, ...(start !== undefined ? { start } : {}) };
    }
    if (Object.keys(signals).length > 0) ev.signals = signals;
  }

  /**
   * The moment the drift durations are measured to: the exec when the event says when it
   * was, else the process start, as Falco measures (`proc.exe_ino.ctime_duration_proc_start`).
   * For an exec without fork the start is much earlier than the exec, so the start is only
   * used when no exec is involved or the exec came right after the fork.
   */
  private execReference(ev: ProcessEvent, self: Known): Date | undefined {
    let ref: Date | undefined = ev.execTime;
    if (ref === undefined && ev.flags.exec) {
      // eventTime of a record is exit ?? exec ?? fork.
      if (!ev.flags.exit) ref = ev.time;
      else if (ev.flags.fork) ref = ev.start;
    }
    if (ref !== undefined) {
      if (ev.flags.exec) self.execTime = ref;
      return ref;
    }
    if (ev.flags.exec) return undefined;
    return self.execTime ?? ev.start;
  }

  private fillProcfsExe(ev: ProcessEvent, self: Known): void {
    if (ev.exe?.inode !== undefined) return;
    // Known from an earlier event of this process, or read now while it runs.
    const known = self.exe?.inode !== undefined ? self.exe : this.statExe(ev.pid, ev.startBootNs);
    if (known === undefined) return;
    ev.exe = { ...known, ...ev.exe };
    self.exe = ev.exe;
  }

  private fillOwner(ev: ProcessEvent, self: Known): void {
    const x = ev.exe;
    if (x?.inode === undefined || x.uid !== undefined) return;
    const owner = self.exe?.inode === x.inode && self.exe.uid !== undefined
      ? { uid: self.exe.uid, gid: self.exe.gid!, size: self.exe.size! }
      : this.owners.ownerOf(ev);
    if (owner === undefined) return;
    ev.exe = { ...x, uid: owner.uid, gid: owner.gid, ...(x.size === undefined ? { size: owner.size } : {}) };
    self.exe = { ...self.exe, ...ev.exe };
  }
}
