/**
 * The entry leader (ECS process.entry_leader): the process through which the session a
 * process belongs to was entered, and how (entry_meta.type). docs/enrichment.md states the
 * rule; in short, walking up from the process through its ancestors, the first process that
 * is an entry point is the entry leader, and every process between inherits it:
 *
 * 1. pid 1 is an entry point of type `init` (services and daemons end up here).
 * 2. The init (vpid 1) of a pid namespace other than its parent's is `container`; so is a
 *    process whose parent is a container runtime shim (runc, crun, containerd-shim, conmon):
 *    `docker exec` / `kubectl exec` sessions.
 * 3. A session leader (pid = sid) is an entry point when
 *    - its parent is sshd (or OpenSSH's `sshd-session` child) and it is not sshd itself: `sshd`;
 *    - its parent is `ssm-session-worker`: `ssm`; `teleport`: `teleport`; `kubelet`: `kubelet`;
 *    - its controlling tty is a virtual console or serial line (major 4) or /dev/console: `console`;
 *    - its controlling tty is a pseudo terminal and its parent has no terminal of its own (a
 *      terminal emulator, tmux or screen server, `script`, `login`...): `terminal`.
 *      A pts session opened from inside another terminal session (sudo's use_pty, `script`
 *      run from a shell) is nested: it stays in the enclosing entry session.
 * 4. Container runtime helpers themselves are never entry leaders.
 * If the walk reaches a process whose parent is unknown, the type is `unknown` and the
 * entry leader is the oldest ancestor reached; that answer is not remembered, so a later
 * event can find the real one.
 */
import type { EntryLeaderType } from '../../event.js';
import { programName, type EntryRef, type Known } from './known.js';

/** The inode of the initial (host) pid namespace: the kernel's PROC_PID_INIT_INO. */
export const INIT_PID_NS_INODE = 0xeffffffc;

const MAX_DEPTH = 512;

const SSHD = new Set(['sshd', 'sshd-session']);
const RUNTIME_SHIMS = ['containerd-shim', 'runc', 'crun', 'conmon', 'runsc', 'youki'];
/** Runtime helpers and pause containers: plumbing, not where a session is entered. */
const PLUMBING = [...RUNTIME_SHIMS, 'pause', 'calico-node', 'check-status'];
/** Programs that open pseudo terminals for others; matched even when they run on a tty. */
const TERMINAL_PROGRAMS = new Set([
  'tmux', 'screen', 'script', 'login', 'xterm', 'uxterm', 'urxvt', 'rxvt', 'st', 'kitty', 'alacritty',
  'foot', 'wezterm', 'wezterm-gui', 'konsole', 'gnome-terminal-server', 'gnome-terminal', 'xfce4-terminal',
  'mate-terminal', 'lxterminal', 'tilix', 'terminator', 'terminology', 'sakura', 'qterminal', 'guake',
  'tilda', 'ptyxis', 'ptyxis-agent', 'kgx', 'Terminal', 'iTerm2',
]);

const startsWithAny = (name: string, prefixes: readonly string[]): boolean => prefixes.some((p) => name.startsWith(p));

export const isPseudoTerminal = (tty: { major: number } | undefined): boolean =>
  tty !== undefined && tty.major >= 136 && tty.major <= 143;

const isConsole = (tty: { major: number; minor: number } | undefined): boolean =>
  tty !== undefined && (tty.major === 4 || (tty.major === 5 && tty.minor === 1));

const hasTty = (tty: { major: number } | undefined): boolean => tty !== undefined && tty.major !== 0;

/** The entry type when `k` starts an entry session itself, else undefined (it inherits). */
export function entryPointType(k: Known, parent: Known | undefined): EntryLeaderType | undefined {
  if (k.pid === 1) return 'init';
  const own = programName(k);
  if (startsWithAny(own, PLUMBING)) return undefined;
  if (k.vpid === 1 && k.pidNs !== undefined && k.pidNs !== INIT_PID_NS_INODE
      && (parent?.pidNs === undefined || parent.pidNs !== k.pidNs)) {
    return 'container';
  }
  const parentName = parent !== undefined ? programName(parent) : undefined;
  if (parentName !== undefined && startsWithAny(parentName, RUNTIME_SHIMS)) return 'container';
  if (k.sid !== k.pid) return undefined;
  if (parentName !== undefined) {
    if (SSHD.has(parentName) && !SSHD.has(own)) return 'sshd';
    if (parentName === 'ssm-session-worker') return 'ssm';
    if (parentName.startsWith('teleport')) return 'teleport';
    if (parentName === 'kubelet') return 'kubelet';
  }
  if (isConsole(k.tty)) return 'console';
  if (isPseudoTerminal(k.tty)) {
    if (parent === undefined || !hasTty(parent.tty)) return 'terminal';
    if (parentName !== undefined && TERMINAL_PROGRAMS.has(parentName)) return 'terminal';
  }
  return undefined;
}

/**
 * Walks up from `k`. Every process passed on the way remembers the answer (unless it is
 * `unknown`), so the walk is paid once per session, not once per event.
 */
export function entryLeaderOf(k: Known, parentOf: (k: Known) => Known | undefined): EntryRef {
  const path: Known[] = [];
  let node: Known | undefined = k;
  let found: EntryRef | undefined;
  let top: Known = k;
  for (let depth = 0; node !== undefined && depth < MAX_DEPTH; depth++) {
    if (node.entry !== undefined) { found = node.entry; break; }
    const parent = parentOf(node);
    const type = entryPointType(node, parent);
    if (type !== undefined) {
      found = { leader: node, type };
      node.entry = found;
      break;
    }
    path.push(node);
    top = node;
    node = parent;
  }
  if (found === undefined) return { leader: top, type: 'unknown' };
  for (const n of path) n.entry = found;
  return found;
}
