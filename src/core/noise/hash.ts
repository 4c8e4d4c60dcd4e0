/**
 * The hash functions (spec §12.5–12.8) and what the spec builds on them: HMAC (RFC 2104,
 * with each hash's BLOCKLEN: 64 bytes for SHA-256 and BLAKE2s, 128 for SHA-512 and
 * BLAKE2b) and Noise's HKDF (spec §4.3) — not RFC 5869's function: no info string, and two
 * or three outputs chained from one extracted key.
 *
 * HMAC is RFC 2104's construction over node:crypto's hash, as spec §4.3 writes it, rather
 * than createHmac: node's key handling for createHmac costs more than the two hashes
 * (12 µs against 4.6 µs a call here), and a handshake makes about fifteen of them. The
 * published vectors check it (test/core/noise.test.ts).
 */
import { createHash } from 'node:crypto'

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

function hashFunctions(
  name: HashName,
  nodeName: string,
  hashLen: 32 | 64,
  blockLen: 64 | 128,
): HashFunctions {
  const digest = (...parts: Uint8Array[]): Uint8Array => {
    const h = createHash(nodeName)
    for (const part of parts) h.update(part)
    return h.digest()
  }
  // HMAC(K, m) = H((K' ⊕ opad) ‖ H((K' ⊕ ipad) ‖ m)), K' = K (hashed if longer than a block) padded with zeros.
  const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
    const k = key.length > blockLen ? digest(key) : key
    const inner = new Uint8Array(blockLen).fill(0x36)
    const outer = new Uint8Array(blockLen).fill(0x5c)
    for (let i = 0; i < k.length; i++) {
      inner[i] = (inner[i] as number) ^ (k[i] as number)
      outer[i] = (outer[i] as number) ^ (k[i] as number)
    }
    return digest(outer, digest(inner, ...parts))
  }
  return {
    name,
    hashLen,
    hash: digest,
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
  SHA256: hashFunctions('SHA256', 'sha256', 32, 64),
  SHA512: hashFunctions('SHA512', 'sha512', 64, 128),
  BLAKE2s: hashFunctions('BLAKE2s', 'blake2s256', 32, 64),
  BLAKE2b: hashFunctions('BLAKE2b', 'blake2b512', 64, 128),
}
