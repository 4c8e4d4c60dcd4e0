/**
 * CipherState (spec §5.1): a key k (or none) and a 64-bit nonce n. The handshake encrypts
 * through it (inside SymmetricState); after Split() each direction of the transport has one.
 *
 * Contract: a nonce is never used twice under one key. n only grows — by one per successful
 * encryption or decryption; a failed decryption leaves it unchanged — and 2^64 − 1 is never
 * used for a message: once n reaches it, encryptWithAd throws `nonce-exhausted` and
 * decryptWithAd returns it. Rekey() is the way on with the same session.
 */
import { createSecretKey, type KeyObject } from 'node:crypto'
import { type Decoded, fail, ok } from '../result.ts'
import { type CipherFunctions, KEY_BYTES, TAG_BYTES } from './cipher.ts'
import { NoiseError } from './errors.ts'

/** The reserved nonce (spec §5.1): REKEY uses it, messages never do. */
export const MAX_NONCE = 2n ** 64n - 1n
/** The largest Noise message, handshake or transport (spec §3). */
export const MAX_MESSAGE_BYTES = 65_535

export type CipherReadError =
  | 'message-too-large'
  | 'nonce-exhausted'
  | 'truncated'
  | 'decrypt-failed'

const EMPTY = new Uint8Array(0)
const ZEROS = new Uint8Array(KEY_BYTES)

export class CipherState {
  readonly #cipher: CipherFunctions
  #k: KeyObject | undefined
  #n = 0n

  /** InitializeKey(key) on a new CipherState; no key means "pass plaintext through". */
  constructor(cipher: CipherFunctions, key?: Uint8Array) {
    this.#cipher = cipher
    this.initializeKey(key)
  }

  /** InitializeKey(key): sets k (made into a KeyObject once, here) and n = 0. */
  initializeKey(key: Uint8Array | undefined): void {
    if (key !== undefined && key.length !== KEY_BYTES) {
      throw new NoiseError('bad-config', `a cipher key is ${KEY_BYTES} bytes, got ${key.length}`)
    }
    this.#k = key === undefined ? undefined : createSecretKey(key)
    this.#n = 0n
  }

  hasKey(): boolean {
    return this.#k !== undefined
  }

  /** The next nonce this state will use. */
  get nonce(): bigint {
    return this.#n
  }

  /** SetNonce(nonce): for protocols that carry the nonce out of band (spec §11.4). */
  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw new NoiseError('bad-nonce', `nonce ${nonce} outside 0..2^64 - 1`)
    }
    this.#n = nonce
  }

  /** EncryptWithAd(ad, plaintext): ENCRYPT(k, n++, ad, plaintext), or the plaintext if no key. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const k = this.#k
    const size = plaintext.length + (k === undefined ? 0 : TAG_BYTES)
    if (size > MAX_MESSAGE_BYTES) {
      throw new NoiseError('message-too-large', `${size} bytes > ${MAX_MESSAGE_BYTES}`)
    }
    if (k === undefined) return plaintext
    if (this.#n === MAX_NONCE) {
      throw new NoiseError('nonce-exhausted', 'nonce 2^64 - 1 reached: rekey or start over')
    }
    const ciphertext = this.#cipher.encrypt(k, this.#n, ad, plaintext)
    this.#n++
    return ciphertext
  }

  /**
   * DecryptWithAd(ad, ciphertext): the plaintext, or a coded reason to drop the message.
   * n advances only on success, so a forged message does not desynchronise the receiver.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Decoded<Uint8Array, CipherReadError> {
    if (ciphertext.length > MAX_MESSAGE_BYTES) {
      return fail('message-too-large', `${ciphertext.length} bytes > ${MAX_MESSAGE_BYTES}`)
    }
    const k = this.#k
    if (k === undefined) return ok(ciphertext)
    if (this.#n === MAX_NONCE) return fail('nonce-exhausted', 'nonce 2^64 - 1 reached')
    if (ciphertext.length < TAG_BYTES) {
      return fail('truncated', `${ciphertext.length} bytes, shorter than a tag`)
    }
    const plaintext = this.#cipher.decrypt(k, this.#n, ad, ciphertext)
    if (plaintext === undefined) return fail('decrypt-failed', `bad tag at nonce ${this.#n}`)
    this.#n++
    return ok(plaintext)
  }

  /**
   * Rekey() (spec §4.2, §11.3): k = the first 32 bytes of ENCRYPT(k, 2^64 − 1, ε, zeros).
   * n is unchanged; both sides must rekey at the same point of the stream.
   */
  rekey(): void {
    const k = this.#k
    if (k === undefined) throw new NoiseError('wrong-state', 'rekey without a key')
    const next = this.#cipher.encrypt(k, MAX_NONCE, EMPTY, ZEROS).subarray(0, KEY_BYTES)
    this.#k = createSecretKey(next)
  }
}
