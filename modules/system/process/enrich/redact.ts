import type { MetricsNamespace, MetricsRegistry } from '../../../../core/api/metrics.js';

/**
 * `process.args_redaction`: secrets in command lines are replaced by `[REDACTED]` before a
 * document leaves the host. Two lists of regular expressions (case-insensitive):
 *
 * - `patterns` match the NAME of an argument: a flag without its dashes (`--password`,
 *   `-pass`), an environment-style assignment (`PGPASSWORD=...`, `db.password=...`) or a
 *   header (`Authorization: ...`). The name's value is redacted: after `=`, after `:`
 *   (keeping an auth scheme such as `Bearer`), or the next argument for a bare flag.
 * - `value_patterns` match text anywhere inside any argument; each match is redacted
 *   (credentials in URLs, bearer tokens, well-known key formats).
 *
 * A user list replaces the default list of the same kind. Off unless `enabled: true`.
 */

export const REDACTED = '[REDACTED]';
export const REDACTION_METRICS_NAMESPACE = 'system.process.redaction';

export const DEFAULT_NAME_PATTERNS: readonly string[] = [
  // password, passwd, passphrase with any prefix: --db-password, PGPASSWORD, db.password
  '^(.*[-_.])?[a-z0-9]*(password|passwd|passphrase)$',
  // short forms with a separator or alone: -pass (openssl), --pass, MYSQL_PWD (not bare PWD, the cwd)
  '^(.*[-_.])?pass$',
  '^.+[-_.]pwd$',
  // secret, client-secret, secret-key, aws-secret-access-key
  '^(.*[-_.])?(client[-_.]?)?secrets?([-_.](access[-_.])?key)?$',
  // token, access-token, GITHUB_TOKEN, x-auth-token
  '^(.*[-_.])?[a-z0-9]*token$',
  // api-key, apikey, X-API-Key, private_key, access-key, master-key
  '^(.*[-_.])?(api|access|private|auth|encryption|master|license|signing|account)[-_.]?key$',
  '^(.*[-_.])?credentials?$',
  // HTTP headers given as arguments (curl -H, wget --header)
  '^(proxy-)?authorization$',
  '^(set-)?cookie$',
];

export const DEFAULT_VALUE_PATTERNS: readonly string[] = [
  // the password of a URL's user info: scheme://user:PASSWORD@host
  '(?<=\\b[a-z][a-z0-9+.-]*://[^/\\s:@]*:)[^/\\s@]+(?=@)',
  // a bearer or basic credential inside a longer argument
  '(?<=\\b(bearer|basic)\\s+)[a-z0-9._~+/=-]{8,}',
  // AWS access key ids, GitHub, Slack tokens, JSON Web Tokens
  '\\b(AKIA|ASIA)[0-9A-Z]{16}\\b',
  '\\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\\b',
  '\\bxox[abprs]-[A-Za-z0-9-]{10,}',
  '\\beyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}',
];

export interface ArgsRedactionConfig {
  enabled: boolean;
  /** Name patterns; undefined means the defaults. */
  patterns?: readonly string[];
  /** Value patterns; undefined means the defaults. */
  valuePatterns?: readonly string[];
}

export interface RedactedArgs {
  args: string[];
  /** The ECS `process.command_line` derived from the redacted args (never from the originals). */
  commandLine: string;
  /** How many arguments were changed. */
  redacted: number;
}

export interface ArgsRedactor {
  redactArgs(args: readonly string[]): RedactedArgs;
  /** For a command line that exists only as one string: split on white space, redacted the same way. */
  redactCommandLine(commandLine: string): string;
}

/** ECS process.command_line as procbeat builds it: the arguments joined by single spaces. */
export function commandLineOf(args: readonly string[]): string {
  return args.join(' ');
}

/**
 * Validates the `process.args_redaction` block (the shape the YAML gives) and compiles it.
 * Every error names the key, e.g. `process.args_redaction.patterns[2]: invalid regular expression ...`.
 * `redactor` is undefined when redaction is disabled.
 */
export function compileArgsRedaction(
  value: unknown,
  opts: { key?: string; metrics?: MetricsRegistry } = {},
): { ok: true; redactor: ArgsRedactor | undefined; config: ArgsRedactionConfig } | { ok: false; errors: string[] } {
  const key = opts.key ?? 'process.args_redaction';
  if (value === undefined || value === null) return { ok: true, redactor: undefined, config: { enabled: false } };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [`${key}: expected an object with enabled, patterns, value_patterns`] };
  }
  const block = value as Record<string, unknown>;
  const errors: string[] = [];
  for (const k of Object.keys(block)) {
    if (k !== 'enabled' && k !== 'patterns' && k !== 'value_patterns') errors.push(`${key}.${k}: unknown setting`);
  }
  let enabled = false;
  if (block.enabled !== undefined) {
    if (typeof block.enabled === 'boolean') enabled = block.enabled;
    else errors.push(`${key}.enabled: expected true or false, got ${JSON.stringify(block.enabled)}`);
  }
  const names = compileList(block.patterns, `${key}.patterns`, 'i', errors);
  const values = compileList(block.value_patterns, `${key}.value_patterns`, 'gi', errors);
  if (errors.length > 0) return { ok: false, errors };

  const config: ArgsRedactionConfig = { enabled };
  if (names.sources !== undefined) config.patterns = names.sources;
  if (values.sources !== undefined) config.valuePatterns = values.sources;
  if (!enabled) return { ok: true, redactor: undefined, config };
  const metrics = opts.metrics?.namespace(REDACTION_METRICS_NAMESPACE);
  return {
    ok: true,
    redactor: new Redactor(
      names.regexes ?? DEFAULT_NAME_PATTERNS.map((p) => new RegExp(p, 'i')),
      values.regexes ?? DEFAULT_VALUE_PATTERNS.map((p) => new RegExp(p, 'gi')),
      metrics,
    ),
    config,
  };
}

function compileList(
  raw: unknown,
  key: string,
  flags: string,
  errors: string[],
): { sources?: string[]; regexes?: RegExp[] } {
  if (raw === undefined) return {};
  if (!Array.isArray(raw)) {
    errors.push(`${key}: expected a list of regular expressions`);
    return {};
  }
  const sources: string[] = [];
  const regexes: RegExp[] = [];
  raw.forEach((p: unknown, i) => {
    if (typeof p !== 'string' || p.length === 0) {
      errors.push(`${key}[${i}]: expected a non-empty string, got ${JSON.stringify(p)}`);
      return;
    }
    try {
      regexes.push(new RegExp(p, flags));
      sources.push(p);
    } catch (err) {
      errors.push(`${key}[${i}]: invalid regular expression '${p}': ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return { sources, regexes };
}

const FLAG_WITH_VALUE = /^(-{1,2})([^=\s-][^=\s]*)=(.+)$/s;
const BARE_FLAG = /^(-{1,2})([^=\s-][^=\s]*)$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.+)$/s;
const HEADER = /^([A-Za-z][A-Za-z0-9_-]*):[ \t]*(.+)$/s;
const AUTH_SCHEME = /^(bearer|basic|digest|token|negotiate|bot|aws4-hmac-sha256)\s+/i;

class Redactor implements ArgsRedactor {
  constructor(
    private readonly names: readonly RegExp[],
    private readonly values: readonly RegExp[],
    private readonly metrics: MetricsNamespace | undefined,
  ) {}

  redactArgs(args: readonly string[]): RedactedArgs {
    const out = [...args];
    let redacted = 0;
    for (let i = 0; i < out.length; i++) {
      const arg = out[i] as string;
      const bare = BARE_FLAG.exec(arg);
      if (bare !== null && this.isSecretName(bare[2] as string)) {
        if (i + 1 < out.length && out[i + 1] !== REDACTED) {
          out[i + 1] = REDACTED;
          redacted += 1;
        }
        i += 1; // the value is redacted as a whole; no need to scan it
        continue;
      }
      const named = this.redactNamed(arg);
      const scrubbed = this.redactValues(named);
      if (scrubbed !== arg) {
        out[i] = scrubbed;
        redacted += 1;
      }
    }
    if (redacted > 0 && this.metrics !== undefined) {
      this.metrics.inc('events_redacted');
      this.metrics.inc('args_redacted', redacted);
    }
    return { args: out, commandLine: commandLineOf(out), redacted };
  }

  redactCommandLine(commandLine: string): string {
    const parts = commandLine.split(/(\s+)/);
    const words = parts.filter((_, i) => i % 2 === 0);
    const { args } = this.redactArgs(words);
    return parts.map((p, i) => (i % 2 === 0 ? (args[i / 2] as string) : p)).join('');
  }

  private isSecretName(name: string): boolean {
    return this.names.some((re) => re.test(name));
  }

  private redactNamed(arg: string): string {
    const flag = FLAG_WITH_VALUE.exec(arg);
    if (flag !== null) {
      return this.isSecretName(flag[2] as string) ? `${flag[1]}${flag[2]}=${REDACTED}` : arg;
    }
    const assignment = ASSIGNMENT.exec(arg);
    if (assignment !== null) {
      return this.isSecretName(assignment[1] as string) ? `${assignment[1]}=${REDACTED}` : arg;
    }
    const header = HEADER.exec(arg);
    if (header !== null && this.isSecretName(header[1] as string)) {
      const scheme = AUTH_SCHEME.exec(header[2] as string);
      return `${header[1]}: ${scheme !== null ? `${scheme[1]} ` : ''}${REDACTED}`;
    }
    return arg;
  }

  private redactValues(arg: string): string {
    let s = arg;
    for (const re of this.values) {
      re.lastIndex = 0;
      s = s.replace(re, REDACTED);
    }
    return s;
  }
}
