// The configuration layer: load a beats-style YAML file into a validated ProcbeatConfig.
export { ConfigError, ConfigErrors } from './errors.js';
export { loadConfig, parseConfig, resolveConfigFile, type LoadOptions, type PathFlags } from './load.js';
export type { LogLevel, ModuleList, ProcbeatConfig } from './types.js';
export { parseDuration, formatDuration, DURATION_HINT } from './duration.js';
export { parseByteSize, BYTE_SIZE_HINT } from './bytesize.js';
export { effectiveConfig, effectiveConfigYaml, maskSecrets, MASK } from './export.js';
export { formatKey, childKey, isPlainObject } from './keys.js';
export { MODULE_KEYS, OPAQUE_SECTIONS, SCHEMA_SECTIONS, schemaLeaves, type ModuleKey } from './schema/index.js';
