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
  return { privateKey, publicKey: rawPublicKey(publicKey) }
}

/**
 * A public KeyObject's 32 raw bytes, through JWK: OpenSSL's DER encoder costs as much as
 * generating the key (48 against 2 µs here), and every handshake makes an ephemeral key.
 */
function rawPublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' })
  const raw = new Uint8Array(Buffer.from(x ?? '', 'base64url'))
  if (raw.length !== DHLEN) throw new Error('node:crypto exported an X25519 key of the wrong size')
  return raw
}

/**
 * Any 32 bytes are an X25519 public key, but those of small order make every DH output
 * all zeros (RFC 7748 §6.1), which OpenSSL refuses to return. They are caught here, when the
 * key arrives, so that a DH later in the handshake — possibly while *writing* a message —
 * never fails because of what the peer sent. X25519 ignores bit 255 and reduces u mod p;
 * the u of small order on the curve (orders 1 to 8) and on its twist (1 to 4) are 0, 1,
 * p − 1 and the two order-8 values below, and the 255-bit strings that reduce to them add
 * p and p + 1: these seven (libsodium's list, crypto_scalarmult/curve25519). The test
 * (test/core/noise.test.ts) checks that OpenSSL refuses each, with bit 255 clear or set.
 */
const SMALL_ORDER: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')))

/** Whether X25519 with this public key gives all zeros, whatever the private key. */
export function hasSmallOrder(bytes: Uint8Array): boolean {
  return SMALL_ORDER.some((k) => {
    let diff = ((bytes[31] as number) & 0x7f) ^ (k[31] as number)
    for (let i = 0; i < 31; i++) diff |= (bytes[i] as number) ^ (k[i] as number)
    return diff === 0
  })
}

/** The key, or `undefined` when it has small order (spec §12.1 allows rejecting it). */
export function importPublicKey(bytes: Uint8Array): DhPublicKey | undefined {
  if (bytes.length !== DHLEN || hasSmallOrder(bytes)) return undefined
  const copy = Uint8Array.from(bytes)
  // JWK, not DER: OpenSSL's DER decoder costs half as much again (53 against 38 µs here).
  const x = Buffer.from(copy).toString('base64url')
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' })
  return { bytes: copy, key }
}

/** DH(private, public); `undefined` for the all-zero output of a low-order key. */
export function dh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array | undefined {
  try {
    return diffieHellman({ privateKey, publicKey })
  } catch {
    return undefined
  }
}
