import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config/types.js';
import { BEAT_NAME, beatVersion } from '../beat/version.js';
import { RotatingFile } from './rotating-file.js';

export type { Logger } from 'pino';

export interface LoggingOptions {
  level: LogLevel;
  toStderr: boolean;
  toFiles: boolean;
  files?: {
    path: string;
    name: string;
    rotateEveryBytes: number;
    keepFiles: number;
    permissions: number;
  };
  /** Extra pino redact paths (e.g. `output.elasticsearch.password`); secrets are never logged. */
  redact?: readonly string[];
  /** Write here instead (tests). */
  destination?: DestinationStream;
}

export interface LoggerHandle {
  readonly logger: Logger;
  /** The log file, when logging to files. */
  readonly file: string | undefined;
  close(): void;
}

/** Secrets that may show up in logged objects, wherever they sit (pino wildcards cover one level). */
export const DEFAULT_REDACT: readonly string[] = [
  'password', '*.password', '*.*.password',
  'api_key', '*.api_key', '*.*.api_key',
  'passphrase', '*.passphrase',
  'token', '*.token',
  'headers.authorization', '*.headers.authorization',
];

const PINO_LEVEL: Record<LogLevel, string> = { debug: 'debug', info: 'info', warning: 'warn', error: 'error' };

/** The root logger: ECS JSON lines on stderr (`-e`) or in a rotating file. */
export function createLogger(options: LoggingOptions): LoggerHandle {
  let file: RotatingFile | undefined;
  let destination: DestinationStream | undefined = options.destination;
  if (destination === undefined && options.toStderr) {
    destination = pino.destination({ dest: 2, sync: true });
  } else if (destination === undefined && options.toFiles && options.files) {
    file = new RotatingFile({
      dir: options.files.path,
      fileName: `${options.files.name}.ndjson`,
      maxBytes: options.files.rotateEveryBytes,
      keepFiles: options.files.keepFiles,
      mode: options.files.permissions,
    });
    destination = file;
  }
  const pinoOptions: LoggerOptions = {
    ...ecsFormat({ apmIntegration: false, serviceName: BEAT_NAME, serviceVersion: beatVersion() }),
    level: destination === undefined ? 'silent' : PINO_LEVEL[options.level],
    redact: { paths: [...DEFAULT_REDACT, ...(options.redact ?? [])], censor: '[REDACTED]' },
  };
  const logger = destination === undefined ? pino(pinoOptions) : pino(pinoOptions, destination);
  return {
    logger,
    file: file?.path,
    close: () => {
      logger.flush();
      file?.close();
    },
  };
}

/** A child logger for one component, named in `log.logger` (e.g. `runner`, `output.file`). */
export function componentLogger(root: Logger, name: string): Logger {
  return root.child({ 'log.logger': name });
}
