import { readFileSync } from 'node:fs';

/** Linux capability numbers (include/uapi/linux/capability.h) and their ECS names. */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID',
  'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/**
 * Names of the bits set in a capability mask, lowest bit first. A bit newer than this
 * table is named `CAP_<number>` rather than dropped, so a rule still sees it.
 */
export function capabilityNames(mask: bigint): string[] {
  // A host has a handful of distinct sets (root's, a service's, none): name each once.
  let names = namesByMask.get(mask);
  if (names === undefined) {
    names = nameBits(mask);
    if (namesByMask.size >= MAX_MASKS) namesByMask.clear();
    namesByMask.set(mask, names);
  }
  return names.slice();
}

const namesByMask = new Map<bigint, string[]>();
const MAX_MASKS = 256;

function nameBits(mask: bigint): string[] {
  const names: string[] = [];
  // Two 32-bit halves: bit tests on numbers are far cheaper than on bigints, and this runs
  // for five sets on every document.
  const halves = [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];
  for (let h = 0; h < 2; h++) {
    const word = halves[h]!;
    if (word === 0) continue;
    for (let bit = 0; bit < 32; bit++) {
      if ((word >>> bit) & 1) {
        const n = h * 32 + bit;
        names.push(CAPABILITY_NAMES[n] ?? `CAP_${n}`);
      }
    }
  }
  return names;
}

/**
 * The mask with every capability this kernel knows set. Auditbeat compares against the
 * host's own count (cap_last_cap), so a root process on an older kernel still reads as all.
 */
function readAllMask(path = '/proc/sys/kernel/cap_last_cap'): bigint {
  let last = CAPABILITY_NAMES.length - 1;
  try {
    const n = Number.parseInt(readFileSync(path, 'latin1').trim(), 10);
    if (Number.isInteger(n) && n >= 0 && n < 64) last = n;
  } catch {
    // No /proc (tests on odd hosts): our own table is the best guess of the kernel's count.
  }
  return (1n << BigInt(last + 1)) - 1n;
}

let allMask: bigint | undefined;

/**
 * ECS `process.thread.capabilities.*`: `["CAP_ALL"]` when every capability the kernel
 * knows is set (as Auditbeat writes it, so rules matching CAP_ALL keep matching), the
 * names otherwise.
 */
export function ecsCapabilityNames(mask: bigint): string[] {
  allMask ??= readAllMask();
  return mask === allMask ? ['CAP_ALL'] : capabilityNames(mask);
}
