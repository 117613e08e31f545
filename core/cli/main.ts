import { parseArgs, UsageError } from './args.js';
import type { Command, CommandIO } from './command.js';
import { COMMANDS, DEFAULT_COMMAND } from './commands/index.js';
import { GLOBAL_FLAGS, globalFlags, type FlagSpec } from './flags.js';
import { commandHelp, groupHelp } from './help.js';

const STD_IO: CommandIO = { stdout: process.stdout, stderr: process.stderr };

/** The procbeat CLI: returns the exit code (bin/procbeat.js sets it): 0 success, 1 any error. */
export async function main(argv: readonly string[], io: CommandIO = STD_IO, commands: readonly Command[] = COMMANDS): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv, allFlags(commands));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`Error: ${err.message}\nRun 'procbeat --help' for usage.\n`);
    return 1;
  }
  const flags = globalFlags(parsed.flags);
  const words = parsed.words.length === 0 && !flags.help ? [...DEFAULT_COMMAND] : parsed.words;

  const command = findCommand(commands, words);
  if (command === undefined) {
    const isGroup = words.length > 0 && commands.some((c) => c.path.length > words.length && words.every((w, i) => c.path[i] === w));
    if (flags.help || isGroup) {
      io.stdout.write(groupHelp(commands, isGroup ? words : []));
      return 0;
    }
    io.stderr.write(`Error: unknown command "${words.join(' ')}"\nRun 'procbeat --help' for usage.\n`);
    return 1;
  }
  if (flags.help) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  const extra = words.slice(command.path.length);
  if (extra.length > 0 && !command.acceptsArgs) {
    io.stderr.write(`Error: unexpected argument "${extra[0]}" for "procbeat ${command.path.join(' ')}"\n`);
    return 1;
  }
  const allowed = new Set([...GLOBAL_FLAGS, ...(command.flags ?? [])].map((f) => f.long));
  const foreign = [...parsed.flags.keys()].find((name) => !allowed.has(name));
  if (foreign !== undefined) {
    io.stderr.write(`Error: flag --${foreign} is not valid for "procbeat ${command.path.join(' ')}"\n`);
    return 1;
  }

  try {
    return await command.run({ flags, values: parsed.flags, args: extra, io });
  } catch (err) {
    if (err instanceof Error && (err.name === 'ConfigErrors' || err.name === 'ConfigError')) {
      io.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function allFlags(commands: readonly Command[]): FlagSpec[] {
  const byName = new Map<string, FlagSpec>();
  for (const f of [...GLOBAL_FLAGS, ...commands.flatMap((c) => c.flags ?? [])]) if (!byName.has(f.long)) byName.set(f.long, f);
  return [...byName.values()];
}

/** The command whose path is the longest prefix of `words`. */
function findCommand(commands: readonly Command[], words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w)) {
      if (best === undefined || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}
