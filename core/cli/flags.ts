/** One command-line flag. `takesValue` flags consume the next argument (or `--flag=value`). */
export interface FlagSpec {
  /** Long name without dashes: `config`, `path.data`. */
  long: string;
  /** One letter: `c`, `E`, `e`. */
  short?: string;
  takesValue: boolean;
  repeatable?: boolean;
  valueName?: string;
  help: string;
  default?: string;
}

/** Flags every command accepts, as in beats. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { long: 'config', short: 'c', takesValue: true, valueName: 'FILE', help: 'Configuration file, relative to path.config', default: 'procbeat.yml' },
  { long: 'E', short: 'E', takesValue: true, repeatable: true, valueName: 'KEY=VALUE', help: 'Configuration override (repeatable), e.g. -E output.console.pretty=true' },
  { long: 'e', short: 'e', takesValue: false, help: 'Log to stderr and disable file logging' },
  { long: 'path.home', takesValue: true, valueName: 'DIR', help: 'Home path (default: the working directory)' },
  { long: 'path.config', takesValue: true, valueName: 'DIR', help: 'Configuration path (default: path.home)' },
  { long: 'path.data', takesValue: true, valueName: 'DIR', help: 'Data path (default: <path.home>/data)' },
  { long: 'path.logs', takesValue: true, valueName: 'DIR', help: 'Logs path (default: <path.home>/logs)' },
  { long: 'help', short: 'h', takesValue: false, help: 'Help for this command' },
];

/** Flag values by long name: a string, a list (repeatable), or true (switch). */
export type FlagValues = Map<string, string | string[] | true>;

/** The global flags, typed. */
export interface GlobalFlags {
  config: string;
  overrides: string[];
  logToStderr: boolean;
  paths: { home?: string; config?: string; data?: string; logs?: string };
  help: boolean;
}

export function globalFlags(values: FlagValues): GlobalFlags {
  const str = (name: string): string | undefined => {
    const v = values.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const paths: GlobalFlags['paths'] = {};
  for (const p of ['home', 'config', 'data', 'logs'] as const) {
    const v = str(`path.${p}`);
    if (v !== undefined) paths[p] = v;
  }
  const overrides = values.get('E');
  return {
    config: str('config') ?? 'procbeat.yml',
    overrides: Array.isArray(overrides) ? overrides : [],
    logToStderr: values.get('e') === true,
    paths,
    help: values.get('help') === true,
  };
}
