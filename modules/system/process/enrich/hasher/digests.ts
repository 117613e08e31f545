import { createHash, getHashes } from 'node:crypto';
import { createBLAKE2b, createXXHash64 } from 'hash-wasm';
import type { HashType, Hashes } from './types.js';

/** One running digest; `hex()` ends it. */
interface RunningDigest {
  update(chunk: Uint8Array): void;
  hex(): string;
}

// Node's crypto (OpenSSL 3.0) has every type but BLAKE2b with a 256/384-bit output (its
// blake2b512 takes no length) and xxh64; hash-wasm supplies those two. Native is preferred
// where both exist because it is several times faster than WebAssembly.
const NODE_ALGORITHM: Partial<Record<HashType, string>> = {
  blake2b_512: 'blake2b512',
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
};

function nodeDigest(algorithm: string): RunningDigest {
  const h = createHash(algorithm);
  return {
    update: (chunk) => {
      h.update(chunk);
    },
    hex: () => h.digest('hex'),
  };
}

async function wasmDigest(type: HashType): Promise<RunningDigest> {
  // xxh64's digest is the 64-bit value as 16 big-endian hex digits, the form xxhsum and
  // Auditbeat (Go's hash.Hash Sum of cespare/xxhash) print.
  const h =
    type === 'xxh64'
      ? await createXXHash64()
      : await createBLAKE2b(type === 'blake2b_256' ? 256 : 384);
  h.init();
  return {
    update: (chunk) => {
      h.update(chunk);
    },
    hex: () => h.digest('hex'),
  };
}

/** Every requested digest fed from one pass over the bytes. */
export class DigestSet {
  private constructor(private readonly digests: ReadonlyArray<readonly [HashType, RunningDigest]>) {}

  static async create(types: readonly HashType[]): Promise<DigestSet> {
    const digests: Array<readonly [HashType, RunningDigest]> = [];
    for (const type of types) {
      const algorithm = NODE_ALGORITHM[type];
      digests.push([type, algorithm !== undefined ? nodeDigest(algorithm) : await wasmDigest(type)]);
    }
    return new DigestSet(digests);
  }

  update(chunk: Uint8Array): void {
    for (const [, d] of this.digests) d.update(chunk);
  }

  hex(): Hashes {
    const out: Hashes = {};
    for (const [type, d] of this.digests) out[type] = d.hex();
    return out;
  }
}

/**
 * Types this Node build cannot compute (a FIPS OpenSSL lacks md5 and blake2b, for one), so
 * the config is refused at start instead of failing on every file.
 */
export function unsupportedHashTypes(types: readonly HashType[]): HashType[] {
  const available = new Set(getHashes().map((h) => h.toLowerCase()));
  return types.filter((t) => {
    const algorithm = NODE_ALGORITHM[t];
    if (algorithm === undefined) return false;
    if (!available.has(algorithm)) return true;
    try {
      createHash(algorithm);
      return false;
    } catch {
      return true;
    }
  });
}
