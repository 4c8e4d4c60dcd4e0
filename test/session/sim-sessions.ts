/**
 * Test stacks for the session manager on the in-memory network: on every host a real
 * OverlayNode, DhtNode and SessionManager (through SessionLayer), an application that
 * consumes everything it receives at once, and logs of events, routes and overlay
 * address changes with their virtual times. Deterministic from one seed.
 */
import { Rng } from '../../src/core/rng.ts'
import { DhtNode } from '../../src/dht/dht-node.ts'
import { type Identity, identityFromSeed } from '../../src/identity/keys.ts'
import type { OverlayEvent } from '../../src/overlay/node-types.ts'
import { SessionLayer } from '../../src/session/session-layer.ts'
import { SessionManager } from '../../src/session/session-manager.ts'
import type {
  SessionEvent,
  SessionManagerInit,
  SessionOutput,
  StreamRef,
} from '../../src/session/session-manager-types.ts'
import { type SimHost, SimNetwork } from '../../src/sim/network.ts'

export type RouteLog = Extract<SessionOutput, { type: 'route' }> & { readonly atMs: number }

export interface Stack {
  readonly host: SimHost
  readonly identity: Identity
  readonly dht: DhtNode
  readonly manager: SessionManager
  readonly layer: SessionLayer
  readonly events: { readonly e: SessionEvent; readonly atMs: number }[]
  readonly routes: RouteLog[]
  readonly addresses: {
    readonly e: Extract<OverlayEvent, { type: 'address' }>
    readonly atMs: number
  }[]
  /** Bytes received per `${session}:${streamId}`, in order. */
  readonly received: Map<string, Uint8Array[]>
  /** Called on every session event after it is logged (writers hook in here). */
  onSession: ((e: SessionEvent) => void)[]
}

export const key = (session: number, streamId: number): string => `${session}:${streamId}`

/** Grows an overlay of `n` hosts, each with its session stack; settles for 3 virtual s. */
export function growSessions(
  n: number,
  seed: number,
  options: Omit<SessionManagerInit, 'identity' | 'randomBytes'> = {},
): { net: SimNetwork; stacks: Stack[] } {
  const net = new SimNetwork({ seed })
  const rng = new Rng(seed)
  const stacks: Stack[] = []
  for (let i = 0; i < n; i++) {
    const seedBytes = Uint8Array.from({ length: 32 }, () => rng.int(256))
    const identity = identityFromSeed(seedBytes)
    const contact = i === 0 ? undefined : rng.pick(stacks).host
    const host = net.addHost({ name: identity.name, bootstrap: contact ? [contact.endpoint] : [] })
    const partial = new Rng(rng.int(2 ** 31))
    const manager = new SessionManager({
      ...options,
      identity,
      randomBytes: (k) => Uint8Array.from({ length: k }, () => partial.int(256)),
    })
    stacks.push(stack(net, host, identity, manager))
    net.start(host)
    net.runFor(20)
  }
  net.runFor(3000)
  return { net, stacks }
}

function stack(net: SimNetwork, host: SimHost, identity: Identity, manager: SessionManager): Stack {
  const dht = new DhtNode({ identity, overlay: host.overlay })
  const s: Stack = {
    host,
    identity,
    dht,
    manager,
    layer: undefined as unknown as SessionLayer,
    events: [],
    routes: [],
    addresses: [],
    received: new Map(),
    onSession: [],
  }
  const layer = new SessionLayer({
    overlay: host.overlay,
    dht,
    manager,
    sink: {
      route: (o, atMs) => s.routes.push({ ...o, atMs }),
      session: (e, atMs) => {
        s.events.push({ e, atMs })
        if (e.type === 'data') {
          const k = key(e.session, e.streamId)
          s.received.set(k, [...(s.received.get(k) ?? []), e.bytes])
          manager.consume({ session: e.session, streamId: e.streamId }, e.bytes.length, atMs)
        }
        for (const f of s.onSession) f(e)
      },
    },
  })
  ;(s as { layer: SessionLayer }).layer = layer
  host.layer = {
    onEvent: (e, nowMs) => {
      if (e.type === 'address') s.addresses.push({ e, atMs: nowMs })
      layer.onEvent(e, nowMs)
    },
    tick: (nowMs) => layer.tick(nowMs),
    nextDeadlineMs: () => layer.nextDeadlineMs(),
  }
  void net
  return s
}

/** Runs the manager's outputs and ships the overlay's actions after a direct call. */
export function kick(net: SimNetwork, s: Stack): void {
  s.layer.drain(net.now)
  net.pump(s.host)
}

/**
 * Writes `bytes` on a stream as fast as the session accepts them (resuming on `writable`),
 * then ends it. Returns a probe of how many bytes were accepted so far.
 */
export function writeAll(
  net: SimNetwork,
  s: Stack,
  ref: StreamRef,
  bytes: Uint8Array,
): () => number {
  let offset = 0
  let ended = false
  const push = (): void => {
    while (offset < bytes.length) {
      const n = s.manager.write(ref, bytes.subarray(offset, offset + 64 * 1024), net.now)
      if (n === 0) return
      offset += n
    }
    if (!ended) {
      ended = true
      s.manager.end(ref, net.now)
    }
  }
  s.onSession.push((e) => {
    if (e.type === 'writable' && e.session === ref.session && e.streamId === ref.streamId) push()
  })
  push()
  kick(net, s)
  return () => offset
}

/** `n` pseudo-random bytes from `seed`. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 4) {
    const v = rng.nextU32()
    out[i] = v & 0xff
    out[i + 1] = (v >>> 8) & 0xff
    out[i + 2] = (v >>> 16) & 0xff
    out[i + 3] = v >>> 24
  }
  return out
}

export function concat(parts: readonly Uint8Array[] | undefined): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts ?? []))
}

/** Runs in steps of `stepMs` until `done()` or `maxMs` passed; returns whether done. */
export function runUntil(
  net: SimNetwork,
  done: () => boolean,
  maxMs: number,
  stepMs = 10,
): boolean {
  const end = net.now + maxMs
  while (!done()) {
    if (net.now >= end) return false
    net.runFor(stepMs)
  }
  return true
}

export function eventsOf<T extends SessionEvent['type']>(
  s: Stack,
  type: T,
): { e: Extract<SessionEvent, { type: T }>; atMs: number }[] {
  return s.events.filter((x) => x.e.type === type) as {
    e: Extract<SessionEvent, { type: T }>
    atMs: number
  }[]
}
