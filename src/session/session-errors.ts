/**
 * The session layer's codes, in one place (also listed in docs/wire-session.md).
 *
 * Bad input from the network never throws: the handshake and `SessionCrypto.open` return a
 * coded `Decoded` failure, the record is dropped and the code counted. Local misuse — a bad
 * name or option, sealing past the last sequence number — throws a `SessionError`.
 */
import { CodedError } from '../core/coded-error.ts'

/** Why `SessionCrypto.open` dropped a record. */
export type OpenError =
  /** Not a session record: bad version, type, lengths or fields (session-records.ts). */
  | 'malformed'
  /** A handshake record (hello, hello-reply): not for an established session. */
  | 'unexpected-type'
  /** Not this session's id. The caller must send nothing back: a reply would confirm state. */
  | 'unknown-session'
  /** This session's id, but the names are not this session's two ends. */
  | 'wrong-peer'
  /** The key epoch is older than the previous one, or the previous one's grace has ended. */
  | 'stale-epoch'
  /** The key epoch is further ahead than MAX_EPOCH_SKIP: no honest sender gets there. */
  | 'future-epoch'
  /** The sequence number is below the replay window of its epoch. */
  | 'too-old'
  /** The sequence number was already accepted in its epoch. */
  | 'replayed'
  /** The AEAD tag did not verify: tampered header or body, forged, or another key. */
  | 'bad-tag'

/** Why a handshake message was dropped; the handshake it belongs to is over. */
export type HandshakeError =
  /** Not a session record, or a hello / hello-reply with a non-zero field. */
  | 'malformed'
  /** Not the handshake record this step expects. */
  | 'unexpected-type'
  /** Addressed to another name, or (hello-reply) from another name than the one dialled. */
  | 'wrong-peer'
  /** Noise refused the message: a wrong static key, tampering, a low-order key. */
  | 'bad-handshake'
  /** The initiator's Noise static key is not the key of the name it claims. */
  | 'name-mismatch'
  /** The cleartext session id does not match the partial ids inside the Noise payloads. */
  | 'bad-session-id'
  /** The reply does not belong to this pending handshake, or it was already used. */
  | 'wrong-state'

/** Local misuse. */
export type SessionUsageError =
  /** A malformed name, key or option. */
  | 'bad-config'
  /** Sealing a handshake type, a bad stream id or flags, or a payload over MAX_PAYLOAD_BYTES. */
  | 'bad-record'
  /** The sending sequence numbers are used up: start a new session. */
  | 'seq-exhausted'

export class SessionError extends CodedError<SessionUsageError> {}
