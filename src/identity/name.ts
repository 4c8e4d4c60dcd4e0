/**
 * Permanent names. A node's name *is* its Ed25519 public key, written in
 * lowercase RFC 4648 base32 without padding: 52 characters of a–z and 2–7,
 * safe in host names (one DNS label), URLs and file names, and read
 * case-insensitively. Because the name is the key, any record or handshake
 * that claims a name is verifiable from the name alone, and a peer's Noise
 * static key follows from its name (`x25519.ts`). See docs/identity.md.
 */
import { type Decoded, fail, ok } from '../core/result.ts'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
/** Characters in a name: ⌈256 / 5⌉. */
export const NAME_LENGTH = 52
export const PUBLIC_KEY_BYTES = 32

export type NameDecodeError = 'bad-length' | 'bad-character' | 'bad-padding'

export function encodeName(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError(
      `a name encodes a ${PUBLIC_KEY_BYTES}-byte public key, got ${publicKey.length}`,
    )
  }
  let out = ''
  let acc = 0
  let bits = 0
  for (const byte of publicKey) {
    acc = (acc << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(acc >> bits) & 31]
    }
    acc &= (1 << bits) - 1
  }
  return out + ALPHABET[(acc << (5 - bits)) & 31]
}

/** The public key a name stands for; upper case is accepted, anything else is reported. */
export function decodeName(name: string): Decoded<Uint8Array, NameDecodeError> {
  if (name.length !== NAME_LENGTH) {
    return fail('bad-length', `a name has ${NAME_LENGTH} characters, got ${name.length}`)
  }
  const out = new Uint8Array(PUBLIC_KEY_BYTES)
  let acc = 0
  let bits = 0
  let n = 0
  const lower = name.toLowerCase()
  for (let i = 0; i < lower.length; i++) {
    const v = ALPHABET.indexOf(lower[i] as string)
    if (v < 0) return fail('bad-character', `'${name[i]}' at position ${i} is not in a-z, 2-7`)
    acc = (acc << 5) | v
    bits += 5
    if (bits >= 8) {
      bits -= 8
      if (n < PUBLIC_KEY_BYTES) out[n++] = (acc >> bits) & 0xff
    }
    acc &= (1 << bits) - 1
  }
  // 52 characters carry 260 bits: the last 4 must be zero, so each key has one name.
  if (acc !== 0) return fail('bad-padding', 'the last character carries non-zero padding bits')
  return ok(out)
}

/** The canonical (lowercase) form of a name, or undefined if it is not one. */
export function canonicalName(name: string): string | undefined {
  const decoded = decodeName(name)
  return decoded.ok ? encodeName(decoded.value) : undefined
}
