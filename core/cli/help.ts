import type { Command } from './command.js';
import type { FlagSpec } from './flags.js';
import { GLOBAL_FLAGS } from './flags.js';

const BIN = 'procbeat';

function flagLines(flags: readonly FlagSpec[]): string[] {
  const left = flags.map((f) => {
    const names = f.short !== undefined && f.short !== f.long ? `-${f.short}, --${f.long}` : f.long.length === 1 ? `-${f.long}` : `    --${f.long}`;
    return f.takesValue ? `${names} ${f.valueName ?? 'VALUE'}` : names;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  return flags.map((f, i) => {
    const def = f.default !== undefined ? ` (default "${f.default}")` : '';
    return `  ${left[i]!.padEnd(width)}${f.help}${def}`;
  });
}

function commandLines(commands: readonly Command[], prefix: readonly string[]): string[] {
  const rows = commands
    .filter((c) => prefix.every((w, i) => c.path[i] === w) && c.path.length > prefix.length)
    .map((c) => [c.path.join(' '), c.summary] as const);
  const width = Math.max(0, ...rows.map(([n]) => n.length)) + 3;
  return rows.map(([n, s]) => `  ${n.padEnd(width)}${s}`);
}

/** `procbeat --help` and `procbeat <group> --help`: the commands below `prefix`. */
export function groupHelp(commands: readonly Command[], prefix: readonly string[] = []): string {
  const lines = [
    prefix.length === 0
      ? `${BIN} ships every process on this host as ECS documents (a beats-style shipper).`
      : `${BIN} ${prefix.join(' ')}: choose a subcommand.`,
    '',
    'Usage:',
    `  ${BIN} ${prefix.length ? `${prefix.join(' ')} ` : ''}[command] [flags]`,
    '',
    'Commands:',
    ...commandLines(commands, prefix),
    '',
    'Flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    `Use "${BIN} [command] --help" for more about a command.`,
  ];
  if (prefix.length === 0) lines.splice(4, 0, '', `With no command, ${BIN} runs (same as "${BIN} run").`);
  return `${lines.join('\n')}\n`;
}

/** `procbeat <command> --help`. */
export function commandHelp(command: Command): string {
  const usage = `${BIN} ${command.path.join(' ')}${command.argsUsage ? ` ${command.argsUsage}` : ''} [flags]`;
  const lines = ['Usage:', `  ${usage}`, '', ...wrap(command.description ?? command.summary, 90), ''];
  if (command.flags && command.flags.length > 0) lines.push('Flags:', ...flagLines(command.flags), '');
  lines.push('Global flags:', ...flagLines(GLOBAL_FLAGS));
  return `${lines.join('\n')}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
