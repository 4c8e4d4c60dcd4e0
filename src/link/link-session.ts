/**
 * One overlay link (one TCP connection between two neighbours) as a sans-I/O
 * state machine: bytes and the current time in; bytes to write, events and the
 * next deadline out. No sockets, timers or clocks here; a driver owns those.
 *
 *   1. handshaking: Noise XX (LINK_PATTERN, LINK_SUITE, LINK_PROLOGUE), static key
 *      = identity.dh. Message 1 carries nothing; messages 2 and 3 carry the
 *      sender's name, checked against the static key the same message delivers
 *      (and against `expectedPeerName`) as soon as it arrives.
 *   2. authenticating: the handshake is complete; each side's first transport
 *      record is `auth` (its name + an Ed25519 signature of AUTH_CONTEXT ‖
 *      handshake hash), sent at once. The peer's first record must be its `auth`.
 *   3. open: `data`, `keepalive` and `close` records.
 *   4. closed: exactly one 'closed' event was emitted; nothing more happens.
 *
 * Contract for the driver: write every takeOutgoing() chunk in order (also after
 * the link closed: it may hold a final `close` record), hand every received chunk
 * to receive(), call tick() at nextDeadlineMs() — deadlines fire only in tick —
 * and drain takeEvents() after each call. Bad input from the peer never throws:
 * it closes the link with a LinkCloseReason. Local misuse throws a LinkError.
 */
import { bytesLength, concatBytes } from '../core/bytes.ts'
import type { HandshakeState, TransportCiphers } from '../core/noise/index.ts'
import { createHandshake } from '../core/noise/index.ts'
import type { Identity } from '../identity/keys.ts'
import { verifyByName } from '../identity/keys.ts'
import { decodeName } from '../identity/name.ts'
import { x25519PublicFromEd25519 } from '../identity/x25519.ts'
import { encodeFrame, type Frame, FrameDecoder, frameHeader, splitFrameHeader } from './framing.ts'
import {
  authMessage,
  CLOSE_CODE,
  type CloseCode,
  closeCodeName,
  decodeNameBytes,
  decodeRecord,
  encodeNameBytes,
  encodeRecord,
  LINK_PATTERN,
  LINK_PROLOGUE,
  LINK_SUITE,
  type LinkRecord,
  TAG_BYTES,
  TAIL_AUTH_BYTES,
} from './link-records.ts'
import {
  type LinkCloseReason,
  LinkError,
  type LinkEvent,
  type LinkOptions,
  type LinkSessionInit,
  type LinkState,
  MIN_FRAME_BYTES,
  resolveOptions,
} from './link-types.ts'

export type { CloseCode } from './link-records.ts'
export {
  type LinkCloseReason,
  LinkError,
  type LinkEvent,
  type LinkSessionInit,
  type LinkState,
  type LinkUsageError,
  MIN_FRAME_BYTES,
} from './link-types.ts'

const EMPTY = new Uint8Array(0)

export class LinkSession {
  readonly #identity: Identity
  readonly #initiator: boolean
  readonly #options: LinkOptions
  readonly #handshakeDeadlineMs: number
  readonly #decoder: FrameDecoder
  readonly #handshake: HandshakeState
  #ciphers: TransportCiphers | undefined
  #state: LinkState = 'handshaking'
  #claimedName: string | undefined
  #peerName: string | undefined
  #lastSentMs: number
  #lastReceivedMs: number
  #outgoing: Uint8Array[] = []
  #events: LinkEvent[] = []

  /** Throws LinkError('bad-config') on bad options. The initiator queues message 1 at once. */
  constructor(init: LinkSessionInit, nowMs: number) {
    this.#identity = init.identity
    this.#initiator = init.initiator
    this.#options = resolveOptions(init)
    this.#handshakeDeadlineMs = nowMs + this.#options.handshakeTimeoutMs
    // Until the handshake is done only handshake-sized frames are accepted, so a
    // stray client (say HTTP) declaring a large length is refused at once, not held.
    this.#decoder = new FrameDecoder(MIN_FRAME_BYTES)
    this.#handshake = createHandshake({
      pattern: LINK_PATTERN,
      suite: LINK_SUITE,
      initiator: init.initiator,
      prologue: LINK_PROLOGUE,
      staticKeyPair: init.identity.dh,
    })
    this.#lastSentMs = nowMs
    this.#lastReceivedMs = nowMs
    if (init.initiator) this.#writeHandshake(EMPTY, nowMs)
  }

  get state(): LinkState {
    return this.#state
  }

  /** The peer's canonical name, once the link is open (kept after it closes). */
  get peerName(): string | undefined {
    return this.#peerName
  }

  /** The largest payload `send` takes: one record in one frame. */
  get maxPayloadBytes(): number {
    return this.#options.maxFrameBytes - TAG_BYTES - 1
  }

  /** Consumes a chunk of the byte stream, however the socket cut it. A no-op once closed. */
  receive(bytes: Uint8Array, nowMs: number): void {
    if (this.#isClosed() || bytes.length === 0) return
    this.#lastReceivedMs = nowMs
    const frames = this.#decoder.push(bytes)
    if (!frames.ok) {
      this.#fail('bad-frame', `${frames.code}: ${frames.detail}`, nowMs)
      return
    }
    for (const frame of frames.value) {
      if (this.#isClosed()) return
      if (this.#state === 'handshaking') this.#onHandshakeMessage(frame.bytes, nowMs)
      else this.#onTransportMessage(frame, nowMs)
    }
  }

  /**
   * Queues one data record: `payload`, then `tail`, ciphertext sealed end to end already
   * (a session record's body, ending in its AEAD tag), in parts. The tail travels in a
   * split frame as it is, neither encrypted nor copied again; the link authenticates its
   * last TAIL_AUTH_BYTES (the end-to-end tag, which authenticates the rest of it:
   * docs/wire-link.md). Throws LinkError 'not-open' or 'payload-too-large' (also for a
   * tail shorter than a tag).
   */
  send(payload: Uint8Array, nowMs: number, tail: readonly Uint8Array[] = []): void {
    if (this.#state !== 'open') throw new LinkError('not-open', `the link is ${this.#state}`)
    const tailBytes = bytesLength(tail)
    if (
      tailBytes > this.#options.maxTailBytes ||
      (tailBytes > 0 && tailBytes < TAIL_AUTH_BYTES) ||
      payload.length > this.maxPayloadBytes
    ) {
      throw new LinkError('payload-too-large', `${payload.length} bytes (+ ${tailBytes} sealed)`)
    }
    if (tailBytes === 0) {
      this.#sendRecord({ type: 'data', payload }, nowMs)
      return
    }
    const sealed = (this.#ciphers as TransportCiphers).send.encryptWithAd(
      lastBytes(tail, TAIL_AUTH_BYTES),
      encodeRecord({ type: 'data', payload }),
    )
    this.#outgoing.push(splitFrameHeader(sealed.length, tailBytes), sealed, ...tail)
    this.#lastSentMs = nowMs
  }

  /** Fires whatever deadline has passed: handshake timeout, peer death, keepalive. */
  tick(nowMs: number): void {
    const state = this.#state
    switch (state) {
      case 'handshaking':
      case 'authenticating':
        if (nowMs >= this.#handshakeDeadlineMs) {
          const ms = this.#options.handshakeTimeoutMs
          this.#fail('handshake-timeout', `still ${state} after ${ms} ms`, nowMs)
        }
        return
      case 'open':
        if (nowMs >= this.#lastReceivedMs + this.#options.deadAfterMs) {
          this.#fail('peer-dead', `nothing received for ${nowMs - this.#lastReceivedMs} ms`, nowMs)
        } else if (nowMs >= this.#lastSentMs + this.#options.keepaliveIntervalMs) {
          this.#sendRecord({ type: 'keepalive' }, nowMs)
        }
        return
      case 'closed':
        return
      default:
        assertNever(state)
    }
  }

  /** When tick must next be called; undefined once closed. */
  nextDeadlineMs(): number | undefined {
    const state = this.#state
    switch (state) {
      case 'handshaking':
      case 'authenticating':
        return this.#handshakeDeadlineMs
      case 'open':
        return Math.min(
          this.#lastReceivedMs + this.#options.deadAfterMs,
          this.#lastSentMs + this.#options.keepaliveIntervalMs,
        )
      case 'closed':
        return undefined
      default:
        return assertNever(state)
    }
  }

  /** Closes the link ('local-close'), sending `code` to the peer once keys exist. Idempotent. */
  close(code: CloseCode, nowMs: number): void {
    if (this.#isClosed()) return
    if (this.#ciphers !== undefined) {
      this.#sendRecord({ type: 'close', code: CLOSE_CODE[code] }, nowMs)
    }
    this.#finish('local-close', `closed locally: ${closeCodeName(CLOSE_CODE[code])}`)
  }

  /** The framed bytes to write to the socket, in order (a frame may span two chunks); empties the queue. */
  takeOutgoing(): Uint8Array[] {
    const out = this.#outgoing
    this.#outgoing = []
    return out
  }

  /** The events since the last call, in order; empties the queue. */
  takeEvents(): LinkEvent[] {
    const out = this.#events
    this.#events = []
    return out
  }

  #isClosed(): boolean {
    return this.#state === 'closed'
  }

  #onHandshakeMessage(frame: Uint8Array, nowMs: number): void {
    const read = this.#handshake.readMessage(frame)
    if (!read.ok) {
      this.#fail('handshake-failed', `${read.code}: ${read.detail}`, nowMs)
      return
    }
    // Split as soon as it is complete, so that a refusal below can tell the peer why.
    if (this.#handshake.isComplete) this.#ciphers = this.#handshake.split()
    // The initiator reads only message 2; the responder reads 1, then 3 (which completes it).
    if (!this.#initiator && !this.#handshake.isComplete) {
      if (read.value.length !== 0) this.#fail('handshake-failed', 'message 1 has a payload', nowMs)
      else this.#writeHandshake(encodeNameBytes(this.#identity.name), nowMs)
      return
    }
    const name = decodeNameBytes(read.value)
    if (!name.ok) {
      this.#fail('handshake-failed', `name payload: ${name.code}: ${name.detail}`, nowMs)
      return
    }
    if (!this.#acceptPeerName(name.value, nowMs)) return
    this.#claimedName = name.value
    if (this.#initiator) {
      this.#writeHandshake(encodeNameBytes(this.#identity.name), nowMs)
      this.#ciphers = this.#handshake.split()
    }
    this.#state = 'authenticating'
    // Frames that follow message 3 in the same chunk are at most the peer's `auth`
    // record, which fits the handshake limit; anything larger comes later.
    this.#decoder.setLimits(this.#options.maxFrameBytes, this.#options.maxTailBytes)
    const signature = this.#identity.sign(authMessage(this.#handshake.handshakeHash))
    this.#sendRecord({ type: 'auth', name: this.#identity.name, signature }, nowMs)
  }

  /** Whether `name` is the Noise static key's and the expected one; fails the link if not. */
  #acceptPeerName(name: string, nowMs: number): boolean {
    const key = decodeName(name)
    const remote = this.#handshake.remoteStaticPublicKey
    if (!key.ok || !remote || !bytesEqual(x25519PublicFromEd25519(key.value), remote)) {
      this.#fail('auth-failed', `${name} is not the name of the handshake's static key`, nowMs)
      return false
    }
    const expected = this.#options.expectedPeerName
    if (expected !== undefined && name !== expected) {
      this.#fail('wrong-peer', `expected ${expected}, got ${name}`, nowMs)
      return false
    }
    return true
  }

  #onTransportMessage(frame: Frame, nowMs: number): void {
    if (frame.tail > 0 && frame.tail < TAIL_AUTH_BYTES) {
      this.#fail('bad-frame', `a split frame's tail of ${frame.tail} bytes`, nowMs)
      return
    }
    const split = frame.bytes.length - frame.tail
    const plain = (this.#ciphers as TransportCiphers).receive.decryptWithAd(
      frame.bytes.subarray(frame.bytes.length - Math.min(frame.tail, TAIL_AUTH_BYTES)),
      frame.tail === 0 ? frame.bytes : frame.bytes.subarray(0, split),
    )
    if (!plain.ok) {
      this.#fail('decrypt-failed', `${plain.code}: ${plain.detail}`, nowMs)
      return
    }
    const decoded = decodeRecord(plain.value)
    if (!decoded.ok) {
      this.#fail('bad-record', `${decoded.code}: ${decoded.detail}`, nowMs)
      return
    }
    if (frame.tail > 0) {
      if (decoded.value.type !== 'data' || this.#state !== 'open') {
        this.#fail('bad-record', `a split frame carries ${decoded.value.type}`, nowMs)
        return
      }
      // The payload is head ‖ tail: the head goes where its ciphertext was, just
      // before the tail, so the (large) tail is not copied.
      const head = decoded.value.payload
      const start = split - head.length
      frame.bytes.set(head, start)
      const payload = frame.bytes.subarray(start)
      this.#events.push({ type: 'data', payload, sealedTail: frame.tail, borrowed: frame.borrowed })
      return
    }
    const record = decoded.value
    if (record.type === 'close') {
      this.#finish('peer-close', `peer closed: ${closeCodeName(record.code)}`)
    } else if (this.#state === 'authenticating') {
      this.#onAuth(record, nowMs)
    } else if (record.type === 'data') {
      this.#events.push({ type: 'data', payload: record.payload, sealedTail: 0, borrowed: false })
    } else if (record.type === 'auth') {
      this.#fail('bad-record', 'a second auth record', nowMs)
    }
    // keepalive: receiving it was the point.
  }

  #onAuth(record: LinkRecord, nowMs: number): void {
    if (record.type !== 'auth') {
      this.#fail('auth-failed', `the first record is ${record.type}, not auth`, nowMs)
    } else if (record.name !== this.#claimedName) {
      this.#fail('auth-failed', `auth names ${record.name}, not ${this.#claimedName}`, nowMs)
    } else if (
      !verifyByName(record.name, authMessage(this.#handshake.handshakeHash), record.signature)
    ) {
      this.#fail('auth-failed', 'the auth signature does not verify', nowMs)
    } else if (this.#acceptPeerName(record.name, nowMs)) {
      this.#state = 'open'
      this.#peerName = record.name
      this.#events.push({ type: 'open', peerName: record.name })
    }
  }

  #writeHandshake(payload: Uint8Array, nowMs: number): void {
    this.#outgoing.push(encodeFrame(this.#handshake.writeMessage(payload)))
    this.#lastSentMs = nowMs
  }

  #sendRecord(record: LinkRecord, nowMs: number): void {
    const sealed = (this.#ciphers as TransportCiphers).send.encryptWithAd(
      EMPTY,
      encodeRecord(record),
    )
    // Header and body as two chunks: the driver writes them together (writev), no copy.
    this.#outgoing.push(frameHeader(sealed.length), sealed)
    this.#lastSentMs = nowMs
  }

  /** Closes for anything but a close record; tells the peer why once keys exist. */
  #fail(reason: LinkCloseReason, detail: string, nowMs: number): void {
    if (this.#ciphers !== undefined) {
      const code = reason === 'peer-dead' || reason === 'handshake-timeout' ? 'timeout' : 'error'
      this.#sendRecord({ type: 'close', code: CLOSE_CODE[code] }, nowMs)
    }
    this.#finish(reason, detail)
  }

  #finish(reason: LinkCloseReason, detail: string): void {
    this.#state = 'closed'
    this.#ciphers = undefined
    this.#events.push({ type: 'closed', reason, detail })
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`)
}

/** The last `n` bytes of the parts, as one array (a view when the last part holds them). */
function lastBytes(parts: readonly Uint8Array[], n: number): Uint8Array {
  const last = parts.at(-1)
  if (last !== undefined && last.length >= n) return last.subarray(last.length - n)
  const all = concatBytes(parts)
  return all.subarray(Math.max(0, all.length - n))
}
