/**
 * The overlay node's public types: what its driver feeds it (link ids), what it
 * asks of the driver (actions), what it reports (events), and its options with
 * their defaults. overlay-node.ts has the state machine.
 */
import { CodedError } from '../core/coded-error.ts'
import type { Address } from './address.ts'
import type { Contact, TreeId } from './messages.ts'

/** A link as the node knows it: a number the node hands out (see OverlayNode.linkAccepted). */
export type LinkId = number

/** Overlay protocol numbers carried by `routed` messages. */
export const PROTO = { control: 0, echo: 1, dht: 2, session: 3, merge: 4 } as const

// Tuning defaults.
export const DEFAULT_Q = 4
export const DEFAULT_MAX_HOPS = 64
export const DEFAULT_MAX_SHORTCUTS = 4
export const DEFAULT_MAX_LINKS = 64
export const DEFAULT_JOIN_TIMEOUT_MS = 3000
/** RFC 8305's recommended Connection Attempt Delay. */
export const DEFAULT_JOIN_STAGGER_MS = 250
export const DEFAULT_JOIN_CLIMB = 2
export const DEFAULT_RETRY_MIN_MS = 100
export const DEFAULT_RETRY_MAX_MS = 5000
export const DEFAULT_QUARANTINE_MS = 5000
export const DEFAULT_UPDATE_INTERVAL_MS = 50
export const DEFAULT_PING_TIMEOUT_MS = 5000

export interface OverlayNodeInit {
  /** This node's canonical name. */
  readonly name: string
  /** The "host:port" other nodes dial to reach this node. */
  readonly endpoint: string
  /** Members to join through; empty: start a new overlay as its root. */
  readonly bootstrap: readonly string[]
  /** Overlay degree (only the root's matters; joiners take their parent's). Default 4. */
  readonly q?: number
  readonly maxHops?: number
  /** Shortcut links this node dials (grandparent, siblings). Default 4. */
  readonly maxShortcuts?: number
  /** Links beyond which inbound links are refused. Default 64. */
  readonly maxLinks?: number
  /** A join attempt that got no answer for this long moves on. Default 3000. */
  readonly joinTimeoutMs?: number
  /**
   * A join's dial that has not opened for this long keeps dialing while the next member
   * is dialed beside it; the first to open is asked (Happy Eyeballs). Default 250.
   */
  readonly joinStaggerMs?: number
  /** Levels a join climbs from its contact before descending to a free slot. Default 2. */
  readonly joinClimb?: number
  readonly retryMinMs?: number
  readonly retryMaxMs?: number
  /** A dead child's slot is kept for its owner this long before reuse. Default 5000. */
  readonly quarantineMs?: number
  /** Least time between two reports to the parent or places to a child. Default 50. */
  readonly updateIntervalMs?: number
  readonly pingTimeoutMs?: number
  /** Uniform random numbers in [0, 1) for jitter and tie-breaks (seeded in tests). */
  readonly random?: () => number
}

export interface OverlayOptions {
  readonly q: number
  readonly maxHops: number
  readonly maxShortcuts: number
  readonly maxLinks: number
  readonly joinTimeoutMs: number
  readonly joinStaggerMs: number
  readonly joinClimb: number
  readonly retryMinMs: number
  readonly retryMaxMs: number
  readonly quarantineMs: number
  readonly updateIntervalMs: number
  readonly pingTimeoutMs: number
}

/** What the node asks its driver to do. */
export type OverlayAction =
  /** Open a link to `endpoint`; report linkUp(link, …) or linkDown(link, …) for this id. */
  | { readonly type: 'dial'; readonly link: LinkId; readonly endpoint: string }
  /** Send one message (one link data record). */
  | {
      readonly type: 'send'
      readonly link: LinkId
      readonly bytes: Uint8Array
      /**
       * A routed datagram, which a congested link may drop (the layers above
       * retransmit); neighbour messages (joins, places…) must never be dropped.
       */
      readonly datagram: boolean
      /**
       * What follows `bytes`: a session record's sealed body (ciphertext and tag), sealed
       * end to end already, in parts. The link sends it as it is, without encrypting or
       * copying it (docs/wire-link.md, split frames).
       */
      readonly tail?: readonly Uint8Array[]
    }
  /** Close the link gracefully. */
  | { readonly type: 'close'; readonly link: LinkId }

/** Where the node stands in the tree. */
export type Placement = 'unjoined' | 'joining' | 'placed' | 'orphan' | 'left'

/** Why a routed message or a ping could not be delivered. */
export type Undeliverable =
  | 'not-joined'
  | 'no-route'
  | 'hop-limit'
  | 'wrong-node'
  | 'timeout'
  | 'link-busy'

export type OverlayEvent =
  | {
      readonly type: 'address'
      readonly address: Address | undefined
      readonly previous: Address | undefined
      readonly tree: TreeId | undefined
      readonly reason: 'joined' | 'rejoined' | 'readdressed' | 'promoted' | 'orphaned' | 'left'
    }
  /** The tables the DHT walks changed (own child sizes, or an ancestor's). */
  | { readonly type: 'tables' }
  | {
      readonly type: 'deliver'
      readonly proto: number
      readonly src: Address
      readonly hops: number
      /** Delivered here because no node is closer (anycast), not because this is `dest`. */
      readonly atClosest: boolean
      readonly dest: Address
      readonly payload: Uint8Array
    }
  | {
      readonly type: 'undeliverable'
      readonly proto: number
      readonly dest: Address
      readonly reason: Undeliverable
      readonly payload: Uint8Array
    }
  | {
      readonly type: 'pong'
      readonly id: number
      readonly ok: boolean
      readonly reason?: Undeliverable
      readonly hops: number
      readonly rttMs: number
    }
  /** A peer broke the overlay protocol; the link was closed. Counted in `stats.drops`. */
  | { readonly type: 'protocol-error'; readonly link: LinkId; readonly detail: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string }

/** What a link is to this node. */
export type LinkRole = 'parent' | 'child' | 'shortcut' | 'join' | 'peer'

export interface LinkView {
  readonly link: LinkId
  readonly name: string | undefined
  readonly endpoint: string | undefined
  readonly address: Address | undefined
  readonly role: LinkRole
  readonly open: boolean
}

export interface OverlayStats {
  forwarded: number
  delivered: number
  undeliverable: number
  joins: number
  rejoins: number
  readdressed: number
  /** Dropped input by reason (bad messages, hop limit, unknown protocol…). */
  readonly drops: Record<string, number>
  /** Messages sent per type (the simulator's repair-cost figure). */
  readonly sent: Record<string, number>
}

export type OverlayUsageError = 'bad-config' | 'not-joined' | 'unknown-link'

export class OverlayError extends CodedError<OverlayUsageError> {}

export type { Contact, TreeId }

export function resolveOverlayOptions(init: OverlayNodeInit): OverlayOptions {
  const o: OverlayOptions = {
    q: init.q ?? DEFAULT_Q,
    maxHops: init.maxHops ?? DEFAULT_MAX_HOPS,
    maxShortcuts: init.maxShortcuts ?? DEFAULT_MAX_SHORTCUTS,
    maxLinks: init.maxLinks ?? DEFAULT_MAX_LINKS,
    joinTimeoutMs: init.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
    joinStaggerMs: init.joinStaggerMs ?? DEFAULT_JOIN_STAGGER_MS,
    joinClimb: init.joinClimb ?? DEFAULT_JOIN_CLIMB,
    retryMinMs: init.retryMinMs ?? DEFAULT_RETRY_MIN_MS,
    retryMaxMs: init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
    quarantineMs: init.quarantineMs ?? DEFAULT_QUARANTINE_MS,
    updateIntervalMs: init.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS,
    pingTimeoutMs: init.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS,
  }
  if (!Number.isInteger(o.q) || o.q < 3 || o.q > 64) bad(`q must be 3..64, got ${o.q}`)
  if (!Number.isInteger(o.maxHops) || o.maxHops < 1 || o.maxHops > 255) bad('maxHops: 1..255')
  if (!Number.isInteger(o.joinClimb) || o.joinClimb < 0 || o.joinClimb > 255) bad('joinClimb')
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isFinite(v) || v < 0) bad(`${k} must be a non-negative number, got ${v}`)
  }
  return o
}

function bad(message: string): never {
  throw new OverlayError('bad-config', message)
}
