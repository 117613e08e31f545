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
  fromMemfd?: boolean;
  unlinked?: boolean;
  /** The exec changed privileges because of a setuid / setgid bit. */
  setuid?: boolean;
  setgid?: boolean;
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

  /** False when the kernel lost part of the record; ECS mapping then emits only the always-fields. */
  complete: boolean;
  /** Enrichment failures, each becomes part of error.message. */
  errors?: string[];
}
