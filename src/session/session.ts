/**
 * One session of the manager: the SRM (streams, acknowledgements, suspension), the SSM
 * record crypto once the handshake is done, and the peer's current overlay address.
 *
 * Outbound (`flush`):
 *   1. take the SRM's outgoing bodies (only once keys exist);
 *   2. seal each: `data` for data, retransmit and ack bodies, `rehello` / `rehello-reply`
 *      for probes and their replies;
 *   3. route it to the peer's current address; a probe also asks for a fresh lookup (the
 *      peer may have moved), and is sent again at once to a new address the lookup finds.
 *
 * Inbound (`receive`): open the record (dropped and counted on any failure; nothing is
 * ever sent back for a dropped record), then **roam**: an authentic record from a new
 * source address moves the peer's address there at once, so replies follow a moved peer.
 * A sealed record with an empty payload is an address announcement (nothing for the SRM).
 */
import type { Address } from '../overlay/address.ts'
import { SessionCrypto } from './session-crypto.ts'
import type { SessionKeys } from './session-handshake.ts'
import {
  CLOSE_CODE,
  type RouteKind,
  type SessionCloseReason,
  type SessionEvent,
  type SessionHandle,
  type SessionState,
} from './session-manager-types.ts'
import type { SealedType } from './session-records.ts'
import { SessionReliability } from './srm/session-reliability.ts'
import type { OutgoingRecord, SrmEvent, SrmInit } from './srm/srm-types.ts'
import { decodeStreamMeta } from './stream-meta.ts'

/** What a session needs from its manager. */
export interface SessionContext {
  /** `tail`: the record's sealed body, after `payload` (SessionOutput). */
  route(
    dest: Address,
    payload: Uint8Array,
    kind: RouteKind,
    session: SessionHandle,
    tail?: readonly Uint8Array[],
  ): void
  event(e: SessionEvent): void
  count(code: string): void
  /** The peer may have moved: look it up afresh (the manager rate-limits). */
  relookup(session: Session, nowMs: number): void
  /** The session closed for good: forget it. */
  closed(session: Session): void
}

export interface SessionInit {
  readonly handle: SessionHandle
  readonly peerName: string
  readonly initiator: boolean
  readonly srm: SrmInit
  readonly context: SessionContext
}

const SEALED_TYPE: Readonly<Record<OutgoingRecord['kind'], SealedType>> = {
  data: 'data',
  retransmit: 'data',
  ack: 'data',
  probe: 'rehello',
  'probe-reply': 'rehello-reply',
}

export class Session {
  readonly handle: SessionHandle
  readonly peerName: string
  readonly initiator: boolean
  readonly srm: SessionReliability
  readonly #ctx: SessionContext
  #state: SessionState
  #crypto: SessionCrypto | undefined
  #idHex: string | undefined
  #peerAddress: Address | undefined
  /** The last probe body sent, to send again at once to an address a lookup finds. */
  #lastProbe: readonly Uint8Array[] | undefined
  /** A half-open session is dropped at this time unless the initiator speaks. */
  halfOpenUntilMs: number | undefined

  constructor(init: SessionInit) {
    this.handle = init.handle
    this.peerName = init.peerName
    this.initiator = init.initiator
    this.srm = new SessionReliability(init.srm)
    this.#ctx = init.context
    this.#state = 'dialing'
  }

  get state(): SessionState {
    return this.#state
  }

  /** The wire session id in hex, once keys exist. */
  get sessionIdHex(): string | undefined {
    return this.#idHex
  }

  get peerAddress(): Address | undefined {
    return this.#peerAddress
  }

  /** The SSM's counts (records sealed, opened, rejected by code), once keys exist. */
  get crypto(): SessionCrypto | undefined {
    return this.#crypto
  }

  /**
   * The handshake is done. The initiator is established at once; the responder is
   * `half-open` until `halfOpenUntilMs` unless an authentic record arrives first.
   */
  keysReady(keys: SessionKeys, address: Address, nowMs: number, halfOpenUntilMs?: number): void {
    this.#crypto = new SessionCrypto(keys, nowMs)
    this.#idHex = Buffer.from(keys.sessionId).toString('hex')
    this.#peerAddress = address
    if (this.initiator) this.#establish(nowMs)
    else {
      this.#state = 'half-open'
      this.halfOpenUntilMs = halfOpenUntilMs
    }
  }

  #establish(nowMs: number): void {
    this.#state = 'established'
    this.halfOpenUntilMs = undefined
    const sessionId = this.#crypto?.sessionId ?? new Uint8Array(0)
    const { handle: session, peerName, initiator } = this
    this.#ctx.event({ type: 'established', session, peerName, sessionId, initiator, atMs: nowMs })
  }

  /** One sealed record for this session, from overlay address `src`. */
  receive(bytes: Uint8Array, src: Address, nowMs: number): void {
    const crypto = this.#crypto
    if (crypto === undefined || this.#state === 'closed') return
    const opened = crypto.open(bytes, nowMs)
    if (!opened.ok) {
      this.#ctx.count(`open:${opened.code}`)
      return
    }
    if (this.#peerAddress === undefined || !this.#peerAddress.equals(src)) {
      const from = this.#peerAddress
      this.#peerAddress = src
      this.#ctx.count('roamed')
      this.#ctx.event({ type: 'roamed', session: this.handle, from, to: src, atMs: nowMs })
    }
    if (this.#state === 'half-open') this.#establish(nowMs)
    const { type, payload } = opened.value
    switch (type) {
      case 'data':
      case 'ack':
      case 'rehello':
      case 'rehello-reply':
        if (payload.length === 0) {
          // The peer re-joined and says where it is: the path is back now. A session
          // suspended waiting on it resumes (and resends) at once, not at its next probe.
          this.#ctx.count('announce')
          this.srm.resume(nowMs)
        } else this.srm.receive(payload, nowMs)
        break
      case 'close':
        if (payload.length !== 1) this.#ctx.count('bad-close')
        this.#finish(nowMs, payload[0] === CLOSE_CODE.refused ? 'refused' : 'peer-closed')
        return
      case 'reset':
        this.#ctx.count('unexpected-reset')
        break
    }
    this.flush(nowMs)
  }

  /**
   * Seals and routes what the SRM has to send; hands its events on. With `send` false only
   * the events: what waits to be sent goes with the next flush, together with what the
   * events' handlers add (a stream accepted and written to at once: one record, not three).
   */
  flush(nowMs: number, send = true): void {
    if (send && (this.#state === 'half-open' || this.#state === 'established')) {
      for (const out of this.srm.takeOutgoing(nowMs)) this.#send(out, nowMs)
    }
    for (const e of this.srm.takeEvents()) this.#onSrmEvent(e)
  }

  #send(out: OutgoingRecord, nowMs: number): void {
    if (out.kind === 'probe') {
      this.#lastProbe = out.body
      this.#ctx.relookup(this, nowMs)
    }
    this.#seal(SEALED_TYPE[out.kind], out.body, out.kind, nowMs)
  }

  /** Seals a body (in parts) and routes it: the sealed parts travel as the message's tail. */
  #seal(type: SealedType, body: readonly Uint8Array[], kind: RouteKind, nowMs: number): void {
    const crypto = this.#crypto
    const dest = this.#peerAddress
    if (crypto === undefined || dest === undefined) return
    const [header, ...sealed] = crypto.sealParts(type, 0, body, nowMs)
    this.#ctx.route(dest, header, kind, this.handle, sealed)
  }

  #onSrmEvent(e: SrmEvent): void {
    const session = this.handle
    switch (e.type) {
      case 'stream-opened': {
        const port = decodeStreamMeta(e.meta)
        const { streamId, meta } = e
        this.#ctx.event({
          type: 'stream-opened',
          session,
          peerName: this.peerName,
          streamId,
          meta,
          port: port.ok ? port.value : undefined,
        })
        return
      }
      case 'data':
        this.#ctx.event({ type: 'data', session, streamId: e.streamId, bytes: e.bytes })
        return
      case 'end':
      case 'writable':
      case 'stream-closed':
      case 'stream-accepted':
        this.#ctx.event({ type: e.type, session, streamId: e.streamId })
        return
      case 'reset':
        this.#ctx.event({ type: 'reset', session, streamId: e.streamId, code: e.code })
        return
      case 'suspended':
        this.#ctx.event({ type: 'suspended', session, atMs: e.atMs })
        return
      case 'resumed': {
        const { atMs, suspendedForMs, reason } = e
        this.#ctx.event({ type: 'resumed', session, atMs, suspendedForMs, reason })
        return
      }
      case 'closed':
        if (e.reason === 'suspend-limit') this.#finish(e.atMs, 'suspend-limit')
        return
    }
  }

  /** Timers: the SRM's and the SSM's (previous key's grace). */
  tick(nowMs: number): void {
    this.#crypto?.tick(nowMs)
    this.srm.tick(nowMs)
    this.flush(nowMs)
  }

  nextDeadlineMs(): number | undefined {
    let next = this.halfOpenUntilMs
    for (const t of [this.srm.nextDeadlineMs(), this.#crypto?.nextDeadlineMs()]) {
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    return next
  }

  /**
   * This node has a new overlay address: resume at once (every unacknowledged record
   * goes out again now, from the new address); an active session announces the address
   * with an empty sealed record, so that the peer's replies follow at once.
   */
  addressChanged(nowMs: number): void {
    if (this.#state !== 'established') return
    if (this.srm.state === 'active') {
      this.#seal('rehello', [], 'announce', nowMs)
    }
    this.srm.resume(nowMs)
    this.flush(nowMs)
  }

  /** A fresh lookup found the peer at `address`: use it; a suspended session probes it now. */
  peerFound(address: Address, nowMs: number): void {
    if (this.#peerAddress?.equals(address)) return
    this.#peerAddress = address
    if (this.srm.state === 'suspended' && this.#lastProbe !== undefined) {
      this.#seal('rehello', this.#lastProbe, 'probe', nowMs)
    }
  }

  /**
   * Ends the session. `notifyPeer` seals one `close` record with `code` (best effort,
   * never resent). Idempotent; emits `closed` once.
   */
  close(
    nowMs: number,
    reason: SessionCloseReason,
    notifyPeer: boolean,
    code = CLOSE_CODE.closed,
  ): void {
    if (this.#state === 'closed') return
    if (notifyPeer && this.#state !== 'dialing') {
      this.#seal('close', [Uint8Array.of(code)], 'close', nowMs)
    }
    this.#finish(nowMs, reason)
  }

  #finish(nowMs: number, reason: SessionCloseReason): void {
    if (this.#state === 'closed') return
    const wasVisible = this.#state !== 'half-open'
    this.#state = 'closed'
    this.srm.close(nowMs)
    this.srm.takeEvents()
    if (wasVisible) {
      this.#ctx.event({
        type: 'closed',
        session: this.handle,
        peerName: this.peerName,
        reason,
        atMs: nowMs,
      })
    }
    this.#ctx.closed(this)
  }
}
