/**
 * A simulated datagram service for the SRM tests: each datagram is delayed by a base
 * latency plus jitter (which reorders), may be lost or duplicated, and is dropped
 * outright while an outage covers its sending or its arrival time. Seeded, virtual
 * time only.
 */
import { Rng } from '../../../src/core/rng.ts'

export type Side = 'a' | 'b'

export type ChannelInit = {
  readonly seed?: number
  readonly lossRate?: number
  readonly duplicateRate?: number
  readonly latencyMs?: number
  readonly jitterMs?: number
  /** Datagrams larger than this are dropped (the datagram service's limit). */
  readonly maxDatagramBytes?: number
}

type InFlight = { readonly atMs: number; readonly to: Side; readonly body: Uint8Array; n: number }

export class LossyChannel {
  readonly #rng: Rng
  readonly #init: Required<ChannelInit>
  #queue: InFlight[] = []
  #counter = 0
  readonly #outages: { startMs: number; endMs: number }[] = []
  delivered = 0
  lost = 0
  /** Drops chosen datagrams (e.g. the first copy of one record) on top of random loss. */
  dropIf: ((from: Side, body: Uint8Array) => boolean) | undefined

  constructor(init: ChannelInit = {}) {
    this.#init = {
      seed: 1,
      lossRate: 0,
      duplicateRate: 0,
      latencyMs: 20,
      jitterMs: 0,
      maxDatagramBytes: 64_000,
      ...init,
    }
    this.#rng = new Rng(this.#init.seed)
  }

  /** Nothing gets through in [startMs, endMs), in either direction. */
  outage(startMs: number, endMs: number): void {
    this.#outages.push({ startMs, endMs })
  }

  isDown(atMs: number): boolean {
    return this.#outages.some((o) => atMs >= o.startMs && atMs < o.endMs)
  }

  send(from: Side, body: Uint8Array, nowMs: number): void {
    const to: Side = from === 'a' ? 'b' : 'a'
    if (body.length > this.#init.maxDatagramBytes) throw new Error('datagram too large')
    if (this.dropIf?.(from, body)) {
      this.lost++
      return
    }
    const copies = this.#rng.next() < this.#init.duplicateRate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      if (this.isDown(nowMs) || this.#rng.next() < this.#init.lossRate) {
        this.lost++
        continue
      }
      const atMs = nowMs + this.#init.latencyMs + Math.floor(this.#rng.next() * this.#init.jitterMs)
      this.#queue.push({ atMs, to, body, n: this.#counter++ })
    }
  }

  /** When the next datagram arrives, if any is in flight. */
  nextAtMs(): number | undefined {
    let min: number | undefined
    for (const d of this.#queue) if (min === undefined || d.atMs < min) min = d.atMs
    return min
  }

  /** Datagrams arriving by `nowMs`, in arrival order; those landing in an outage are lost. */
  takeDue(nowMs: number): { to: Side; body: Uint8Array }[] {
    const due = this.#queue.filter((d) => d.atMs <= nowMs)
    this.#queue = this.#queue.filter((d) => d.atMs > nowMs)
    due.sort((x, y) => x.atMs - y.atMs || x.n - y.n)
    const out: { to: Side; body: Uint8Array }[] = []
    for (const d of due) {
      if (this.isDown(d.atMs)) this.lost++
      else out.push(d)
    }
    this.delivered += out.length
    return out
  }
}
