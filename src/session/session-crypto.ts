/**
 * One established session's record protection (SSM records), sans-I/O: seal and open.
 *
 * seal(type, streamId, payload, nowMs):
 *   1. assign the next seq (they start at 0 and only grow, over every epoch);
 *   2. let the SendCipher rotate its key if due, then build the header with its epoch;
 *   3. header ‖ AEAD(key, nonce = seq, ad = header, payload).
 *
 * open(bytes, nowMs), each step dropping and counting what fails it:
 *   1. decode the header (malformed); a handshake type is for the handshake (unexpected-type);
 *   2. the session id must be this session's (unknown-session: the caller answers nothing);
 *   3. source and destination must be the peer and this side (wrong-peer);
 *   4. the epoch picks a key (stale-epoch, future-epoch), its window the seq (replayed,
 *      too-old), the AEAD authenticates header and body (bad-tag); then the window moves.
 *
 * Retransmission is a new record with a new seq: a seq is never sealed twice.
 */

import { bytesLength, concatBytes } from '../core/bytes.ts'
import type { CipherName } from '../core/noise/cipher.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { decodeName } from '../identity/name.ts'
import {
  ReceiveCipher,
  type RecordCipherOptions,
  resolveRecordOptions,
  type SealedParts,
  SendCipher,
} from './record-cipher.ts'
import { type OpenError, SessionError } from './session-errors.ts'
import {
  decodeRecord,
  encodeHeader,
  isHandshakeType,
  MAX_PAYLOAD_BYTES,
  MAX_SEQ,
  SESSION_ID_BYTES,
  type SealedType,
  TAG_BYTES,
} from './session-records.ts'

/** What SessionCrypto needs: a handshake's SessionKeys fit (or fixed keys, for vectors). */
export interface SessionCryptoKeys {
  readonly sessionId: Uint8Array
  readonly localName: string
  readonly peerName: string
  readonly cipher: CipherName
  readonly sendKey: Uint8Array
  readonly receiveKey: Uint8Array
}

/** A record that opened: authentic, fresh, for this session. `payload` is a fresh buffer. */
export interface OpenedRecord {
  readonly type: SealedType
  readonly flags: number
  readonly streamId: number
  readonly seq: bigint
  readonly epoch: number
  readonly payload: Uint8Array
}

/** Counts since creation: records sealed and opened, and every rejection by code. */
export type SessionCounters = { readonly sealed: number; readonly opened: number } & {
  readonly [code in OpenError]: number
}

const ZERO_COUNTERS: SessionCounters = {
  sealed: 0,
  opened: 0,
  malformed: 0,
  'unexpected-type': 0,
  'unknown-session': 0,
  'wrong-peer': 0,
  'stale-epoch': 0,
  'future-epoch': 0,
  'too-old': 0,
  replayed: 0,
  'bad-tag': 0,
}

export class SessionCrypto {
  readonly #sessionId: Uint8Array
  readonly #localKey: Uint8Array
  readonly #peerKey: Uint8Array
  readonly #send: SendCipher
  readonly #receive: ReceiveCipher
  #nextSeq = 0n
  #counters: { -readonly [K in keyof SessionCounters]: number } = { ...ZERO_COUNTERS }

  /** Throws SessionError('bad-config') on a bad name, key, id or option. */
  constructor(keys: SessionCryptoKeys, nowMs: number, options: RecordCipherOptions = {}) {
    if (keys.sessionId.length !== SESSION_ID_BYTES) {
      throw new SessionError('bad-config', `a session id is ${SESSION_ID_BYTES} bytes`)
    }
    this.#sessionId = Uint8Array.from(keys.sessionId)
    this.#localKey = nameKey(keys.localName, 'localName')
    this.#peerKey = nameKey(keys.peerName, 'peerName')
    const policy = resolveRecordOptions(options)
    this.#send = new SendCipher(keys.cipher, keys.sendKey, nowMs, policy)
    this.#receive = new ReceiveCipher(keys.cipher, keys.receiveKey, policy)
  }

  get sessionId(): Uint8Array {
    return Uint8Array.from(this.#sessionId)
  }

  /** The seq the next sealed record gets. */
  get nextSeq(): bigint {
    return this.#nextSeq
  }

  /** The key epochs in use: sending, and the newest one received. */
  get epochs(): { readonly send: number; readonly receive: number } {
    return { send: this.#send.epoch, receive: this.#receive.epoch }
  }

  get counters(): SessionCounters {
    return { ...this.#counters }
  }

  /**
   * The wire bytes of one sealed record. Throws SessionError: 'bad-record' for a handshake
   * type, a bad stream id or flags, a payload over MAX_PAYLOAD_BYTES; 'seq-exhausted'.
   */
  seal(
    type: SealedType,
    streamId: number,
    payload: Uint8Array,
    nowMs: number,
    flags = 0,
  ): Uint8Array {
    return concatBytes(this.sealParts(type, streamId, payload, nowMs, flags))
  }

  /**
   * seal(), as [header, ciphertext…, tag], not joined (bulk records: no copy); the payload
   * may come in parts, whose concatenation is the payload.
   */
  sealParts(
    type: SealedType,
    streamId: number,
    payload: Uint8Array | readonly Uint8Array[],
    nowMs: number,
    flags = 0,
  ): SealedParts {
    if (isHandshakeType(type)) throw new SessionError('bad-record', `${type} is not sealed`)
    const payloadBytes = bytesLength(payload)
    if (payloadBytes > MAX_PAYLOAD_BYTES) {
      throw new SessionError('bad-record', `payload ${payloadBytes} > ${MAX_PAYLOAD_BYTES}`)
    }
    if (!Number.isSafeInteger(streamId) || streamId < 0) {
      throw new SessionError('bad-record', `stream id ${streamId}`)
    }
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) {
      throw new SessionError('bad-record', `flags ${flags}`)
    }
    const seq = this.#nextSeq
    if (seq > MAX_SEQ) throw new SessionError('seq-exhausted', 'start a new session')
    const bodyBytes = payloadBytes + TAG_BYTES
    const record = this.#send.seal(seq, payload, nowMs, (epoch) =>
      encodeHeader(
        {
          type,
          flags,
          epoch,
          sessionId: this.#sessionId,
          seq,
          streamId,
          source: this.#localKey,
          destination: this.#peerKey,
        },
        bodyBytes,
      ),
    )
    this.#nextSeq = seq + 1n
    this.#counters.sealed++
    return record
  }

  /** The record's contents, or why it was dropped (counted either way). Never throws. */
  open(bytes: Uint8Array, nowMs: number): Decoded<OpenedRecord, OpenError> {
    const result = this.#open(bytes, nowMs)
    if (result.ok) this.#counters.opened++
    else this.#counters[result.code]++
    return result
  }

  /** Drops the previous epoch's receiving key once its grace is over. */
  tick(nowMs: number): void {
    this.#receive.tick(nowMs)
  }

  /** When tick must next be called, if ever. */
  nextDeadlineMs(): number | undefined {
    return this.#receive.nextDeadlineMs()
  }

  #open(bytes: Uint8Array, nowMs: number): Decoded<OpenedRecord, OpenError> {
    const record = decodeRecordForOpen(bytes)
    if (!record.ok) return record
    const { header, headerBytes, body } = record.value
    if (isHandshakeType(header.type)) return fail('unexpected-type', header.type)
    if (!sameBytes(header.sessionId, this.#sessionId)) return fail('unknown-session', 'session id')
    if (
      !sameBytes(header.source, this.#peerKey) ||
      !sameBytes(header.destination, this.#localKey)
    ) {
      return fail('wrong-peer', 'source or destination is not this session')
    }
    const payload = this.#receive.open(header.epoch, header.seq, headerBytes, body, nowMs)
    if (!payload.ok) return payload
    return ok({
      type: header.type,
      flags: header.flags,
      streamId: header.streamId,
      seq: header.seq,
      epoch: header.epoch,
      payload: payload.value,
    })
  }
}

function decodeRecordForOpen(bytes: Uint8Array) {
  const record = decodeRecord(bytes)
  return record.ok ? record : fail('malformed' as const, `${record.code}: ${record.detail}`)
}

function nameKey(name: string, field: string): Uint8Array {
  const key = decodeName(name)
  if (!key.ok) throw new SessionError('bad-config', `${field}: ${key.detail}`)
  return key.value
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
