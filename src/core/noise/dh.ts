/**
 * The 25519 DH functions (spec §12.1) from node:crypto. Raw 32-byte keys cross the API;
 * inside, each key becomes a KeyObject once, when it enters the handshake.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'

/** DHLEN for Curve25519: the size of a public key and of a DH output. */
export const DHLEN = 32

// DER prefixes that wrap raw 32-byte X25519 keys (RFC 8410).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')

/** A key pair as raw bytes, the form the API takes and gives. */
export interface KeyPair {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

/** A key pair as the handshake holds it: the private half never leaves its KeyObject. */
export interface DhKeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: Uint8Array
}

/** A peer's public key: its bytes (hashed into h) and its KeyObject (for DH). */
export interface DhPublicKey {
  readonly bytes: Uint8Array
  readonly key: KeyObject
}

/** A fresh X25519 key pair from node:crypto's generator (GENERATE_KEYPAIR). */
export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('x25519')
  const der = privateKey.export({ format: 'der', type: 'pkcs8' })
  return keyPairFromPrivateKey(der.subarray(X25519_PKCS8.length))
}

/** The key pair of a raw 32-byte X25519 private key. */
export function keyPairFromPrivateKey(privateKey: Uint8Array): KeyPair {
  const pair = importKeyPair(privateKey)
  return { privateKey: Uint8Array.from(privateKey), publicKey: pair.publicKey }
}

export function importKeyPair(privateKey: Uint8Array): DhKeyPair {
  if (privateKey.length !== DHLEN) throw new RangeError(`an X25519 private key is ${DHLEN} bytes`)
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8, privateKey]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  return { privateKey: key, publicKey: new Uint8Array(spki.subarray(X25519_SPKI.length)) }
}

export function generateDhKeyPair(): DhKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  return { privateKey, publicKey: new Uint8Array(spki.subarray(X25519_SPKI.length)) }
}

/**
 * Any 32 bytes are an X25519 public key, but the few of low order make every DH output
 * all zeros (RFC 7748 §6.1), which OpenSSL refuses to return. They are caught here, when the
 * key arrives, by one DH with a throwaway key: since X25519 scalars are multiples of 8, the
 * output is zero for one scalar exactly when it is for all. So a DH later in the handshake
 * — possibly while *writing* a message — never fails because of what the peer sent.
 */
const PROBE = generateKeyPairSync('x25519').privateKey

/** The key, or `undefined` when it has low order (spec §12.1 allows rejecting it). */
export function importPublicKey(bytes: Uint8Array): DhPublicKey | undefined {
  if (bytes.length !== DHLEN) return undefined
  const copy = Uint8Array.from(bytes)
  const key = createPublicKey({
    key: Buffer.concat([X25519_SPKI, copy]),
    format: 'der',
    type: 'spki',
  })
  return dh(PROBE, key) === undefined ? undefined : { bytes: copy, key }
}

/** DH(private, public); `undefined` for the all-zero output of a low-order key. */
export function dh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array | undefined {
  try {
    return diffieHellman({ privateKey, publicKey })
  } catch {
    return undefined
  }
}
