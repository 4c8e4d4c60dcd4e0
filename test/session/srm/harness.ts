/**
 * Two `SessionReliability` ends joined by a `LossyChannel`, driven the way a session
 * driver would: deliver what arrived, tick at deadlines, send what is outgoing, hand
 * events to a small application per side. Virtual time; no sleeps.
 */
import { concatBytes } from '../../../src/core/bytes.ts'
import { SessionReliability } from '../../../src/session/srm/session-reliability.ts'
import type { OutgoingRecord, SrmEvent, SrmInit } from '../../../src/session/srm/srm-types.ts'
import { type ChannelInit, LossyChannel, type Side } from './channel.ts'

export class Endpoint {
  readonly srm: SessionReliability
  readonly events: SrmEvent[] = []
  /** Stream data in delivery order, per stream. */
  readonly received = new Map<number, Uint8Array[]>()
  readonly sent: { atMs: number; record: OutgoingRecord }[] = []
  /** Consume delivered data at once (a fast reader); turn off to model a slow one. */
  autoConsume = true

  constructor(init: SrmInit) {
    this.srm = new SessionReliability(init)
  }

  /** All bytes delivered on a stream so far. */
  bytes(streamId: number): Uint8Array {
    return Buffer.concat(this.received.get(streamId) ?? [])
  }

  eventsOf<T extends SrmEvent['type']>(type: T): Extract<SrmEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SrmEvent, { type: T }> => e.type === type)
  }

  handle(e: SrmEvent): void {
    this.events.push(e)
    if (e.type !== 'data') return
    const list = this.received.get(e.streamId) ?? []
    list.push(e.bytes)
    this.received.set(e.streamId, list)
    if (this.autoConsume) this.srm.consume(e.streamId, e.bytes.length)
  }
}

export type PairInit = {
  readonly a?: Partial<SrmInit>
  readonly b?: Partial<SrmInit>
  readonly channel?: ChannelInit
}

export class Pair {
  nowMs = 0
  readonly a: Endpoint
  readonly b: Endpoint
  readonly channel: LossyChannel
  /** Called after every step, e.g. to keep an application writing. */
  onStep: (() => void) | undefined

  constructor(init: PairInit = {}) {
    this.a = new Endpoint({ role: 'initiator', ...init.a })
    this.b = new Endpoint({ role: 'responder', ...init.b })
    this.channel = new LossyChannel(init.channel)
  }

  end(side: Side): Endpoint {
    return side === 'a' ? this.a : this.b
  }

  /** Sends what both ends have and hands out their events, until both are quiet. */
  flush(): void {
    for (let busy = true; busy; ) {
      busy = false
      for (const side of ['a', 'b'] as const) {
        const ep = this.end(side)
        for (const record of ep.srm.takeOutgoing(this.nowMs)) {
          ep.sent.push({ atMs: this.nowMs, record })
          this.channel.send(side, concatBytes(record.body), this.nowMs)
        }
        const events = ep.srm.takeEvents()
        for (const e of events) ep.handle(e)
        busy ||= events.length > 0
      }
    }
  }

  /** Advances to the next arrival or deadline (not beyond `limitMs`); false if none. */
  step(limitMs = Number.POSITIVE_INFINITY): boolean {
    this.flush()
    const times = [
      this.channel.nextAtMs(),
      this.a.srm.nextDeadlineMs(),
      this.b.srm.nextDeadlineMs(),
    ].filter((t): t is number => t !== undefined)
    if (times.length === 0) return false
    const next = Math.max(this.nowMs, Math.min(...times))
    if (next > limitMs) return false
    this.nowMs = next
    for (const d of this.channel.takeDue(this.nowMs)) this.end(d.to).srm.receive(d.body, this.nowMs)
    this.a.srm.tick(this.nowMs)
    this.b.srm.tick(this.nowMs)
    this.flush()
    this.onStep?.()
    return true
  }

  /** Steps until `done()` or `limitMs`; returns whether `done()` held. */
  runUntil(done: () => boolean, limitMs: number): boolean {
    let sameTime = 0
    while (!done()) {
      const before = this.nowMs
      if (!this.step(limitMs)) {
        this.nowMs = Math.max(this.nowMs, limitMs)
        this.flush()
        return done()
      }
      sameTime = this.nowMs === before ? sameTime + 1 : 0
      if (sameTime > 10_000) throw new Error(`no progress at ${this.nowMs} ms`)
    }
    return true
  }

  /**
   * Calls `app` every `everyMs` of virtual time (an application's own timer) until
   * `done()` or `limitMs`; returns whether `done()` held.
   */
  paced(everyMs: number, app: () => void, done: () => boolean, limitMs: number): boolean {
    while (!done() && this.nowMs < limitMs) {
      app()
      this.flush()
      this.runFor(Math.min(everyMs, limitMs - this.nowMs))
    }
    return done()
  }

  /** Steps until virtual time reaches `untilMs`. */
  runFor(durationMs: number): void {
    const until = this.nowMs + durationMs
    this.runUntil(() => this.nowMs >= until, until)
  }
}
