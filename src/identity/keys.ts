/**
 * A node's identity: an Ed25519 key pair (its name is the public key, see
 * name.ts) and the X25519 key pair derived from it for Noise handshakes.
 * Keys stay inside node:crypto KeyObjects; raw bytes cross the API.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto'
import { decodeName, encodeName } from './name.ts'
import { x25519PrivateFromSeed, x25519PublicFromEd25519 } from './x25519.ts'

// DER prefixes that wrap raw 32-byte keys (RFC 8410).
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')

export interface Identity {
  /** The permanent name: the public key in base32. */
  readonly name: string
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array
  /** X25519 key pair for Noise handshakes, derived from the Ed25519 seed. */
  readonly dh: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array }
  /** An Ed25519 signature of `message` (64 bytes). */
  sign(message: Uint8Array): Uint8Array
  /** The 32-byte seed, for saving to the state directory (owner-only). */
  exportSeed(): Uint8Array
}

export function generateIdentity(): Identity {
  return identityFromSeed(randomBytes(32))
}

export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new RangeError(`an identity seed is 32 bytes, got ${seed.length}`)
  const seedCopy = Uint8Array.from(seed)
  const privateKey: KeyObject = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8, seedCopy]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(ED25519_SPKI.length))
  return {
    name: encodeName(publicKey),
    publicKey,
    dh: {
      privateKey: x25519PrivateFromSeed(seedCopy),
      publicKey: x25519PublicFromEd25519(publicKey),
    },
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
    exportSeed: () => Uint8Array.from(seedCopy),
  }
}

/**
 * Whether `signature` is `name`'s signature of `message`: checked against the
 * name alone. A malformed name or signature is simply not valid.
 */
export function verifyByName(name: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = decodeName(name)
  if (!key.ok || signature.length !== 64) return false
  try {
    return verify(null, message, publicKeyOf(name, key.value), signature)
  } catch {
    return false // not a valid curve point
  }
}

/** Public keys recently verified against, by name: importing a key costs as much as verifying. */
const KEY_CACHE_ENTRIES = 4096
const keyCache = new Map<string, KeyObject>()

function publicKeyOf(name: string, raw: Uint8Array): KeyObject {
  let key = keyCache.get(name)
  if (key === undefined) {
    // JWK, not DER: OpenSSL's DER decoder costs more than the import itself.
    const x = Buffer.from(raw).toString('base64url')
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    if (keyCache.size >= KEY_CACHE_ENTRIES) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(name, key)
  }
  return key
}
