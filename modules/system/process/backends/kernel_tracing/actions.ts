import type { ProcessAction, ProcessEventType, ProcessFlags } from '../../event.js';

export interface ActionAndTypes {
  action: ProcessAction;
  types: ProcessEventType[];
}

/**
 * Auditbeat's kernel_tracing table (reference spec §2): the action names the most complete
 * story the flags tell, the types list each phase seen in the order info, start, change, end.
 */
export function actionFromFlags(flags: ProcessFlags): ActionAndTypes {
  if (flags.snapshot) return { action: 'existing_process', types: ['info'] };
  const types: ProcessEventType[] = [];
  if (flags.fork) types.push('start');
  if (flags.exec) types.push('change');
  if (flags.exit) types.push('end');
  let action: ProcessAction;
  if (flags.fork) action = flags.exit ? 'process_ran' : 'process_started';
  else if (flags.exit) action = 'process_stopped';
  else if (flags.exec) action = 'process_changed_image';
  else action = 'process_error';
  return { action, types };
}
