/**
 * The enrichment step of system/process, the same for both backends:
 *
 * 1. `hash(ev)` (async, may wait up to process.hash.max_wait): executable digests, or the
 *    reason there are none (docs/hashing.md).
 * 2. `apply(ev)` (sync, in the order the backend produced the events, right before the ECS
 *    document is built): lineage (parent and leaders), drift / privilege / container
 *    signals, then argument redaction over every args list the document will carry.
 */
import { LRUCache } from 'lru-cache';
import type { MetricsRegistry } from '../../../../core/api/metrics.js';
import type { ProcessEvent, RelatedMemo, RelatedProcess } from '../event.js';
import type { HashProcessOptions, HashResult, Hasher } from './hasher/index.js';
import { LineageResolver, type ProcessLookup } from './lineage/index.js';
import type { ArgsRedactor } from './redact.js';
import { SignalsStep } from './signals/index.js';

export const LINEAGE_METRICS_NAMESPACE = 'system.process';

export interface EnrichmentOptions {
  hasher?: Hasher;
  /** Undefined when process.args_redaction is off. */
  redactor?: ArgsRedactor;
  lineage: { maxEntries: number; graceMs: number; maxBytes?: number };
  metrics?: MetricsRegistry;
  /** Tests replace /proc. */
  lookups?: ProcessLookup[];
  sshSource?: (pid: number, startBootNs: bigint | undefined) => string | undefined;
  perf?: { now(): number };
}

export class Enrichment {
  readonly lineage: LineageResolver;
  private readonly signals: SignalsStep;
  private readonly hasher: Hasher | undefined;
  private readonly redactor: ArgsRedactor | undefined;
  /** hash_reason per process (pid + start), for the events of it that were not hashed themselves. */
  private readonly hashReasons = new LRUCache<string, string>({ max: 4096 });

  constructor(opts: EnrichmentOptions) {
    this.hasher = opts.hasher;
    this.redactor = opts.redactor;
    const metrics = opts.metrics?.namespace(LINEAGE_METRICS_NAMESPACE);
    this.lineage = new LineageResolver({
      maxEntries: opts.lineage.maxEntries,
      graceMs: opts.lineage.graceMs,
      ...(opts.lineage.maxBytes !== undefined ? { maxBytes: opts.lineage.maxBytes } : {}),
      ...(metrics !== undefined ? { metrics } : {}),
      ...(opts.lookups !== undefined ? { lookups: opts.lookups } : {}),
      ...(opts.sshSource !== undefined ? { sshSource: opts.sshSource } : {}),
      ...(opts.perf !== undefined ? { perf: opts.perf } : {}),
    });
    this.signals = new SignalsStep({ pidNamespaceInitStart: (k) => this.lineage.pidNamespaceInitStart(k) });
  }

  /** The kernel backend's process cache (quark-ffi `lookup`), asked before /proc for unknown parents. */
  setProcessLookup(lookup: ProcessLookup): void {
    this.lineage.setProcessLookup(lookup);
  }

  /**
   * Sets the hashes (or the reason there are none) when the hasher knows them without a
   * system call or a wait: the steady path of a fork storm. False: call `hash(ev)`.
   */
  hashKnown(ev: ProcessEvent): boolean {
    if (this.hasher === undefined || !ev.executable) return true;
    const r = this.hasher.knownResult?.(ev.pid, ev.executable, hashOptions(ev));
    if (r === undefined) return false;
    this.takeHashResult(ev, r);
    return true;
  }

  /** Digests of the executable, or why there are none. Never throws. */
  async hash(ev: ProcessEvent): Promise<void> {
    if (this.hasher === undefined || !ev.executable) return;
    try {
      this.takeHashResult(ev, await this.hasher.hashProcessExecutable(ev.pid, ev.executable, hashOptions(ev)));
    } catch (err) {
      ev.errors = [...(ev.errors ?? []), `failed to hash executable ${ev.executable} for PID ${ev.pid}: ${err instanceof Error ? err.message : String(err)}`];
    }
  }

  private takeHashResult(ev: ProcessEvent, r: HashResult): void {
    if (r.hashes) {
      ev.hashes = { ...r.hashes } as Record<string, string>;
      this.hashReasons.delete(processKey(ev));
      return;
    }
    // A new error goes on this document once (error.message); after that, and for the
    // reasons that are not errors, the text goes into procbeat.process.hash_reason.
    if (r.errorMessage && r.errorIsNew) ev.errors = [...(ev.errors ?? []), r.errorMessage];
    else if (r.errorMessage) this.noteHashReason(ev, r.errorMessage);
    else if (r.reason) this.noteHashReason(ev, r.reason);
  }

  /** Lineage, signals and redaction. Call for every event, in the backend's order. */
  apply(ev: ProcessEvent): void {
    const self = this.lineage.enrich(ev);
    this.signals.apply(ev, self);
    if (ev.hashes === undefined && ev.hashReason === undefined) {
      const reason = this.hashReasons.get(processKey(ev));
      if (reason !== undefined) ev.hashReason = reason;
    }
    if (this.redactor !== undefined) this.redact(ev, this.redactor);
  }

  async close(): Promise<void> {
    await this.hasher?.close();
  }

  private noteHashReason(ev: ProcessEvent, reason: string): void {
    ev.hashReason = reason;
    this.hashReasons.set(processKey(ev), reason);
  }

  private redact(ev: ProcessEvent, redactor: ArgsRedactor): void {
    let changed = false;
    if (ev.args !== undefined) {
      const r = redactor.redactArgs(ev.args);
      if (r.redacted > 0) { ev.args = r.args; changed = true; }
    }
    if (ev.previous !== undefined) {
      ev.previous = ev.previous.map((p) => {
        if (p.args === undefined) return p;
        const r = redactor.redactArgs(p.args);
        if (r.redacted === 0) return p;
        changed = true;
        return { ...p, args: r.args };
      });
    }
    const l = ev.lineage;
    if (l !== undefined) {
      for (const rel of [l.parent, l.groupLeader, l.sessionLeader, l.entryLeader]) {
        if (rel !== undefined && this.redactRelated(rel, redactor)) changed = true;
      }
    }
    if (changed) ev.argsRedacted = true;
  }

  /** A relative's args are the table entry's array: its redacted form is computed once. */
  private redactRelated(rel: RelatedProcess, redactor: ArgsRedactor): boolean {
    const args = rel.args;
    if (args === undefined) return false;
    const memo = rel.memo;
    const cached = memo?.redacted?.of === args ? memo.redacted : undefined;
    const result = cached ?? remember(memo, args, redactor);
    if (result.changed) rel.args = result.args;
    return result.changed;
  }
}

function remember(memo: RelatedMemo | undefined, args: string[], redactor: ArgsRedactor): { args: string[]; changed: boolean } {
  const r = redactor.redactArgs(args);
  const out = { of: args, args: r.args, changed: r.redacted > 0 };
  if (memo !== undefined) memo.redacted = out;
  return out;
}

/** What the kernel told about the executable: the hasher's key and its guard against swapped files. */
function hashOptions(ev: ProcessEvent): HashProcessOptions {
  const opts: HashProcessOptions = {};
  if (ev.namespaces?.mnt !== undefined) opts.mntNs = ev.namespaces.mnt;
  const x = ev.exe;
  if (x !== undefined && x.dev !== undefined && x.inode !== undefined && x.size !== undefined && x.mode !== undefined
    && x.nlink !== undefined && x.uid !== undefined && x.gid !== undefined && x.mtimeNs !== undefined && x.ctimeNs !== undefined) {
    opts.identity = {
      dev: x.dev, ino: BigInt(x.inode), size: BigInt(x.size), mode: x.mode, nlink: x.nlink,
      uid: x.uid, gid: x.gid, mtimeNs: x.mtimeNs, ctimeNs: x.ctimeNs,
    };
  }
  return opts;
}

function processKey(ev: ProcessEvent): string {
  return `${ev.pid}:${ev.startBootNs ?? ''}`;
}
