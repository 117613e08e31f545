import type { ProcessAction } from '../event.js';

const VERBS: Record<ProcessAction, string> = {
  existing_process: 'is RUNNING',
  process_started: 'STARTED',
  process_stopped: 'STOPPED',
  process_ran: 'RAN',
  process_changed_image: 'CHANGED IMAGE',
  process_error: 'ERROR',
};

/** `Process <comm> (PID: <pid>)[ by user <name>] <VERB>`, or `ERROR for PID <pid>: <err>`. */
export function processMessage(action: ProcessAction, name: string, pid: number, userName: string | undefined, error?: string): string {
  if (error !== undefined) return `ERROR for PID ${pid}: ${error}`;
  const by = userName ? ` by user ${userName}` : '';
  return `Process ${name} (PID: ${pid})${by} ${VERBS[action]}`;
}
