/**
 * The ajv JSON schema of the system/process module block (after dotted keys were nested).
 * It checks shape and types only; unit parsing and the reference spec's own checks and
 * messages live in config.ts.
 */
const duration = { type: ['string', 'number'] } as const;
const byteSize = { type: ['string', 'number'] } as const;

export const HASH_TYPES = [
  'blake2b_256', 'blake2b_384', 'blake2b_512', 'md5', 'sha1', 'sha224', 'sha256', 'sha384',
  'sha512', 'sha512_224', 'sha512_256', 'sha3_224', 'sha3_256', 'sha3_384', 'sha3_512', 'xxh64',
] as const;
export type HashType = (typeof HASH_TYPES)[number];

export const KERNEL_TRACING_BACKENDS = ['ebpf', 'kprobe'] as const;
export type KernelTracingBackendName = (typeof KERNEL_TRACING_BACKENDS)[number];

export const processConfigSchema = {
  $id: 'procbeat/system/process',
  type: 'object',
  additionalProperties: false,
  properties: {
    period: duration,
    state: {
      type: 'object',
      additionalProperties: false,
      properties: { period: duration },
    },
    process: {
      type: 'object',
      additionalProperties: false,
      properties: {
        backend: { type: 'string' },
        include_self: { type: 'boolean' },
        state: {
          type: 'object',
          additionalProperties: false,
          properties: { period: duration },
        },
        hash: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // A single string is read as a one-element list, as beats does.
            hash_types: { type: ['array', 'string'], items: { type: 'string' } },
            max_file_size: byteSize,
            scan_rate_per_sec: byteSize,
            cache_size: { type: 'integer', minimum: 1 },
            max_wait: duration,
          },
        },
        // Checked in detail (with messages naming each key) by enrich/redact.ts.
        args_redaction: { type: 'object' },
        lineage: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cache_size: { type: 'integer', minimum: 1 },
            grace_period: duration,
          },
        },
        kernel_tracing: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hold_time: duration,
            backends: {
              type: ['array', 'string'],
              items: { type: 'string', enum: [...KERNEL_TRACING_BACKENDS] },
            },
            ring_buffer_size: byteSize,
            max_cache_size: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
  },
} as const;
