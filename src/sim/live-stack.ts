/**
 * One simulated host of the live engine (live.ts): a real identity, the real
 * OverlayNode and the real DhtNode on a SimNetwork host, with the DHT as the
 * host's layer wrapped so that pongs and lookup answers also reach the
 * engine's probe sink (live-probe.ts). Messages are counted by live-traffic.ts.
 */
import { type DhtEvent, DhtNode } from '../dht/dht-node.ts'
import type { Identity } from '../identity/keys.ts'
import type { OverlayEvent } from '../overlay/node-types.ts'
import type { HostLayer, SimHost } from './network.ts'

/** A host with its DHT. */
export interface LiveStack {
  readonly host: SimHost
  readonly dht: DhtNode
}

/** Where probe answers go (live-probe.ts). */
export interface ProbeSink {
  pong(stack: LiveStack, e: Extract<OverlayEvent, { type: 'pong' }>): void
  lookup(stack: LiveStack, e: DhtEvent): void
}

/** The DHT as the host's layer, with its answers and the overlay's pongs copied to a sink. */
export class LiveLayer implements HostLayer {
  readonly #stack: LiveStack
  readonly #sink: ProbeSink

  constructor(stack: LiveStack, sink: ProbeSink) {
    this.#stack = stack
    this.#sink = sink
  }

  onEvent(e: OverlayEvent, nowMs: number): void {
    if (e.type === 'pong') this.#sink.pong(this.#stack, e)
    this.#stack.dht.onEvent(e, nowMs)
    this.drain()
  }

  tick(nowMs: number): void {
    this.#stack.dht.tick(nowMs)
    this.drain()
  }

  nextDeadlineMs(): number | undefined {
    return this.#stack.dht.nextDeadlineMs()
  }

  /** Hands the DHT's pending answers to the sink (also call after `dht.lookup`). */
  drain(): void {
    for (const e of this.#stack.dht.takeEvents()) this.#sink.lookup(this.#stack, e)
  }
}

/** Builds a host's stack: identity, DHT and layer. The host must not be started yet. */
export function stackHost(host: SimHost, identity: Identity, sink: ProbeSink): LiveStack {
  const stack: LiveStack = { host, dht: new DhtNode({ identity, overlay: host.overlay }) }
  const layer = new LiveLayer(stack, sink)
  host.layer = layer
  return stack
}
