/**
 * The live engine's measurements: overlay pings between random pairs of live
 * hosts, and DHT lookups of random live names from random live hosts with the
 * lookup cache bypassed. A batch of probes is issued at one virtual instant;
 * each answer is judged when it arrives (a lookup succeeds when it finds a
 * record whose address is the target's address at that moment).
 */
import type { Rng } from '../core/rng.ts'
import type { DhtEvent } from '../dht/dht-node.ts'
import type { OverlayEvent } from '../overlay/node-types.ts'
import type { LiveLayer, LiveStack, ProbeSink } from './live-stack.ts'
import type { SimNetwork } from './network.ts'
import { type Summary, summarize } from './stats.ts'

/** Outcome of one kind of probe in a batch. */
export interface ProbeTally {
  readonly sent: number
  ok: number
  /** Failures by reason (`no-route`, `timeout`, `not-found`, `wrong-address`, `no-answer`…). */
  readonly failures: Record<string, number>
  /** Hops (pings: forward hops) or round-trip virtual ms (lookups) of the successes. */
  readonly values: number[]
}

/** Probes issued together at `atMs`. */
export interface ProbeBatch {
  readonly atMs: number
  readonly pings: ProbeTally
  readonly lookups: ProbeTally
  /** Probes not answered yet. */
  pending: number
}

/** A finished tally, for reports and JSON. */
export interface ProbeSummary {
  readonly sent: number
  readonly ok: number
  readonly successRatio: number
  readonly failures: Record<string, number>
  readonly values: Summary
}

interface Pending {
  readonly batch: ProbeBatch
  readonly target: LiveStack
  readonly sentMs: number
}

const tally = (sent: number): ProbeTally => ({ sent, ok: 0, failures: {}, values: [] })

/** Issues probes and collects their answers (it is every host's ProbeSink). */
export class Prober implements ProbeSink {
  readonly #net: SimNetwork
  readonly #rng: Rng
  readonly #pings = new Map<string, Pending>()
  readonly #lookups = new Map<string, Pending>()

  constructor(net: SimNetwork, rng: Rng) {
    this.#net = net
    this.#rng = rng
  }

  /** Probes not answered yet, over all batches. */
  get pending(): number {
    return this.#pings.size + this.#lookups.size
  }

  /** Sends `pings` pings and `lookups` lookups between random distinct members of `live`. */
  issue(live: readonly LiveStack[], pings: number, lookups: number): ProbeBatch {
    const now = this.#net.now
    const batch: ProbeBatch = {
      atMs: now,
      pings: tally(pings),
      lookups: tally(lookups),
      pending: pings + lookups,
    }
    for (let i = 0; i < pings; i++) {
      const [src, dst] = this.#pair(live)
      const address = dst.host.overlay.address
      if (address === undefined) {
        this.#settle(batch, batch.pings, 'target-unplaced')
        continue
      }
      const id = src.host.overlay.ping(address, dst.host.overlay.name, now)
      this.#pings.set(`${src.host.index}:${id}`, { batch, target: dst, sentMs: now })
      this.#net.pump(src.host)
    }
    for (let i = 0; i < lookups; i++) {
      const [src, dst] = this.#pair(live)
      const name = dst.host.overlay.name
      src.dht.cache.invalidate(name)
      const id = src.dht.lookup(name, now)
      this.#lookups.set(`${src.host.index}:${id}`, { batch, target: dst, sentMs: now })
      ;(src.host.layer as LiveLayer).drain()
      this.#net.pump(src.host)
    }
    return batch
  }

  /** Runs the network until every probe has an answer or `maxMs` passed; the rest fail. */
  finish(maxMs: number, stepMs = 50): void {
    const end = this.#net.now + maxMs
    while (this.pending > 0 && this.#net.now < end) this.#net.runFor(stepMs)
    for (const [key, p] of this.#pings) {
      this.#pings.delete(key)
      this.#settle(p.batch, p.batch.pings, 'no-answer')
    }
    for (const [key, p] of this.#lookups) {
      this.#lookups.delete(key)
      this.#settle(p.batch, p.batch.lookups, 'no-answer')
    }
  }

  pong(stack: LiveStack, e: Extract<OverlayEvent, { type: 'pong' }>): void {
    const key = `${stack.host.index}:${e.id}`
    const p = this.#pings.get(key)
    if (p === undefined) return
    this.#pings.delete(key)
    if (e.ok) p.batch.pings.values.push(e.hops)
    this.#settle(p.batch, p.batch.pings, e.ok ? undefined : (e.reason ?? 'failed'))
  }

  lookup(stack: LiveStack, e: DhtEvent): void {
    const key = `${stack.host.index}:${e.id}`
    const p = this.#lookups.get(key)
    if (p === undefined || e.early) return
    this.#lookups.delete(key)
    const want = p.target.host.overlay.address
    let failure: string | undefined
    if (e.outcome !== 'found' || e.record === undefined) failure = e.outcome
    else if (want === undefined || !e.record.address.equals(want)) failure = 'wrong-address'
    if (failure === undefined) p.batch.lookups.values.push(this.#net.now - p.sentMs)
    this.#settle(p.batch, p.batch.lookups, failure)
  }

  #settle(batch: ProbeBatch, t: ProbeTally, failure: string | undefined): void {
    batch.pending--
    if (failure === undefined) t.ok++
    else t.failures[failure] = (t.failures[failure] ?? 0) + 1
  }

  #pair(live: readonly LiveStack[]): [LiveStack, LiveStack] {
    const src = live[this.#rng.int(live.length)] as LiveStack
    let dst = src
    while (dst === src) dst = live[this.#rng.int(live.length)] as LiveStack
    return [src, dst]
  }
}

/** A tally's figures: success ratio, failures by reason, and the spread of its values. */
export function summarizeTally(t: ProbeTally): ProbeSummary {
  return {
    sent: t.sent,
    ok: t.ok,
    successRatio: t.sent === 0 ? 1 : t.ok / t.sent,
    failures: { ...t.failures },
    values: summarize(t.values),
  }
}
