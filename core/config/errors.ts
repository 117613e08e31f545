/**
 * Every configuration problem procbeat reports: where it is (file, dotted key) and what was
 * expected. A bad config refuses to start; the CLI prints `message` and exits 1.
 */
export class ConfigError extends Error {
  readonly file: string | undefined;
  readonly key: string;
  readonly problem: string;

  constructor(file: string | undefined, key: string, problem: string) {
    super(`${file ?? '<flags>'}: ${key ? `${key}: ` : ''}${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.problem = problem;
  }
}

/** Several problems found in one pass, reported together. */
export class ConfigErrors extends Error {
  readonly errors: ConfigError[];

  constructor(errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}
