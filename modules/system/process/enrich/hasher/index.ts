// The cached executable hasher of the system/process dataset (see docs/hashing.md).
export { createHasher, METRICS_NAMESPACE, DEFAULT_CACHE_SIZE, DEFAULT_MAX_WAIT_MS, DEFAULT_INLINE_MAX_BYTES } from './hasher.js';
export { HASH_TYPES, DEFAULT_HASH_TYPES, parseHashTypes } from './types.js';
export type {
  HashType,
  Hashes,
  HashResult,
  Hasher,
  HasherOptions,
  HasherLogger,
  HasherStats,
  HashProcessOptions,
  FileIdentity,
} from './types.js';
