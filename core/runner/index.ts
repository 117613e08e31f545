export { Runner, runFor, type RunnerOptions, type StopResult } from './runner.js';
export { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.js';
export { buildModuleProcessing, buildPlansProcessing, type ModuleProcessing } from './module-processing.js';
