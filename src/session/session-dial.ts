/**
 * The initiator's way to a session, sans-I/O: look the name up, send the hello to the
 * address found, wait for the reply; on silence, look up afresh (the peer may have moved)
 * and send the same hello again, with a doubling wait, up to `handshakeAttempts`.
 *
 *   looking-up ──found──▶ handshaking ──(wait passes)──▶ looking-up (fresh) … ▶ failed
 *        │ not-found / failed                                 ▲
 *        └──────────────▶ waiting ──(wait passes)─────────────┘
 *
 * The same hello bytes go out on every attempt: the responder answers a repeated hello
 * with its remembered reply instead of opening a second session. The reply itself is
 * read by the manager (PendingSession.readReply); this only schedules.
 */
import type { Address } from '../overlay/address.ts'
import type { PendingSession } from './session-handshake.ts'
import type { LookupResult, SessionManagerSettings } from './session-manager-types.ts'

export type DialPhase = 'looking-up' | 'handshaking' | 'waiting' | 'failed'

/** What the dial asks of the manager. */
export type DialAction =
  | { readonly type: 'lookup'; readonly fresh: boolean }
  | { readonly type: 'hello'; readonly dest: Address }
  | { readonly type: 'fail'; readonly reason: 'not-found' | 'unreachable' }

export class Dial {
  #pending: PendingSession | undefined
  readonly #make: () => PendingSession
  readonly #settings: SessionManagerSettings
  #phase: DialPhase = 'looking-up'
  #attempt = 0
  #deadlineMs = 0
  #dest: Address | undefined
  #helloSent = false
  #onlyNotFound = true
  #begunAtMs = 0

  /**
   * `make` builds the handshake (its hello costs a few DH operations). It runs at the first
   * `tick` after `begin` — the driver ticks at once, since `nextDeadlineMs` is then due —
   * so that the crypto overlaps the lookup's round trip, or earlier if the hello is
   * needed first (an answer from the cache).
   */
  constructor(make: () => PendingSession, settings: SessionManagerSettings) {
    this.#make = make
    this.#settings = settings
  }

  /** The handshake in progress: its hello goes out on every attempt. Made on first use. */
  get pending(): PendingSession {
    this.#pending ??= this.#make()
    return this.#pending
  }

  /** The handshake if it was made already (a reply can only answer a hello that exists). */
  get made(): PendingSession | undefined {
    return this.#pending
  }

  /**
   * The handshake failed past Noise (a forged reply can do that: the partial id travels
   * in clear), so it cannot go on: the next attempts send this new one's hello.
   */
  renew(pending: PendingSession): void {
    this.#pending = pending
  }

  get phase(): DialPhase {
    return this.#phase
  }

  /** Attempts started so far (1 after `begin`). */
  get attempts(): number {
    return this.#attempt
  }

  /** The first attempt: a lookup that may come from the cache. */
  begin(nowMs: number): DialAction[] {
    this.#begunAtMs = nowMs
    return this.#nextAttempt(nowMs, false)
  }

  /**
   * A lookup answer for the peer's name. While handshaking, a newer answer at another
   * address (the settled answer after an early one, when a slower replica held a newer
   * record) sends the same hello there too; otherwise it is ignored unless this dial waits
   * for one.
   */
  onLookup(result: LookupResult, nowMs: number): DialAction[] {
    if (this.#phase === 'handshaking' && result.outcome === 'found') {
      if (this.#dest === undefined || result.address.equals(this.#dest)) return []
      this.#dest = result.address
      return [{ type: 'hello', dest: result.address }]
    }
    if (this.#phase !== 'looking-up') return []
    if (result.outcome === 'found') {
      this.#phase = 'handshaking'
      this.#dest = result.address
      this.#helloSent = true
      this.#onlyNotFound = false
      this.#deadlineMs = nowMs + this.#waitMs()
      return [{ type: 'hello', dest: result.address }]
    }
    if (result.outcome === 'failed') this.#onlyNotFound = false
    this.#phase = 'waiting'
    this.#deadlineMs = nowMs + this.#waitMs()
    return []
  }

  /** This node moved: a hello in flight would be answered to the old address; resend it. */
  addressChanged(): DialAction[] {
    if (this.#phase !== 'handshaking' || this.#dest === undefined) return []
    return [{ type: 'hello', dest: this.#dest }]
  }

  tick(nowMs: number): DialAction[] {
    if (this.#phase === 'failed') return []
    this.#pending ??= this.#make() // made now, while the lookup runs
    if (nowMs < this.#deadlineMs) return []
    if (this.#phase === 'looking-up') this.#onlyNotFound = false
    if (this.#attempt >= this.#settings.handshakeAttempts) {
      this.#phase = 'failed'
      const reason = !this.#helloSent && this.#onlyNotFound ? 'not-found' : 'unreachable'
      return [{ type: 'fail', reason }]
    }
    return this.#nextAttempt(nowMs, true)
  }

  nextDeadlineMs(): number | undefined {
    if (this.#phase === 'failed') return undefined
    return this.#pending === undefined ? this.#begunAtMs : this.#deadlineMs
  }

  #nextAttempt(nowMs: number, fresh: boolean): DialAction[] {
    this.#attempt++
    this.#phase = 'looking-up'
    this.#deadlineMs = nowMs + this.#settings.lookupTimeoutMs
    return [{ type: 'lookup', fresh }]
  }

  /** The wait after attempt n: handshakeRetryMs × 2^(n−1), capped. */
  #waitMs(): number {
    const { handshakeRetryMs, handshakeRetryMaxMs } = this.#settings
    return Math.min(handshakeRetryMs * 2 ** (this.#attempt - 1), handshakeRetryMaxMs)
  }
}
