/**
 * The hash functions (spec §12.5–12.8) and what the spec builds on them: HMAC (RFC 2104,
 * node:crypto's createHmac, whose block size is each hash's BLOCKLEN: 64 bytes for SHA-256
 * and BLAKE2s, 128 for SHA-512 and BLAKE2b) and Noise's HKDF (spec §4.3) — not RFC 5869's
 * function: no info string, and two or three outputs chained from one extracted key.
 */
import { createHash, createHmac } from 'node:crypto'

export type HashName = 'SHA256' | 'SHA512' | 'BLAKE2s' | 'BLAKE2b'

export interface HashFunctions {
  readonly name: HashName
  /** HASHLEN: the size of h, ck and every HKDF output. */
  readonly hashLen: 32 | 64
  /** HASH(a ‖ b ‖ …), without building the concatenation. */
  hash(...parts: Uint8Array[]): Uint8Array
  /** HKDF(chaining_key, input_key_material, num_outputs). */
  hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[]
}

function hashFunctions(name: HashName, nodeName: string, hashLen: 32 | 64): HashFunctions {
  const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
    const mac = createHmac(nodeName, key)
    for (const part of parts) mac.update(part)
    return mac.digest()
  }
  return {
    name,
    hashLen,
    hash(...parts) {
      const h = createHash(nodeName)
      for (const part of parts) h.update(part)
      return h.digest()
    },
    hkdf(chainingKey, ikm, outputs) {
      const tempKey = hmac(chainingKey, ikm)
      const out: Uint8Array[] = []
      let previous: Uint8Array = new Uint8Array(0)
      for (let i = 1; i <= outputs; i++) {
        previous = hmac(tempKey, previous, Uint8Array.of(i))
        out.push(previous)
      }
      return out
    },
  }
}

export const HASHES: Readonly<Record<HashName, HashFunctions>> = {
  SHA256: hashFunctions('SHA256', 'sha256', 32),
  SHA512: hashFunctions('SHA512', 'sha512', 64),
  BLAKE2s: hashFunctions('BLAKE2s', 'blake2s256', 32),
  BLAKE2b: hashFunctions('BLAKE2b', 'blake2b512', 64),
}
