/**
 * SymmetricState (spec §5.2): the chaining key ck, the handshake hash h and a CipherState.
 * Every handshake step is one of its operations; h binds the whole transcript.
 */
import type { Decoded } from '../result.ts'
import { KEY_BYTES } from './cipher.ts'
import { type CipherReadError, CipherState } from './cipher-state.ts'
import type { Suite } from './suites.ts'

const EMPTY = new Uint8Array(0)

export class SymmetricState {
  readonly #suite: Suite
  readonly #cs: CipherState
  #ck: Uint8Array
  #h: Uint8Array

  /** InitializeSymmetric(protocol_name). */
  constructor(protocolName: string, suite: Suite) {
    this.#suite = suite
    const name = new TextEncoder().encode(protocolName)
    const hashLen = suite.hash.hashLen
    if (name.length <= hashLen) {
      this.#h = new Uint8Array(hashLen)
      this.#h.set(name) // padded with zeros to HASHLEN
    } else {
      this.#h = suite.hash.hash(name)
    }
    this.#ck = this.#h
    this.#cs = new CipherState(suite.cipher)
  }

  /** MixKey(input_key_material): after a DH. */
  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = this.#suite.hash.hkdf(this.#ck, ikm, 2) as [Uint8Array, Uint8Array]
    this.#ck = ck
    this.#cs.initializeKey(tempK.subarray(0, KEY_BYTES)) // truncated when HASHLEN is 64
  }

  /** MixHash(data): h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    this.#h = this.#suite.hash.hash(this.#h, data)
  }

  /** MixKeyAndHash(input_key_material): for psk tokens. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = this.#suite.hash.hkdf(this.#ck, ikm, 3) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ]
    this.#ck = ck
    this.mixHash(tempH)
    this.#cs.initializeKey(tempK.subarray(0, KEY_BYTES))
  }

  /** GetHandshakeHash(): h, a copy. */
  get handshakeHash(): Uint8Array {
    return Uint8Array.from(this.#h)
  }

  hasKey(): boolean {
    return this.#cs.hasKey()
  }

  /** EncryptAndHash(plaintext): encrypts with h as AD, then hashes the ciphertext. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cs.encryptWithAd(this.#h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  /** DecryptAndHash(ciphertext): h is mixed only when the ciphertext authenticates. */
  decryptAndHash(ciphertext: Uint8Array): Decoded<Uint8Array, CipherReadError> {
    const plaintext = this.#cs.decryptWithAd(this.#h, ciphertext)
    if (plaintext.ok) this.mixHash(ciphertext)
    return plaintext
  }

  /** Split(): the two transport CipherStates, initiator→responder first. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.#suite.hash.hkdf(this.#ck, EMPTY, 2) as [Uint8Array, Uint8Array]
    const cipher = this.#suite.cipher
    return [
      new CipherState(cipher, k1.subarray(0, KEY_BYTES)),
      new CipherState(cipher, k2.subarray(0, KEY_BYTES)),
    ]
  }
}
