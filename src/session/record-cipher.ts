/**
 * Per-direction record sealing with key rotation (docs/wire-session.md, "Keys and nonces").
 *
 *   - The AEAD is Noise's ENCRYPT / DECRYPT (core/noise/cipher.ts: ChaCha20-Poly1305 or
 *     AES-256-GCM from node:crypto, 16-byte tag), keyed by the key of the record's epoch, with
 *     the record's seq as Noise's 64-bit nonce n. A session's seqs only grow and never reach
 *     2^64 − 1, so no (key, nonce) pair repeats, and REKEY's reserved nonce is never a record's.
 *   - Epoch e + 1's key is REKEY(epoch e's key) (Noise §4.2, §11.3): both sides compute it,
 *     no message is needed. The sender rotates before sealing when its epoch has sealed
 *     `rekeyAfterRecords` records or `rekeyAfterBytes` bytes or is `rekeyAfterMs` old.
 *   - The receiver follows the first authentic record of a newer epoch, and keeps the
 *     previous epoch's key (and its replay window) for `previousKeyGraceMs`, so that records
 *     in flight across a rotation still open. Then the old key is dropped.
 *
 * Every key becomes a KeyObject once, here: importing a raw key per record is slow on Node 24.
 */
import { createSecretKey, type KeyObject } from 'node:crypto'
import { bytesLength } from '../core/bytes.ts'
import { CIPHERS, type CipherName, KEY_BYTES } from '../core/noise/cipher.ts'
import { MAX_NONCE } from '../core/noise/index.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { DEFAULT_REPLAY_WINDOW_BITS, type ReplayError, ReplayWindow } from './replay-window.ts'
import { SessionError } from './session-errors.ts'
import { MAX_EPOCH, MAX_SEQ } from './session-records.ts'

// Tuning constants; docs/wire-session.md says why each.

export const DEFAULT_REKEY_AFTER_RECORDS = 2 ** 32
export const DEFAULT_REKEY_AFTER_BYTES = 64 * 2 ** 30
export const DEFAULT_REKEY_AFTER_MS = 60 * 60 * 1000
export const DEFAULT_PREVIOUS_KEY_GRACE_MS = 60 * 1000
/** How many epochs a receiver derives ahead to follow a sender whose records were all lost. */
export const MAX_EPOCH_SKIP = 8

/** Rotation and replay settings; every field optional, defaults above. */
export interface RecordCipherOptions {
  readonly rekeyAfterRecords?: number
  readonly rekeyAfterBytes?: number
  readonly rekeyAfterMs?: number
  readonly previousKeyGraceMs?: number
  /** A positive multiple of 32. Default DEFAULT_REPLAY_WINDOW_BITS. */
  readonly replayWindowBits?: number
}

export type RecordCipherPolicy = Required<RecordCipherOptions>

export type ReceiveError = ReplayError | 'stale-epoch' | 'future-epoch' | 'bad-tag'

const EMPTY = new Uint8Array(0)
const ZEROS = new Uint8Array(KEY_BYTES)

/** Fills in defaults; throws SessionError('bad-config') on a value that is not a count. */
export function resolveRecordOptions(init: RecordCipherOptions = {}): RecordCipherPolicy {
  const policy: RecordCipherPolicy = {
    rekeyAfterRecords: init.rekeyAfterRecords ?? DEFAULT_REKEY_AFTER_RECORDS,
    rekeyAfterBytes: init.rekeyAfterBytes ?? DEFAULT_REKEY_AFTER_BYTES,
    rekeyAfterMs: init.rekeyAfterMs ?? DEFAULT_REKEY_AFTER_MS,
    previousKeyGraceMs: init.previousKeyGraceMs ?? DEFAULT_PREVIOUS_KEY_GRACE_MS,
    replayWindowBits: init.replayWindowBits ?? DEFAULT_REPLAY_WINDOW_BITS,
  }
  for (const [name, value] of Object.entries(policy)) {
    const min = name === 'previousKeyGraceMs' ? 0 : 1
    if (!Number.isSafeInteger(value) || value < min) {
      throw new SessionError('bad-config', `${name} must be an integer >= ${min}, got ${value}`)
    }
  }
  if (policy.replayWindowBits % 32 !== 0) {
    throw new SessionError('bad-config', 'replayWindowBits must be a multiple of 32')
  }
  return policy
}

/** REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64 − 1, ε, zeros) (Noise §4.2). */
export function rekey(cipher: CipherName, key: KeyObject): KeyObject {
  return createSecretKey(CIPHERS[cipher].encrypt(key, MAX_NONCE, EMPTY, ZEROS).subarray(0, 32))
}

function importKey(key: Uint8Array): KeyObject {
  if (key.length !== KEY_BYTES) {
    throw new SessionError('bad-config', `a record key is ${KEY_BYTES} bytes, got ${key.length}`)
  }
  return createSecretKey(key)
}

/**
 * A sealed record in parts: the header (the AEAD's associated data), then the sealed body
 * (the ciphertext of each plaintext part, then the tag).
 */
export type SealedParts = readonly [header: Uint8Array, ...sealed: Uint8Array[]]

/** The sending half: seals with the current epoch's key, rotating when due. */
export class SendCipher {
  readonly #cipher: CipherName
  readonly #policy: RecordCipherPolicy
  #key: KeyObject
  #epoch = 0
  #epochStartMs: number
  #records = 0
  #bytes = 0

  /** `key`: epoch 0's raw key (32 bytes). */
  constructor(cipher: CipherName, key: Uint8Array, nowMs: number, policy: RecordCipherPolicy) {
    this.#cipher = cipher
    this.#policy = policy
    this.#key = importKey(key)
    this.#epochStartMs = nowMs
  }

  get epoch(): number {
    return this.#epoch
  }

  /**
   * header(epoch) ‖ ENCRYPT(k_epoch, seq, header, plaintext), as its parts [header,
   * ciphertext…, tag], never joined: the links send them as they are. The plaintext may
   * come in parts too (their concatenation is the plaintext). The header is built
   * once the epoch is known, because the epoch is in it and it is the associated data. The
   * caller gives strictly increasing seqs; throws SessionError('seq-exhausted') past the last.
   */
  seal(
    seq: bigint,
    plaintext: Uint8Array | readonly Uint8Array[],
    nowMs: number,
    header: (epoch: number) => Uint8Array,
  ): SealedParts {
    if (seq < 0n || seq > MAX_SEQ) throw new SessionError('seq-exhausted', `seq ${seq}`)
    if (this.#rotationDue(nowMs)) this.#rotate(nowMs)
    const ad = header(this.#epoch)
    const sealed = CIPHERS[this.#cipher].encryptParts(this.#key, seq, ad, plaintext)
    this.#records++
    this.#bytes += bytesLength(plaintext)
    return [ad, ...sealed]
  }

  #rotationDue(nowMs: number): boolean {
    const p = this.#policy
    return (
      this.#records >= p.rekeyAfterRecords ||
      this.#bytes >= p.rekeyAfterBytes ||
      nowMs - this.#epochStartMs >= p.rekeyAfterMs
    )
  }

  #rotate(nowMs: number): void {
    if (this.#epoch === MAX_EPOCH) throw new SessionError('seq-exhausted', 'key epochs used up')
    this.#key = rekey(this.#cipher, this.#key)
    this.#epoch++
    this.#epochStartMs = nowMs
    this.#records = 0
    this.#bytes = 0
  }
}

interface EpochSlot {
  readonly epoch: number
  readonly key: KeyObject
  readonly window: ReplayWindow
}

/** The receiving half: the current epoch, the previous one during its grace, replay windows. */
export class ReceiveCipher {
  readonly #cipher: CipherName
  readonly #policy: RecordCipherPolicy
  #current: EpochSlot
  #previous: EpochSlot | undefined
  #previousUntilMs = 0

  /** `key`: epoch 0's raw key (32 bytes). */
  constructor(cipher: CipherName, key: Uint8Array, policy: RecordCipherPolicy) {
    this.#cipher = cipher
    this.#policy = policy
    this.#current = this.#slot(0, importKey(key))
  }

  get epoch(): number {
    return this.#current.epoch
  }

  /** Whether the previous epoch's key is still held. */
  get hasPreviousKey(): boolean {
    return this.#previous !== undefined
  }

  /** When the previous key will be dropped, if one is held: call tick() then. */
  nextDeadlineMs(): number | undefined {
    return this.#previous && this.#previousUntilMs
  }

  /** Drops the previous epoch's key once its grace is over (forward secrecy). */
  tick(nowMs: number): void {
    if (this.#previous !== undefined && nowMs >= this.#previousUntilMs) this.#previous = undefined
  }

  /**
   * The plaintext of `sealed` (ciphertext ‖ tag) under `ad`, or why not. The replay window is
   * checked before the AEAD and moved only after it; a newer epoch is adopted only after one
   * of its records authenticates, so forged records change nothing.
   */
  open(
    epoch: number,
    seq: bigint,
    ad: Uint8Array,
    sealed: Uint8Array,
    nowMs: number,
  ): Decoded<Uint8Array, ReceiveError> {
    this.tick(nowMs)
    const slot = this.#slotFor(epoch)
    if (!slot.ok) return slot
    const verdict = slot.value.window.check(seq)
    if (verdict !== 'new') return fail(verdict, `epoch ${epoch} seq ${seq}`)
    const plaintext = CIPHERS[this.#cipher].decrypt(slot.value.key, seq, ad, sealed)
    if (plaintext === undefined) return fail('bad-tag', `epoch ${epoch} seq ${seq}`)
    if (slot.value.epoch > this.#current.epoch) {
      this.#previous = this.#current
      this.#previousUntilMs = nowMs + this.#policy.previousKeyGraceMs
      this.#current = slot.value
    }
    slot.value.window.accept(seq)
    return ok(plaintext)
  }

  #slotFor(epoch: number): Decoded<EpochSlot, ReceiveError> {
    const current = this.#current
    if (epoch === current.epoch) return ok(current)
    if (epoch === this.#previous?.epoch) return ok(this.#previous)
    if (epoch < current.epoch) return fail('stale-epoch', `epoch ${epoch} < ${current.epoch}`)
    if (epoch - current.epoch > MAX_EPOCH_SKIP) {
      return fail('future-epoch', `epoch ${epoch} > ${current.epoch} + ${MAX_EPOCH_SKIP}`)
    }
    // A candidate only: it becomes current if (and when) a record authenticates under it.
    let key = current.key
    for (let e = current.epoch; e < epoch; e++) key = rekey(this.#cipher, key)
    return ok(this.#slot(epoch, key))
  }

  #slot(epoch: number, key: KeyObject): EpochSlot {
    return { epoch, key, window: new ReplayWindow(this.#policy.replayWindowBits) }
  }
}
