import type { FlagSpec, FlagValues, GlobalFlags } from './flags.js';

/** Where a command writes; main() passes process.stdout/stderr, tests pass collectors. */
export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface CommandContext {
  readonly flags: GlobalFlags;
  /** Every flag given, including the command's own (by long name). */
  readonly values: FlagValues;
  /** Words after the command path. */
  readonly args: readonly string[];
  readonly io: CommandIO;
}

/**
 * One CLI command. Each lives in its own file under `commands/` and is listed in
 * `commands/index.ts`; main() finds it by its word path and handles `--help`.
 */
export interface Command {
  /** The words that select it: `['run']`, `['test', 'config']`. */
  readonly path: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** A paragraph for `--help`. */
  readonly description?: string;
  /** Extra arguments shown in the usage line, e.g. `[NAME]`. */
  readonly argsUsage?: string;
  /** Accepts words after its path (default: none). */
  readonly acceptsArgs?: boolean;
  /** Flags of this command only (global flags always apply). */
  readonly flags?: readonly FlagSpec[];
  run(ctx: CommandContext): Promise<number>;
}
