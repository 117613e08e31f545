export { componentLogger, createLogger, DEFAULT_REDACT, type Logger, type LoggerHandle, type LoggingOptions } from './logger.js';
export { RotatingFile, type RotatingFileOptions } from './rotating-file.js';
