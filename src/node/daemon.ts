/**
 * The overlay daemon: the composition root that drives the sans-I/O overlay
 * node and DHT over real TCP links, with real clocks.
 *
 *   1. Listen for links (LinkListener); dial what the overlay asks for (dialLink).
 *   2. Feed the overlay every link event and message; feed the DHT the
 *      overlay's events. After every input, `#pump` carries out what they ask
 *      (sends, dials, closes), resolves pending control requests and re-arms
 *      the one timer at the earliest deadline of either machine.
 *   3. Answer control requests (status, lookup, ping) for the CLI, which serves
 *      the control socket and passes requests to `handle`.
 *   4. Host the session manager (as src/session/session-layer.ts does in the
 *      simulator): it hears every overlay event, its lookups go to the DHT and
 *      every DHT lookup answer back to it, its routes go out through the
 *      overlay, its events to `onSession`. Applications call it through
 *      `withSessions`, which pumps afterwards.
 *   5. Watch this host's addresses (netwatch.ts): when they change (a move, a
 *      pulled cable, a new Wi-Fi), drop the links that cannot work any more and
 *      tell the overlay at once (`networkChanged`), so that it re-joins now rather
 *      than after its keepalives time out or its join back-off runs out; with a
 *      wildcard listen address, what the node advertises follows its addresses.
 *
 * Clocks: the overlay, links and session manager run on the monotonic clock;
 * the DHT on the wall clock, since records carry absolute expiries.
 */
import { type DhtEvent, DhtNode } from '../dht/dht-node.ts'
import type { Identity } from '../identity/keys.ts'
import { canonicalName } from '../identity/name.ts'
import { LinkCounters } from '../link/link-counters.ts'
import { LinkListener } from '../link/link-listener.ts'
import { dialLink, type TcpLink } from '../link/tcp-link.ts'
import type { Address } from '../overlay/address.ts'
import type { LinkId, OverlayEvent } from '../overlay/node-types.ts'
import { PROTO } from '../overlay/node-types.ts'
import { OverlayNode } from '../overlay/overlay-node.ts'
import { SessionManager } from '../session/session-manager.ts'
import type {
  LookupResult,
  SessionEvent,
  SessionManagerInit,
} from '../session/session-manager-types.ts'
import { parseHostPort } from './config.ts'
import { ControlError } from './control.ts'
import type { Daemon, DaemonDeps, DaemonOptions } from './daemon-api.ts'
import { statusOf } from './daemon-status.ts'
import type { Logger } from './logger.ts'
import {
  type HostAddress,
  hostAddresses,
  MoveDetector,
  type NetworkChange,
  preferredAddress,
  watchNetwork,
} from './netwatch.ts'
import { controlSocketPath } from './state-dir.ts'
import { Waiters } from './waiters.ts'

/** Peers of lost links remembered as re-join contacts. */
const MAX_LOST_PEERS = 8

/** Routed frames are dropped (and counted) when a link holds more than this unsent. */
export const MAX_LINK_BACKLOG_BYTES = 4 * 1024 * 1024

/** The daemon's dependencies, plus the session manager's settings (defaults otherwise). */
export interface OverlayDaemonDeps extends DaemonDeps {
  readonly session?: Omit<SessionManagerInit, 'identity'>
  /**
   * Network-change detection (netwatch.ts): the poll period of this host's addresses,
   * default 100 ms; false: off (the node then learns of a move only from its links'
   * keepalives, or from reconnect()).
   */
  readonly netwatch?: { readonly intervalMs?: number } | false
}

export async function startDaemon(
  options: DaemonOptions,
  deps: OverlayDaemonDeps,
): Promise<OverlayDaemon> {
  const daemon = new OverlayDaemon(options, deps)
  await daemon.start()
  return daemon
}

const monotonic = (): number => performance.now()

type Deliver = Extract<OverlayEvent, { type: 'deliver' }>

export class OverlayDaemon implements Daemon {
  readonly name: string
  readonly controlPath: string
  readonly stopped: Promise<void>
  readonly counters = new LinkCounters()
  readonly startedAtMs = Date.now()
  /**
   * Receives what the overlay delivers here for protocols the daemon does not
   * handle itself (the session layer; benchmarks).
   */
  onDeliver: ((e: Deliver) => void) | undefined
  /** Called when a backlogged link has drained (see sendRouted). */
  onWritable: (() => void) | undefined
  /**
   * Receives the session manager's events, in order, from inside the pump: the
   * listener may call `withSessions` (its outputs are carried out by the same pump).
   */
  onSession: ((e: SessionEvent) => void) | undefined
  /** Called when this node's overlay address changes (undefined: it has none). */
  onAddress: ((address: Address | undefined) => void) | undefined
  readonly #options: DaemonOptions
  readonly #identity: Identity
  readonly #sessionInit: Omit<SessionManagerInit, 'identity'>
  readonly #log: Logger
  readonly #listener: LinkListener
  readonly #links = new Map<LinkId, TcpLink>()
  #overlay: OverlayNode | undefined
  #dht: DhtNode | undefined
  #sessions: SessionManager | undefined
  /** Set while the pump runs: a nested pump request is left to the running loop. */
  #pumping = false
  #timer: NodeJS.Timeout | undefined
  /** When the pending timer fires (monotonic ms); an early wake-up just ticks and re-arms. */
  #timerAtMs = Number.POSITIVE_INFINITY
  #stopping = false
  /** disconnect() was called and reconnect() not yet. */
  #offline = false
  /** A link past half its backlog bound, until it drains. */
  #backlogged: TcpLink | undefined
  #resolveStopped!: () => void
  readonly #lookups = new Waiters<DhtEvent>()
  readonly #pongs = new Waiters<Extract<OverlayEvent, { type: 'pong' }>>()
  readonly #drops: Record<string, number> = {}
  readonly #netwatch: { readonly intervalMs?: number } | false
  #unwatch: (() => void) | undefined
  /** Listening on a wildcard address with nothing to advertise: advertise what the host has. */
  #autoEndpoint: { readonly port: number } | undefined
  readonly #moves = new MoveDetector()
  /** Endpoints of the peers of links lost lately, newest first (re-join contacts). */
  #lostPeers: string[] = []
  /** The endpoint of the last parent this node had. */
  #lastParent: string | undefined
  /** When each link was made (monotonic ms): a move drops those older than the loss. */
  readonly #linkBornAt = new Map<LinkId, number>()

  constructor(options: DaemonOptions, deps: OverlayDaemonDeps) {
    this.#options = options
    this.#identity = deps.identity
    this.#sessionInit = deps.session ?? {}
    this.#netwatch = deps.netwatch ?? {}
    this.#log = deps.log
    this.name = deps.identity.name
    this.controlPath = controlSocketPath(options.stateDir)
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
    this.#listener = new LinkListener({
      ...this.#linkInit(),
      onLink: (link) => this.#onInbound(link),
    })
  }

  /** Drops and internal errors by reason, since start (a live view). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops
  }

  get overlay(): OverlayNode | undefined {
    return this.#overlay
  }

  async start(): Promise<void> {
    const bound = await this.#listener.listen(this.#options.listen)
    let endpoint = this.#options.advertise ?? hostPort(this.#options.listen.host, bound.port)
    if (this.#options.advertise === undefined && isWildcard(this.#options.listen.host)) {
      // 0.0.0.0:7400 means nothing to a peer: advertise this host's address, and keep
      // advertising its current one as it moves (#onNetworkChange).
      this.#autoEndpoint = { port: bound.port }
      const host = preferredAddress(hostAddresses())
      if (host !== undefined) endpoint = hostPort(host, bound.port)
    }
    const overlay = new OverlayNode({
      name: this.name,
      endpoint,
      bootstrap: this.#options.bootstrap,
      q: this.#options.q,
      ...this.#options.overlayTuning,
    })
    this.#overlay = overlay
    this.#dht = new DhtNode({
      identity: this.#identity,
      overlay,
      replicas: this.#options.replicas,
      lifetimeMs: this.#options.recordLifetimeMs,
    })
    this.#sessions = new SessionManager({ ...this.#sessionInit, identity: this.#identity })
    this.#log.info(
      { name: this.name, endpoint, bootstrap: this.#options.bootstrap },
      'node started',
    )
    overlay.start(monotonic())
    this.#pump()
    if (this.#netwatch !== false) {
      this.#unwatch = watchNetwork((change) => this.#onNetworkChange(change), this.#netwatch)
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return this.stopped
    this.#stopping = true
    this.#unwatch?.()
    this.#overlay?.leave(monotonic())
    this.#pump()
    clearTimeout(this.#timer)
    await this.#listener.close()
    for (const link of this.#links.values()) link.close('shutdown')
    const stopping = new ControlError('remote', 'the daemon is stopping', 'stopping')
    this.#lookups.rejectAll(stopping)
    this.#pongs.rejectAll(stopping)
    this.#log.info('node stopped')
    this.#resolveStopped()
    return this.stopped
  }

  async handle(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'status':
        return statusOf(this.#requireOverlay(), this.#dht as DhtNode, this.#links, {
          counters: this.counters.snapshot(),
          drops: this.#drops,
          startedAtMs: this.startedAtMs,
        })
      case 'lookup': {
        // Fresh unless asked otherwise: a person asking wants the truth, not the cache.
        const record = await this.#lookup(nameParam(params), params.cached !== true)
        return {
          name: record.name,
          address: record.address.toString(),
          seq: record.seq,
          expiresAtMs: record.expiresAtMs,
        }
      }
      case 'ping':
        return this.#ping(nameParam(params))
      default:
        throw ControlError.remote('unknown-method', `unknown method: ${method}`)
    }
  }

  /**
   * Sends a datagram toward `dest` for protocol `proto`. Returns false when the
   * first link is backlogged past half of MAX_LINK_BACKLOG_BYTES: the caller
   * should wait for `onWritable` before sending more (datagrams past the full
   * backlog are dropped and counted).
   */
  sendRouted(dest: Address, proto: number, payload: Uint8Array): boolean {
    this.#overlay?.route(dest, proto, payload, monotonic())
    this.#pump()
    return this.#backlogged === undefined
  }

  /**
   * Runs an application call on the session manager (connect, write, end…) with
   * the manager's clock, then carries out what it caused. Throws what the call
   * throws (after pumping); throws a ControlError before start or after stop.
   */
  withSessions<T>(call: (manager: SessionManager, nowMs: number) => T): T {
    const manager = this.#sessions
    if (manager === undefined || this.#stopping) {
      throw ControlError.remote('not-ready', 'the node is not running')
    }
    try {
      return call(manager, monotonic())
    } finally {
      this.#pump()
    }
  }

  // ---- control requests ----

  #requireOverlay(): OverlayNode {
    if (this.#overlay === undefined) throw ControlError.remote('not-ready', 'the node is starting')
    return this.#overlay
  }

  async #lookup(name: string, fresh: boolean): Promise<NonNullable<DhtEvent['record']>> {
    const dht = this.#dht as DhtNode
    if (fresh) dht.cache.invalidate(name)
    const id = dht.lookup(name, Date.now())
    const answer = this.#lookups.wait(id)
    this.#pump()
    const e = await answer
    if (e.record !== undefined) return e.record
    const why = e.outcome === 'not-joined' ? 'this node has not joined the overlay yet' : e.outcome
    throw ControlError.remote(e.outcome, `${name}: ${why}`)
  }

  async #ping(name: string): Promise<unknown> {
    const overlay = this.#requireOverlay()
    let record = await this.#lookup(name, false)
    for (let attempt = 0; ; attempt++) {
      const id = overlay.ping(record.address, name, monotonic())
      const answer = this.#pongs.wait(id)
      this.#pump()
      const pong = await answer
      if (pong.ok) {
        return { name, address: record.address.toString(), hops: pong.hops, rttMs: pong.rttMs }
      }
      // A cached address may be stale (the peer moved): look it up afresh, once.
      if (attempt > 0 || pong.reason === 'not-joined') {
        throw ControlError.remote(pong.reason ?? 'unreachable', `${name}: ${pong.reason}`)
      }
      record = await this.#lookup(name, true)
    }
  }

  // ---- links ----

  #linkInit() {
    return {
      identity: this.#identity,
      keepaliveIntervalMs: this.#options.keepaliveIntervalMs,
      deadAfterMs: this.#options.deadAfterMs,
      counters: this.counters,
      now: monotonic,
    }
  }

  /**
   * Cuts this node off the network at once — every link dropped, none made —
   * until reconnect(): a pulled cable or a closed laptop, for tests and demos.
   */
  disconnect(): void {
    this.#offline = true
    for (const link of [...this.#links.values()]) link.destroy()
  }

  /** Back on the network: the node re-joins at once, through `via` first. */
  reconnect(via: readonly string[] = []): void {
    this.#offline = false
    this.#input(() => this.#overlay?.networkChanged(monotonic(), via))
  }

  /**
   * This host's addresses changed. When an address went away and a new one came
   * (the host moved: another subnet, another Wi-Fi), the links made before can never
   * carry a byte again — their packets leave from an address the host no longer has —
   * yet TCP would not notice for minutes and the link keepalive only after
   * dead_after_ms: they are dropped at once (a link cannot tell which local address
   * it uses, so every link made before the loss goes, but loopback ones; on a host
   * with two networks that costs a re-join, some tens of ms). An address that
   * vanishes and comes back (a flapping cable: libuv hides the addresses of an
   * interface without carrier) within LONG_OUTAGE_MS drops nothing: links that lived
   * through it carry on; after a longer outage the same links go too, because their
   * TCP connections sit in retransmission back-off (0.2, 0.4, 0.8, 1.6 s…) and would
   * leave the path idle for up to that long after it is back — a re-join is faster.
   * Links still connecting are dropped on any new address, since a SYN sent into the
   * old network would wait out the connect timeout. Then the overlay hears of it: a node
   * that lost its place re-joins at once, through the members it knows, instead of
   * waiting out its back-off. (Which change is a move: MoveDetector, netwatch.ts.)
   */
  #onNetworkChange(change: NetworkChange): void {
    const overlay = this.#overlay
    if (overlay === undefined || this.#stopping) return
    const show = (list: readonly HostAddress[]) => list.map((a) => `${a.iface} ${a.cidr}`)
    this.#log.info({ added: show(change.added), removed: show(change.removed) }, 'network changed')
    // A link made after the last loss used an address the host still had then: it stays.
    const { moved, lostAtMs } = this.#moves.observe(change, monotonic())
    const auto = this.#autoEndpoint
    const host = preferredAddress(change.current)
    if (auto !== undefined && host !== undefined) {
      const endpoint = hostPort(host, auto.port)
      if (endpoint !== overlay.endpoint) {
        // Read whenever a hello goes out, and every link of a moved node is new: its new
        // links advertise where it now is.
        overlay.setEndpoint(endpoint)
        this.#log.info({ endpoint }, 'advertising a new endpoint')
      }
    }
    // Who to re-join through: the parent, or the last one (it holds this node's slot, so
    // the node may keep its address), the peers of the links about to go, the peers of
    // links lost lately (an outage longer than dead_after_ms left none open), then the
    // bootstrap members; the overlay tries its own candidates after these. (A child of
    // the root whose lower siblings are gone has no candidate of its own but them.)
    const contacts: string[] = []
    if (change.added.length > 0) {
      const views = overlay.links()
      const parent = views.find((v) => v.role === 'parent')?.link
      const stale = [...this.#links].filter(([id, link]) => {
        if (link.state !== 'open') return true
        if (!moved) return false
        const remote = link.remoteAddress
        const born = this.#linkBornAt.get(id) ?? Number.NEGATIVE_INFINITY
        return born <= lostAtMs && (remote === undefined || !isLoopback(remote))
      })
      // The parent's link goes last: an orphan that still sees other links open takes its
      // parent's loss for the root's death (a child of the root may then promote itself
      // and split the overlay); with none open, it re-joins.
      stale.sort(([a], [b]) => Number(a === parent) - Number(b === parent))
      const parentEndpoint = views.find((v) => v.link === parent)?.endpoint ?? this.#lastParent
      const dropped = [...stale].reverse().map(([id]) => views.find((x) => x.link === id))
      for (const e of [
        parentEndpoint,
        ...dropped.map((v) => (v?.open ? v.endpoint : undefined)),
        ...this.#lostPeers,
        ...this.#options.bootstrap,
      ]) {
        if (e !== undefined && e !== overlay.endpoint && !contacts.includes(e)) contacts.push(e)
      }
      for (const [, link] of stale) link.destroy()
      if (stale.length > 0) {
        this.#log.info({ links: stale.length, moved }, 'dropped links the change broke')
      }
    }
    if (!this.#offline) this.#input(() => overlay.networkChanged(monotonic(), contacts))
  }

  #onInbound(link: TcpLink): void {
    const overlay = this.#overlay
    if (overlay === undefined || this.#stopping || this.#offline || link.peerName === undefined) {
      link.destroy()
      return
    }
    const id = overlay.linkAccepted(link.peerName, monotonic())
    this.#attach(id, link)
    this.#pump()
  }

  #dial(id: LinkId, endpoint: string): void {
    const target = parseHostPort(endpoint)
    if (this.#offline) {
      queueMicrotask(() => this.#input(() => this.#overlay?.linkDown(id, monotonic())))
      return
    }
    if (target === undefined) {
      this.#count('bad-endpoint')
      this.#log.warn({ endpoint }, 'cannot dial: not host:port')
      queueMicrotask(() => this.#input(() => this.#overlay?.linkDown(id, monotonic())))
      return
    }
    const link = dialLink(target.host, target.port, this.#linkInit())
    this.#attach(id, link)
    link.on('open', (peerName) => {
      this.#input(() => this.#overlay?.linkUp(id, peerName, monotonic()))
    })
  }

  #attach(id: LinkId, link: TcpLink): void {
    this.#links.set(id, link)
    this.#linkBornAt.set(id, monotonic())
    link.on('data', (payload, sealedTail, borrowed) => {
      this.#input(() => this.#overlay?.receive(id, payload, monotonic(), sealedTail, borrowed))
    })
    link.on('closed', (reason, detail) => {
      const view = this.#overlay?.links().find((v) => v.link === id)
      if (view?.open && view.endpoint !== undefined) {
        if (view.role === 'parent') this.#lastParent = view.endpoint
        const e = view.endpoint
        this.#lostPeers = [e, ...this.#lostPeers.filter((x) => x !== e)].slice(0, MAX_LOST_PEERS)
      }
      this.#links.delete(id)
      this.#linkBornAt.delete(id)
      const level = reason === 'local-close' || reason === 'peer-close' ? 'debug' : 'info'
      this.#log[level]({ link: id, peer: link.peerName, reason, detail }, 'link closed')
      this.#input(() => this.#overlay?.linkDown(id, monotonic()))
    })
  }

  /** Runs one input into the state machines and carries out what it caused; never throws. */
  #input(feed: () => void): void {
    try {
      feed()
    } catch (error) {
      this.#count('internal-error')
      this.#log.error({ err: error }, 'internal error handling input')
    }
    this.#pump()
  }

  #count(reason: string): void {
    this.#drops[reason] = (this.#drops[reason] ?? 0) + 1
  }

  // ---- the pump ----

  #pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#pumpOnce()) {}
    } finally {
      this.#pumping = false
    }
    this.#arm()
  }

  /** One round of every machine's outputs; false when nothing was pending. */
  #pumpOnce(): boolean {
    const overlay = this.#overlay
    const dht = this.#dht
    const sessions = this.#sessions
    if (overlay === undefined || dht === undefined || sessions === undefined) return false
    const actions = overlay.takeActions()
    const events = overlay.takeEvents()
    const dhtEvents = dht.takeEvents()
    const outputs = sessions.takeOutputs()
    const sessionEvents = sessions.takeEvents()
    const total =
      actions.length + events.length + dhtEvents.length + outputs.length + sessionEvents.length
    if (total === 0) return false
    for (const a of actions) {
      if (a.type === 'dial') this.#dial(a.link, a.endpoint)
      else if (a.type === 'close') this.#links.get(a.link)?.close('normal')
      else this.#send(a.link, a.bytes, a.datagram, a.tail)
    }
    for (const e of events) this.#onOverlayEvent(e)
    for (const e of dhtEvents) {
      if (!e.early) this.#lookups.resolve(e.id, e)
      this.#guard(() => sessions.onLookup(e.name, lookupResult(e), monotonic()))
    }
    for (const o of outputs) {
      if (o.type === 'route') {
        overlay.route(o.dest, PROTO.session, o.payload, monotonic(), false, o.tail)
      } else {
        if (o.fresh) dht.cache.invalidate(o.name)
        dht.lookup(o.name, Date.now())
      }
    }
    for (const e of sessionEvents) this.#guard(() => this.onSession?.(e))
    return true
  }

  /** Runs `step`; an exception is an internal error, logged and counted, never thrown. */
  #guard(step: () => void): void {
    try {
      step()
    } catch (error) {
      this.#count('internal-error')
      this.#log.error({ err: error }, 'internal error')
    }
  }

  #send(id: LinkId, bytes: Uint8Array, datagram: boolean, tail?: readonly Uint8Array[]): void {
    const link = this.#links.get(id)
    if (link === undefined || link.state !== 'open') return
    if (datagram && link.bufferedBytes > MAX_LINK_BACKLOG_BYTES) {
      this.#count('link-backlog')
      return
    }
    link.send(bytes, tail)
    if (link.bufferedBytes > MAX_LINK_BACKLOG_BYTES / 2 && this.#backlogged === undefined) {
      this.#backlogged = link
      link.once('drain', () => {
        this.#backlogged = undefined
        this.onWritable?.()
      })
    }
  }

  #onOverlayEvent(e: OverlayEvent): void {
    this.#dht?.onEvent(e, Date.now())
    this.#guard(() => this.#sessions?.onOverlayEvent(e, monotonic()))
    switch (e.type) {
      case 'pong':
        this.#pongs.resolve(e.id, e)
        return
      case 'deliver':
        this.onDeliver?.(e)
        return
      case 'address':
        this.#log.info(
          { address: e.address?.toString(), previous: e.previous?.toString(), reason: e.reason },
          'overlay address',
        )
        this.#guard(() => this.onAddress?.(e.address))
        return
      case 'protocol-error':
        this.#log.warn({ link: e.link, detail: e.detail }, 'peer broke the overlay protocol')
        return
      case 'log':
        this.#log[e.level](e.msg)
        return
      default:
        return
    }
  }

  #arm(): void {
    if (this.#stopping) return
    const overlayNext = this.#overlay?.nextDeadlineMs()
    const dhtNext = this.#dht?.nextDeadlineMs()
    const sessionsNext = this.#sessions?.nextDeadlineMs()
    const now = monotonic()
    let at = Number.POSITIVE_INFINITY
    if (overlayNext !== undefined) at = Math.min(at, overlayNext)
    if (sessionsNext !== undefined) at = Math.min(at, sessionsNext)
    if (dhtNext !== undefined) at = Math.min(at, dhtNext - Date.now() + now)
    // Keep a timer that fires no later than needed: re-arming on every frame costs.
    if (this.#timer !== undefined && this.#timerAtMs <= at) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAtMs = at
    if (at === Number.POSITIVE_INFINITY) return
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, Math.ceil(at - now)))
  }

  #onTimer(): void {
    this.#timer = undefined
    this.#timerAtMs = Number.POSITIVE_INFINITY
    this.#input(() => {
      this.#overlay?.tick(monotonic())
      this.#dht?.tick(Date.now())
      this.#sessions?.tick(monotonic())
    })
  }
}

function lookupResult(e: DhtEvent): LookupResult {
  if (e.outcome === 'found' && e.record !== undefined) {
    return { outcome: 'found', address: e.record.address }
  }
  return e.outcome === 'not-found' ? { outcome: 'not-found' } : { outcome: 'failed' }
}

function nameParam(params: Record<string, unknown>): string {
  const raw = params.name
  const name = typeof raw === 'string' ? canonicalName(raw) : undefined
  if (name === undefined) throw ControlError.remote('bad-name', `not a semos name: ${String(raw)}`)
  return name
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === ''
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(?:::ffff:)?127\./.test(ip)
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
