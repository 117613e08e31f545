import type { FlagSpec, FlagValues } from './flags.js';

export interface ParsedArgs {
  /** Non-flag words in order: the command path and any arguments. */
  words: string[];
  flags: FlagValues;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Splits argv into words and flags. Flags may come before or after the command words
 * (`procbeat -c x.yml test config` = `procbeat test config -c x.yml`); `--name=value`,
 * `--name value`, `-E k=v`, `-Ek=v` are accepted; `--` ends the flags.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.long, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short!, s]));
  const words: string[] = [];
  const flags: FlagValues = new Map();

  const set = (spec: FlagSpec, value: string | true, shown: string): void => {
    if (spec.repeatable) {
      const list = flags.get(spec.long);
      flags.set(spec.long, [...(Array.isArray(list) ? list : []), String(value)]);
    } else {
      if (flags.has(spec.long) && spec.takesValue) throw new UsageError(`flag ${shown} given twice`);
      flags.set(spec.long, value);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { words.push(...argv.slice(i + 1)); break; }
    if (arg === '-' || !arg.startsWith('-')) { words.push(arg); continue; }

    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spec = byLong.get(name);
      shown = `--${name}`;
    } else {
      const letter = arg.slice(1, 2);
      spec = byShort.get(letter);
      shown = `-${letter}`;
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
      // A multi-letter single-dash flag that is not a short flag with a value: `-version` etc.
      if (spec !== undefined && !spec.takesValue && inline !== undefined) spec = undefined;
    }
    if (spec === undefined) throw new UsageError(`unknown flag: ${arg}`);
    if (!spec.takesValue) {
      if (inline !== undefined) throw new UsageError(`flag ${shown} does not take a value`);
      set(spec, true, shown);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag ${shown} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
      value = argv[++i]!;
    }
    set(spec, value, shown);
  }
  return { words, flags };
}
