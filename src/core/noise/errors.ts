/**
 * The Noise module's error codes, in one place (also listed in docs/noise.md).
 *
 * Bad input from the peer never throws: `readMessage` and `decryptWithAd` return a
 * `Decoded` carrying a `NoiseReadError`, and the caller drops the message (during a
 * handshake, the whole handshake). Local misuse — sending out of turn, a payload too large
 * for one message, a missing key, an exhausted nonce — throws a `NoiseError` whose `code` is
 * a `NoiseUsageError`, because it is a bug in the caller, not something the peer did.
 */
import { CodedError } from '../coded-error.ts'

export type NoiseReadError =
  /** The message is longer than 65,535 bytes, Noise's limit. */
  | 'message-too-large'
  /** The message is shorter than the keys and tags its pattern step must carry. */
  | 'truncated'
  /** An AEAD tag did not verify: tampered, misrouted, or the wrong key (a wrong static key). */
  | 'decrypt-failed'
  /** A received public key has low order: DH with it gives the all-zero output. */
  | 'bad-public-key'
  /** The receiving CipherState reached nonce 2^64 − 1, which the spec reserves. */
  | 'nonce-exhausted'
  /** Not this side's turn to read: the handshake is complete, failed, or waits for a write. */
  | 'wrong-state'

export type NoiseUsageError =
  /** The message would exceed 65,535 bytes. */
  | 'message-too-large'
  /** The sending CipherState reached nonce 2^64 − 1: rekey or start a new session. */
  | 'nonce-exhausted'
  /** The call does not fit the state: writing out of turn, splitting twice or too early. */
  | 'wrong-state'
  /** Unknown pattern or suite, a missing or malformed key, the wrong number of PSKs. */
  | 'bad-config'
  /** A nonce outside 0..2^64 − 1 given to `setNonce`. */
  | 'bad-nonce'

export class NoiseError extends CodedError<NoiseUsageError> {}
