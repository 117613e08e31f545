import type { Command } from '../command.js';
import { exportConfigCommand } from './export-config.js';
import { exportIlmPolicyCommand, exportPipelineCommand, exportTemplateCommand } from './export-assets.js';
import { runCommand } from './run.js';
import { setupCommand } from './setup.js';
import { testConfigCommand } from './test-config.js';
import { testOutputCommand } from './test-output.js';
import { versionCommand } from './version.js';

/**
 * Every command, in the order `--help` lists them. To add one (e.g. `setup`,
 * `export template`, `test output`): write `commands/<name>.ts` exporting a Command and
 * list it here. Parent words (`export`, `test`) need no entry of their own.
 */
export const COMMANDS: readonly Command[] = [
  runCommand,
  testConfigCommand,
  testOutputCommand,
  exportConfigCommand,
  exportTemplateCommand,
  exportIlmPolicyCommand,
  exportPipelineCommand,
  setupCommand,
  versionCommand,
];

/** What `procbeat` with no command runs. */
export const DEFAULT_COMMAND: readonly string[] = ['run'];
