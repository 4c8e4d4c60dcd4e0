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

/** Conversions cached by key (hex): a BigInt inversion costs ~40 µs, and every link and session handshake with a peer needs its key. */
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

/**
 * a⁻¹ mod p by the extended Euclidean algorithm, a sixth of the time of Fermat's a^(p−2)
 * in BigInts (36 µs against 215 here). Its time depends on `a`, which is fine: `a` comes
 * from a public key. 0 maps to 0, which yields the all-zero u a DH check rejects.
 */
function modInverse(a: bigint): bigint {
  let [r0, r1] = [P, a % P]
  let [t0, t1] = [0n, 1n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[t0, t1] = [t1, t0 - q * t1]
  }
  if (r0 !== 1n) return 0n // a ≡ 0: p is prime, so every other a is invertible
  return t0 < 0n ? t0 + P : t0
}
