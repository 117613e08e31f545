/**
 * ProcessEvent: the one normalized shape both backends (procfs, kernel_tracing) produce.
 * Enrichment adds to it; `ecs.ts` turns it into the ECS document. Optional fields are
 * absent when the backend could not know them, never filled with guesses.
 */

export type ProcessAction =
  | 'existing_process'
  | 'process_started'
  | 'process_stopped'
  | 'process_ran'
  | 'process_changed_image'
  | 'process_error';

export type ProcessEventType = 'info' | 'start' | 'change' | 'end';

export interface ProcessFlags {
  snapshot: boolean;
  fork: boolean;
  exec: boolean;
  exit: boolean;
}

export interface Credentials {
  uid: number; gid: number;
  euid: number; egid: number;
  suid: number; sgid: number;
  fsuid?: number; fsgid?: number;
  supplementalGids?: number[];
}

/** Capability sets as 64-bit masks. */
export interface Capabilities {
  effective: bigint;
  permitted: bigint;
  inheritable?: bigint;
  bounding?: bigint;
  ambient?: bigint;
}

export interface ExitInfo {
  /** Exit code when the process exited normally (WEXITSTATUS); for a signal death, 128 + signal as shells report it. */
  code: number;
  /** Terminating signal number, absent when it exited normally. */
  signal?: number;
  coreDumped?: boolean;
  /** The raw wait status as the kernel keeps it. */
  rawStatus?: number;
  time: Date;
}

export interface Namespaces {
  pid?: number; mnt?: number; net?: number; uts?: number;
  ipc?: number; user?: number; cgroup?: number;
}

/** Facts about the executable file at exec time (kernel_tracing only). */
export interface ExecutableFacts {
  dev?: number;
  inode?: number;
  nlink?: number;
  mode?: number;
  ctime?: Date;
  mtime?: Date;
  /** The same instants in ns (kernel_tracing): with dev, inode, size, mode, nlink, uid and gid they name the file version the hasher caches. */
  ctimeNs?: bigint;
  mtimeNs?: bigint;
  fromMemfd?: boolean;
  unlinked?: boolean;
  /** The exec changed privileges because of a setuid / setgid bit. */
  setuid?: boolean;
  setgid?: boolean;
  /** Owner, group and size of the executable file (record fields exe_uid, exe_gid, exe_size; a stat for procfs). */
  uid?: number;
  gid?: number;
  size?: number;
  /** The kernel changed privileges at this exec (set-id bits or file capabilities: QF exec flag PRIV_CHANGED). */
  privilegesChanged?: boolean;
}

/**
 * What is derived from a related process for its children's documents, kept with its table
 * entry so each is made once per process rather than once per child. Each value keeps the
 * input it was made from and is remade when that changed.
 */
export interface RelatedMemo {
  /** The redacted form of `args` (process.args_redaction). */
  redacted?: { of: string[]; args: string[]; changed: boolean };
  /** process.entity_id for this pid, start and host id. */
  entityId?: { pid: number; startBootNs: bigint; hostId: string; id: string };
}

/**
 * Another process this event's process is related to (parent, group / session / entry leader),
 * as the enrichment's process table knows it. `startBootNs` feeds the same entity_id function
 * the process itself uses, so the ids are equal wherever one process is named.
 */
export interface RelatedProcess {
  pid: number;
  vpid?: number;
  startBootNs?: bigint;
  start?: Date;
  name?: string;
  executable?: string;
  args?: string[];
  cwd?: string;
  creds?: Credentials;
  tty?: { major: number; minor: number };
  /** The related process's own parent, for ECS `<leader>.parent.*`. */
  parent?: { pid: number; vpid?: number; startBootNs?: bigint; start?: Date; memo?: RelatedMemo };
  /** Shared with the lineage table's entry for this process. */
  memo?: RelatedMemo;
}

/** ECS process.entry_leader.entry_meta.type. */
export type EntryLeaderType =
  | 'init' | 'sshd' | 'ssm' | 'kubelet' | 'teleport' | 'terminal' | 'console' | 'container' | 'unknown';

export interface EntryLeader extends RelatedProcess {
  entryType: EntryLeaderType;
  /** Remote address of the entry (the ssh client), when knowable. */
  sourceIp?: string;
}

/** Set by the enrichment (enrich/lineage); each part absent when the table does not know it. */
export interface Lineage {
  parent?: RelatedProcess;
  groupLeader?: RelatedProcess;
  sessionLeader?: RelatedProcess;
  entryLeader?: EntryLeader;
}

/** Drift, privilege and container signals (enrich/signals), mapped under procbeat.process.* and container.*. */
export interface ProcessSignals {
  exe?: {
    /** ms from the executable's last status change (ctime) / modification (mtime) to the exec; negative when after it. */
    ctimeToExecMs?: number;
    mtimeToExecMs?: number;
    /** The executable file is writable by the process's real or effective user. */
    writableByUser?: boolean;
  };
  exec?: {
    privilegesChanged?: boolean;
    /** The effective uid / gid the exec granted (set-id exec only). */
    euidGained?: number;
    egidGained?: number;
    /** Privileges changed without a set-id bit: file capabilities. */
    fileCapabilities?: boolean;
    /** True when inferred from /proc (procfs: file mode + credentials), not seen at the exec. */
    inferred?: boolean;
  };
  container?: {
    id?: string;
    runtime?: string;
    /** Start of the init of the process's pid namespace, when that is not the host's. */
    start?: Date;
  };
}

export interface PreviousImage {
  executable?: string;
  args?: string[];
}

export interface ProcessEvent {
  backend: 'procfs' | 'kernel_tracing';
  action: ProcessAction;
  types: ProcessEventType[];
  flags: ProcessFlags;
  /** When it happened (the latest of fork/exec/exit for an aggregated record). */
  time: Date;
  /** procfs state reports share one id per report (event.id). */
  reportId?: string;

  pid: number;
  tid?: number;
  ppid?: number;
  vpid?: number;
  pgid?: number;
  sid?: number;
  /** Pid before exec when a non-leader thread exec'd. */
  oldPid?: number;

  name: string;               // comm
  executable?: string;        // absolute path
  args?: string[];
  argsTruncated?: boolean;
  /** Length in bytes of the argv block in the kernel when it was truncated. */
  argsOriginalBytes?: number;
  cwd?: string;

  /** Wall-clock start; `startBootNs` is the same instant on the boot clock (for entity ids). */
  start?: Date;
  startBootNs?: bigint;

  creds?: Credentials;
  caps?: Capabilities;
  tty?: { major: number; minor: number };
  exit?: ExitInfo;
  cgroup?: string;
  namespaces?: Namespaces;
  exe?: ExecutableFacts;
  pidnsInitStart?: Date;
  previous?: PreviousImage[];
  /** Digests of the executable by hash type (`sha1`, `sha256`, ...), lower-case hex; set by the hasher. */
  hashes?: Record<string, string>;
  /** Why there is no hash although nothing failed now (procbeat.process.hash_reason, docs/hashing.md). */
  hashReason?: string;
  /** When the exec of the current image happened (kernel_tracing exec records; absent when unknown). */
  execTime?: Date;
  /** Parent and leaders, from the enrichment's process table. */
  lineage?: Lineage;
  /** Drift, privilege and container signals, from the enrichment. */
  signals?: ProcessSignals;
  /** True when process.args_redaction changed an argument of this event (any args list). */
  argsRedacted?: boolean;

  /** False when the kernel lost part of the record; ECS mapping then emits only the always-fields. */
  complete: boolean;
  /** Enrichment failures, each becomes part of error.message. */
  errors?: string[];
}
