/**
 * The cipher functions (spec §12.3, §12.4), AEADs from node:crypto with a 16-byte tag. The
 * two differ only in how the 64-bit counter n becomes the 96-bit nonce: 32 zero bits, then n
 * little-endian for ChaChaPoly, big-endian for AESGCM. Keys arrive as KeyObjects, made once
 * per key by the CipherState: importing a raw key on every call costs more than the AEAD.
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto'
import { bytesLength } from '../bytes.ts'

export type CipherName = 'ChaChaPoly' | 'AESGCM'

/** The AEAD tag length, and what a keyed encryption adds to its plaintext. */
export const TAG_BYTES = 16
/** The size of a cipher key, for every cipher in the spec. */
export const KEY_BYTES = 32

export interface CipherFunctions {
  readonly name: CipherName
  /** ENCRYPT(k, n, ad, plaintext): ciphertext ‖ tag. */
  encrypt(k: KeyObject, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /**
   * ENCRYPT(k, n, ad, plaintext) in parts, not joined: the ciphertext of each plaintext
   * part (the plaintext is their concatenation), then the tag. For records that travel as
   * parts (a writev), so that nothing copies the plaintext or the ciphertext.
   */
  encryptParts(
    k: KeyObject,
    n: bigint,
    ad: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
  ): Uint8Array[]
  /** DECRYPT(k, n, ad, ciphertext): the plaintext, or `undefined` if the tag is wrong. */
  decrypt(k: KeyObject, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined
}

type Algorithm = 'chacha20-poly1305' | 'aes-256-gcm'

function aead(name: CipherName, algorithm: Algorithm, littleEndian: boolean): CipherFunctions {
  const nonce = (n: bigint): Buffer => {
    const iv = Buffer.alloc(12)
    if (littleEndian) iv.writeBigUInt64LE(n, 4)
    else iv.writeBigUInt64BE(n, 4)
    return iv
  }
  // The union of the two algorithm names selects node's generic overload; both AEADs share the
  // CCM/GCM-style API (setAAD, getAuthTag, setAuthTag), so name one for the type checker.
  const alg = algorithm as 'aes-256-gcm'
  // final() is empty for these AEADs; it only computes the tag.
  // A stream cipher underneath: each update gives exactly as many bytes as it takes.
  const encryptParts = (
    k: KeyObject,
    n: bigint,
    ad: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
  ): Uint8Array[] => {
    const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext
    const cipher = createCipheriv(alg, k, nonce(n), { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: bytesLength(parts) })
    const out: Uint8Array[] = []
    for (const part of parts) if (part.length > 0) out.push(cipher.update(part))
    cipher.final()
    out.push(cipher.getAuthTag())
    return out
  }
  return {
    name,
    encrypt: (k, n, ad, plaintext) => Buffer.concat(encryptParts(k, n, ad, plaintext)),
    encryptParts,
    decrypt(k, n, ad, ciphertext) {
      if (ciphertext.length < TAG_BYTES) return undefined
      const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES)
      const decipher = createDecipheriv(alg, k, nonce(n), { authTagLength: TAG_BYTES })
      decipher.setAAD(ad, { plaintextLength: body.length })
      decipher.setAuthTag(ciphertext.subarray(body.length))
      try {
        const out = decipher.update(body)
        const rest = decipher.final() // empty for these AEADs: no copy then
        return rest.length === 0 ? out : Buffer.concat([out, rest])
      } catch {
        return undefined // final() throws when the tag does not verify
      }
    },
  }
}

export const CIPHERS: Readonly<Record<CipherName, CipherFunctions>> = {
  ChaChaPoly: aead('ChaChaPoly', 'chacha20-poly1305', true),
  AESGCM: aead('AESGCM', 'aes-256-gcm', false),
}
