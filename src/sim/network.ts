/**
 * An in-memory network for overlay nodes on virtual time: the simulator's and
 * the tests' driver of the real OverlayNode state machine (the daemon drives
 * the same machine over TCP). Links deliver messages in order after
 * `latencyMs`; a killed host stops at once, and each of its neighbours notices
 * after a keepalive-like delay, as a real link would.
 *
 * A host may carry a layer above the overlay (the DHT): `HostLayer` gets the
 * overlay's events and its own timer, so the whole stack runs on one clock.
 */
import { concatBytes } from '../core/bytes.ts'
import { Rng } from '../core/rng.ts'
import type { LinkId, OverlayEvent, OverlayNodeInit } from '../overlay/node-types.ts'
import { OverlayNode } from '../overlay/overlay-node.ts'
import { VirtualClock } from './clock.ts'

export interface SimNetworkInit {
  /** One-way delay of every message. Default 1 ms. */
  readonly latencyMs?: number
  /** Time to open a link (TCP + handshake). Default 2 ms. */
  readonly connectMs?: number
  /** A dead peer is noticed after a delay in [deadAfterMs − keepaliveMs, deadAfterMs]. */
  readonly deadAfterMs?: number
  readonly keepaliveMs?: number
  readonly seed?: number
}

/** Something stacked on a host's overlay node (the DHT), run on the same clock. */
export interface HostLayer {
  onEvent(e: OverlayEvent, nowMs: number): void
  tick(nowMs: number): void
  nextDeadlineMs(): number | undefined
}

interface LinkEnd {
  readonly host: SimHost
  readonly link: LinkId
}

export class SimHost {
  readonly index: number
  readonly endpoint: string
  readonly overlay: OverlayNode
  alive = true
  /** Off the network (detach): alive, but no link can be made to or from it. */
  detached = false
  layer: HostLayer | undefined
  /** Every overlay event, when `recordEvents` is on (tests). */
  readonly events: OverlayEvent[] = []
  recordEvents = false
  /** Messages this host put on links. */
  messagesSent = 0
  readonly peers = new Map<LinkId, LinkEnd>()
  /** Links this host is dialing; a close cancels the dial, as closing a connecting socket does. */
  readonly dialing = new Set<LinkId>()
  timerVersion = 0

  constructor(index: number, endpoint: string, overlay: OverlayNode) {
    this.index = index
    this.endpoint = endpoint
    this.overlay = overlay
  }
}

export class SimNetwork {
  readonly clock = new VirtualClock()
  readonly hosts: SimHost[] = []
  readonly #byEndpoint = new Map<string, SimHost>()
  readonly #dialMs = new Map<string, number>()
  readonly #latencyMs: number
  readonly #connectMs: number
  readonly #deadAfterMs: number
  readonly #keepaliveMs: number
  readonly rng: Rng

  constructor(init: SimNetworkInit = {}) {
    this.#latencyMs = init.latencyMs ?? 1
    this.#connectMs = init.connectMs ?? 2
    this.#deadAfterMs = init.deadAfterMs ?? 3000
    this.#keepaliveMs = init.keepaliveMs ?? 1000
    this.rng = new Rng(init.seed ?? 1)
  }

  get now(): number {
    return this.clock.now()
  }

  /** Adds a host (not started); its endpoint is `sim:<index>`. */
  addHost(init: Omit<OverlayNodeInit, 'endpoint' | 'random'>): SimHost {
    const index = this.hosts.length
    const endpoint = `sim:${index}`
    const rng = new Rng(this.rng.int(2 ** 31))
    const host = new SimHost(
      index,
      endpoint,
      new OverlayNode({ ...init, endpoint, random: () => rng.next() }),
    )
    this.hosts.push(host)
    this.#byEndpoint.set(endpoint, host)
    return host
  }

  start(host: SimHost): void {
    host.overlay.start(this.now)
    this.pump(host)
  }

  /** Stops a host at once, as a SIGKILL or a cut cable would: no goodbye. */
  kill(host: SimHost): void {
    if (!host.alive) return
    host.alive = false
    for (const [, end] of host.peers) {
      const delay = this.#deadAfterMs - this.rng.next() * this.#keepaliveMs
      this.clock.schedule(delay, () => this.#down(end))
    }
    host.peers.clear()
  }

  /**
   * Cuts every link between two live hosts, as a broken path would: each side
   * notices after a keepalive-like delay. New links between them may be made later.
   */
  cut(a: SimHost, b: SimHost): void {
    for (const [link, end] of [...a.peers]) {
      if (end.host !== b) continue
      a.peers.delete(link)
      b.peers.delete(end.link)
      for (const [host, id] of [
        [a, link],
        [b, end.link],
      ] as const) {
        const delay = this.#deadAfterMs - this.rng.next() * this.#keepaliveMs
        this.clock.schedule(delay, () => {
          if (!host.alive) return
          host.overlay.linkDown(id, this.now)
          this.pump(host)
        })
      }
    }
  }

  /**
   * Takes a live host off the network, as a laptop leaving one network does: every link
   * is cut (each side notices after a keepalive-like delay) and no link can be made to
   * or from it until `attach`. The host keeps running: its overlay re-joins by itself.
   */
  detach(host: SimHost): void {
    host.detached = true
    for (const end of new Set([...host.peers.values()].map((e) => e.host))) this.cut(host, end)
  }

  /** Puts a detached host back on the network (as on another network: its links are new). */
  attach(host: SimHost): void {
    host.detached = false
  }

  /** Runs the overlay (and layer) until `ms` of virtual time have passed. */
  runFor(ms: number): void {
    this.clock.runUntil(this.now + ms)
  }

  /** Drains a host after any input: actions, events, its timer. */
  pump(host: SimHost): void {
    if (!host.alive) return
    const node = host.overlay
    for (;;) {
      const actions = node.takeActions()
      const events = node.takeEvents()
      if (actions.length === 0 && events.length === 0) break
      for (const a of actions) {
        if (a.type === 'send') this.#send(host, a.link, a.bytes, a.tail)
        else if (a.type === 'dial') this.#dial(host, a.link, a.endpoint)
        else this.#close(host, a.link)
      }
      for (const e of events) {
        if (host.recordEvents) host.events.push(e)
        host.layer?.onEvent(e, this.now)
      }
    }
    this.#arm(host)
  }

  #arm(host: SimHost): void {
    let next = host.overlay.nextDeadlineMs()
    const layerNext = host.layer?.nextDeadlineMs()
    if (layerNext !== undefined && (next === undefined || layerNext < next)) next = layerNext
    if (next === undefined) return
    const version = ++host.timerVersion
    this.clock.schedule(Math.max(0, next - this.now), () => {
      if (!host.alive || host.timerVersion !== version) return
      host.overlay.tick(this.now)
      host.layer?.tick(this.now)
      this.pump(host)
    })
  }

  /**
   * Dials to `endpoint` take `ms` to open or fail from now on: a slow path, or a dead
   * address on a LAN, whose dial fails only when ARP gives up (about 3 s).
   */
  delayDials(endpoint: string, ms: number): void {
    this.#dialMs.set(endpoint, ms)
  }

  #dial(host: SimHost, link: LinkId, endpoint: string): void {
    const target = this.#byEndpoint.get(endpoint)
    host.dialing.add(link)
    this.clock.schedule(this.#dialMs.get(endpoint) ?? this.#connectMs, () => {
      if (!host.dialing.delete(link) || !host.alive) return
      if (target === undefined || !target.alive || host.detached || target.detached) {
        host.overlay.linkDown(link, this.now)
        this.pump(host)
        return
      }
      const peerLink = target.overlay.linkAccepted(host.overlay.name, this.now)
      target.peers.set(peerLink, { host, link })
      host.peers.set(link, { host: target, link: peerLink })
      this.pump(target)
      host.overlay.linkUp(link, target.overlay.name, this.now)
      this.pump(host)
    })
  }

  #send(host: SimHost, link: LinkId, bytes: Uint8Array, tail: readonly Uint8Array[] = []): void {
    const end = host.peers.get(link)
    if (end === undefined) return
    host.messagesSent++
    // A link delivers the message and its tail as one buffer, the tail's length said.
    const copy = concatBytes([bytes, ...tail])
    const sealedTail = copy.length - bytes.length
    this.clock.schedule(this.#latencyMs, () => {
      if (!end.host.alive || !end.host.peers.has(end.link)) return
      end.host.overlay.receive(end.link, copy, this.now, sealedTail)
      this.pump(end.host)
    })
  }

  #close(host: SimHost, link: LinkId): void {
    if (host.dialing.delete(link)) return
    const end = host.peers.get(link)
    host.peers.delete(link)
    if (end === undefined) return
    this.clock.schedule(this.#latencyMs, () => this.#down(end))
  }

  #down(end: LinkEnd): void {
    if (!end.host.alive || !end.host.peers.delete(end.link)) return
    end.host.overlay.linkDown(end.link, this.now)
    this.pump(end.host)
  }
}
