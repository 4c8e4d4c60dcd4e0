/**
 * A node's Noise static key, derived from its Ed25519 identity, so that one
 * key pair (and one name) serves both signing and key agreement: the standard
 * conversion (RFC 7748 §4.1 birational map, as libsodium's
 * crypto_sign_ed25519_pk_to_curve25519 and _sk_to_curve25519 do it).
 *
 * - private: the first 32 bytes of SHA-512(Ed25519 seed) — the Ed25519 secret
 *   scalar before clamping; X25519 clamps it again, to the same value;
 * - public: u = (1 + y) / (1 − y) mod 2^255 − 19, y the Edwards y-coordinate.
 */
import { hash } from 'node:crypto'

const P = 2n ** 255n - 19n

/** The X25519 private key of an Ed25519 seed. */
export function x25519PrivateFromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  return new Uint8Array(hash('sha512', seed, 'buffer').subarray(0, 32))
}

/** Conversions cached by key (hex): a BigInt inversion costs ~0.2 ms, and every link and session handshake with a peer needs its key. */
const converted = new Map<string, Uint8Array>()
const MAX_CONVERTED = 4096

/** The X25519 public key of an Ed25519 public key (from a name). */
export function x25519PublicFromEd25519(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes')
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('hex')
  const cached = converted.get(id)
  if (cached !== undefined) return Uint8Array.from(cached)
  const out = convert(publicKey)
  if (converted.size >= MAX_CONVERTED) converted.delete(converted.keys().next().value as string)
  converted.set(id, out)
  return Uint8Array.from(out)
}

function convert(publicKey: Uint8Array): Uint8Array {
  let y = 0n
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(publicKey[i] as number)
  y &= (1n << 255n) - 1n // the top bit is the sign of x, not part of y
  const u = (((1n + y) % P) * modInverse((1n - y + P) % P)) % P
  const out = new Uint8Array(32)
  let v = u
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** a^(p−2) mod p (Fermat); 0 maps to 0, which yields the all-zero u a DH check rejects. */
function modInverse(a: bigint): bigint {
  let result = 1n
  let base = a % P
  let e = P - 2n
  while (e > 0n) {
    if (e & 1n) result = (result * base) % P
    base = (base * base) % P
    e >>= 1n
  }
  return result
}
