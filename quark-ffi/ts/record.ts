/**
 * The typed form of quark-ffi's batch format (quark-ffi/FORMAT.md, version 1).
 * A field group is present only when the record's validity bit for it is set: the C side
 * writes 0 for unknown values, and 0 is a real pid, uid and inode, so absence is the only
 * honest way to say "unknown". 64-bit kernel values that can exceed 2^53 (times in ns,
 * capability masks, inode numbers, sizes) are bigint.
 */

export const FORMAT_MAGIC = 0x31424651;
export const FORMAT_VERSION = 1;

export const BATCH_HEADER_SIZE = 32;
export const RECORD_HEADER_SIZE = 16;
export const ITEM_HEADER_SIZE = 12;
export const PROCESS_FIXED_SIZE_V1 = 272;
export const IMAGE_FIXED_SIZE_V1 = 48;
/** A poll buffer this large always holds at least one record (QF_MIN_POLL_BUF). */
export const MIN_POLL_BUFFER = 256 * 1024;
export const STATS_SIZE_V1 = 152;
/** The stats block with every field this binding knows (version 1 grows only at the end). */
export const STATS_SIZE = 200;

export const BatchFlag = { LOST: 0x1, MORE: 0x2, LOOKUP: 0x4 } as const;
export const RecordKind = { PROCESS: 1, IMAGE: 2 } as const;

export const RecFlag = {
  FORK: 0x0001, EXEC: 0x0002, EXIT: 0x0004, SNAPSHOT: 0x0008,
  LOOKUP: 0x0010, COMPLETE: 0x0020, CORE_DUMPED: 0x0040,
} as const;

export const Valid = {
  IDS: 0x0001, CREDS: 0x0002, CAPS: 0x0004, TTY: 0x0008, EXIT: 0x0010, NS: 0x0020,
  PIDNS_INIT: 0x0040, EXE_FILE: 0x0080, EXEC_PRIV: 0x0100, OLD_PID: 0x0200,
  ARGC: 0x0400, FORK_TIME: 0x0800, EXEC_TIME: 0x1000,
} as const;

export const ExecFlag = {
  MEMFD: 0x01, UNLINKED: 0x02, SETUID: 0x04, SETGID: 0x08, PRIV_CHANGED: 0x10,
} as const;

export const ImgFlag = { FORK: 0x1, EXEC: 0x2, SNAPSHOT: 0x4 } as const;

export const ItemType = {
  COMM: 1, EXE: 2, FILENAME: 3, ARGV: 4, CWD: 5, CGROUP: 6, PREVIOUS: 16,
} as const;
export const ITEM_F_TRUNCATED = 0x1;
/** `orig_length` of a path whose full length the kernel walk could not know. */
export const ORIG_LENGTH_UNKNOWN = 0xffffffff;

export type RecordSource = 'ebpf' | 'kprobe' | 'procfs' | 'unknown';

/** A string item. `originalLength` is absent when the library could not know it. */
export interface RecordString {
  value: string;
  truncated: boolean;
  originalLength?: number;
}

export interface RecordArgv {
  args: string[];
  truncated: boolean;
  /** Size in bytes of the whole argument area in the kernel. */
  originalLength: number;
}

export interface RecordFlags {
  fork: boolean;
  exec: boolean;
  exit: boolean;
  snapshot: boolean;
  lookup: boolean;
  complete: boolean;
  coreDumped: boolean;
}

export interface RecordIds {
  pid: number;
  tid: number;
  ppid: number;
  vpid: number;
  pgid: number;
  sid: number;
  /** Process start, ns since boot (CLOCK_BOOTTIME). Snapshot records know it to a clock tick. */
  startNs: bigint;
}

export interface RecordCreds {
  uid: number; gid: number;
  euid: number; egid: number;
  suid: number; sgid: number;
  fsuid: number; fsgid: number;
}

export interface RecordCaps {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  bounding: bigint;
  ambient: bigint;
}

export interface RecordExit {
  /** Raw wait(2) status. */
  status: number;
  /** WEXITSTATUS, or -1 when a signal killed the process. */
  code: number;
  /** WTERMSIG, 0 when the process exited by itself. */
  signal: number;
  timeNs: bigint;
}

export interface RecordNamespaces {
  pid: number; mnt: number; net: number; uts: number;
  ipc: number; user: number; cgroup: number;
}

export interface RecordExeFile {
  nlink: number;
  devMajor: number;
  devMinor: number;
  ino: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  /** ns since the epoch (file times), unlike the boot-relative event times. */
  ctimeNs: bigint;
  mtimeNs: bigint;
  memfd: boolean;
  unlinked: boolean;
}

export interface RecordExecPriv {
  setuid: boolean;
  setgid: boolean;
  privChanged: boolean;
}

/** An earlier executable image of the same process (ECS process.previous), newest first. */
export interface ImageRecord {
  flags: { fork: boolean; exec: boolean; snapshot: boolean };
  /** When the image was installed, ns since boot; absent when unknown. */
  timeNs?: bigint;
  pid: number;
  argc: number;
  exeIno?: bigint;
  exeDevMajor: number;
  exeDevMinor: number;
  comm?: RecordString;
  exe?: RecordString;
  filename?: RecordString;
  argv?: RecordArgv;
}

export interface ProcessRecord {
  flags: RecordFlags;
  /** The raw bits, kept for diagnostics and for flags newer than this decoder. */
  rawFlags: number;
  rawValid: number;
  source: RecordSource;
  /** Wall-clock ns of boot when the batch was written (add to a boot-relative time). */
  bootWallNs: bigint;

  ids?: RecordIds;
  creds?: RecordCreds;
  caps?: RecordCaps;
  /** Controlling tty; major 0 means none. */
  tty?: { major: number; minor: number };
  exit?: RecordExit;
  namespaces?: RecordNamespaces;
  pidnsInitStartNs?: bigint;
  exeFile?: RecordExeFile;
  execPriv?: RecordExecPriv;
  /** The tid of a non-leader thread that exec'd and took over the pid. */
  oldPid?: number;
  argc?: number;
  forkTimeNs?: bigint;
  execTimeNs?: bigint;

  comm?: RecordString;
  exe?: RecordString;
  filename?: RecordString;
  argv?: RecordArgv;
  cwd?: RecordString;
  cgroup?: RecordString;
  previous: ImageRecord[];
}

export interface DecodedBatch {
  records: ProcessRecord[];
  flags: { lost: boolean; more: boolean; lookup: boolean };
  /** Raw events lost since the previous poll (ring buffer full, undecodable in C). */
  lostCount: number;
  bootWallNs: bigint;
  /** Records of a kind this decoder does not know, skipped by their length. */
  skippedRecords: number;
  totalLength: number;
}

/** `qf_stats`, version 1. */
export interface QuarkStats {
  insertions: bigint;
  removals: bigint;
  aggregations: bigint;
  nonAggregations: bigint;
  lost: bigint;
  garbageCollections: bigint;
  backend: RecordSource;
  cacheEntries: bigint;
  pending: bigint;
  recordsOut: bigint;
  rawEvents: bigint;
  ringLost: bigint;
  decodeErrors: bigint;
  truncated: bigint;
  evictions: bigint;
  forcedFlushes: bigint;
  holdTimeMs: bigint;
  snapshotRecords: bigint;
  /** Processes the /proc snapshot did not read because its time budget ran out. */
  snapshotSkipped: bigint;
  /** Events whose start time showed their pid had begun a new life unseen (lost fork). */
  pidReuses: bigint;
  /** Bytes held by the process cache (bounded by max_cache_mib). */
  cacheBytes: bigint;
  /** Bytes of held and ready records (bounded by max_pending_mib). */
  pendingBytes: bigint;
  /** kprobe: samples that missed the settle window (per-pid order may be wrong for them). */
  outOfOrder: bigint;
  /** eBPF: probe runs the kernel skipped (program preempted on that CPU); each an event lost. */
  kernelSkipped: bigint;
}

export function sourceName(code: number): RecordSource {
  switch (code) {
    case 1: return 'ebpf';
    case 2: return 'kprobe';
    case 3: return 'procfs';
    default: return 'unknown';
  }
}
