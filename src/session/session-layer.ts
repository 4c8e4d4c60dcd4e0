/**
 * The session manager's driver on one overlay node and its DHT, sans-I/O itself: it fits
 * `HostLayer` (src/sim/network.ts) and any driver that hands the overlay's events on and
 * ticks on the same clock.
 *
 *   1. every overlay event goes to the DHT, then to the manager;
 *   2. `drain(now)` after any input: the manager's routes go to `overlay.route` with
 *      PROTO.session, its lookups to the DHT (`fresh`: the cache entry is dropped first),
 *      and the DHT's lookup answers back to the manager — until nothing is left;
 *   3. the manager's events go to the sink, as they happen.
 *
 * Call `drain(now)` after calling the manager directly (connect, write…), then let the
 * driver ship the overlay's actions (the simulator: `net.pump(host)`).
 */
import type { DhtEvent, DhtNode } from '../dht/dht-node.ts'
import type { OverlayEvent } from '../overlay/node-types.ts'
import { PROTO } from '../overlay/node-types.ts'
import type { OverlayNode } from '../overlay/overlay-node.ts'
import type { SessionManager } from './session-manager.ts'
import type { LookupResult, SessionEvent, SessionOutput } from './session-manager-types.ts'

/** Where the layer reports; every hook is optional. */
export interface SessionLayerSink {
  /** A session event, at `nowMs`. */
  session?(e: SessionEvent, nowMs: number): void
  /** A route the manager sent (tracing, tests). */
  route?(o: Extract<SessionOutput, { type: 'route' }>, nowMs: number): void
  /** Every DHT event (the manager's lookups' answers included). */
  dht?(e: DhtEvent, nowMs: number): void
}

export interface SessionLayerComponents {
  readonly overlay: Pick<OverlayNode, 'route'>
  readonly dht: Pick<
    DhtNode,
    'onEvent' | 'tick' | 'nextDeadlineMs' | 'lookup' | 'takeEvents' | 'cache'
  >
  readonly manager: SessionManager
  readonly sink?: SessionLayerSink
}

export class SessionLayer {
  readonly manager: SessionManager
  readonly #c: SessionLayerComponents

  constructor(components: SessionLayerComponents) {
    this.#c = components
    this.manager = components.manager
  }

  onEvent(e: OverlayEvent, nowMs: number): void {
    this.#c.dht.onEvent(e, nowMs)
    this.manager.onOverlayEvent(e, nowMs)
    this.drain(nowMs)
  }

  tick(nowMs: number): void {
    this.#c.dht.tick(nowMs)
    this.manager.tick(nowMs)
    this.drain(nowMs)
  }

  nextDeadlineMs(): number | undefined {
    const a = this.#c.dht.nextDeadlineMs()
    const b = this.manager.nextDeadlineMs()
    if (a === undefined) return b
    return b === undefined ? a : Math.min(a, b)
  }

  /** Carries out everything the manager and the DHT have pending. */
  drain(nowMs: number): void {
    const { overlay, dht, sink } = this.#c
    for (;;) {
      const outputs = this.manager.takeOutputs()
      const answers = dht.takeEvents()
      const events = this.manager.takeEvents()
      if (outputs.length === 0 && answers.length === 0 && events.length === 0) return
      for (const o of outputs) {
        if (o.type === 'route') {
          sink?.route?.(o, nowMs)
          overlay.route(o.dest, PROTO.session, o.payload, nowMs, false, o.tail)
        } else {
          if (o.fresh) dht.cache.invalidate(o.name)
          dht.lookup(o.name, nowMs)
        }
      }
      for (const e of answers) {
        sink?.dht?.(e, nowMs)
        this.manager.onLookup(e.name, lookupResult(e), nowMs)
      }
      for (const e of events) sink?.session?.(e, nowMs)
    }
  }
}

function lookupResult(e: DhtEvent): LookupResult {
  if (e.outcome === 'found' && e.record !== undefined) {
    return { outcome: 'found', address: e.record.address }
  }
  return e.outcome === 'not-found' ? { outcome: 'not-found' } : { outcome: 'failed' }
}
