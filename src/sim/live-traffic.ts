/**
 * Counting the live engine's messages: a tap on every overlay that counts each
 * message it asks to send, by type, routed messages split by what they carry
 * (so that the engine's own pings and lookups can be told apart from growth
 * and repair traffic), and the figures made of two snapshots of the counts.
 */
import { DHT_TYPE } from '../dht/dht-messages.ts'
import { MESSAGE_TYPE } from '../overlay/messages.ts'
import { PROTO } from '../overlay/node-types.ts'
import type { LiveStack } from './live-stack.ts'
import type { SimHost } from './network.ts'

/** Message counts: per kind from the tap, plus the SimHost.messagesSent total. */
export interface Traffic {
  /** Messages per kind (routed messages split by what they carry). */
  readonly byKind: Record<string, number>
  readonly total: number
  /** Of `total`, messages of the engine's own pings and lookups (PROBE_KINDS). */
  readonly probes: number
  /** Nodes the per-node figures divide by. */
  readonly nodes: number
  /** Sum of the overlays' `stats.sent` (probe traffic included). */
  readonly statsSent: number
  /** Sum of SimHost.messagesSent (messages that found a link; probe traffic included). */
  readonly onLinks: number
  /** Messages per node (per survivor for repair), kind by kind, probes excluded. */
  readonly perNode: Record<string, number>
  readonly perNodeTotal: number
}

/** The traffic between two tap snapshots, per node over `per` nodes. */
export function traffic(
  now: Record<string, number>,
  before: Record<string, number>,
  per: number,
  sent: { statsSent: number; onLinks: number },
  sentBefore = { statsSent: 0, onLinks: 0 },
): Traffic {
  const byKind: Record<string, number> = {}
  const perNode: Record<string, number> = {}
  let total = 0
  let repair = 0
  for (const kind of Object.keys(now).sort()) {
    const n = (now[kind] ?? 0) - (before[kind] ?? 0)
    if (n === 0) continue
    byKind[kind] = n
    total += n
    if (PROBE_KINDS.has(kind)) continue
    perNode[kind] = n / per
    repair += n
  }
  return {
    byKind,
    total,
    probes: total - repair,
    nodes: per,
    statsSent: sent.statsSent - sentBefore.statsSent,
    onLinks: sent.onLinks - sentBefore.onLinks,
    perNode,
    perNodeTotal: repair / per,
  }
}

/** Sums of the overlays' stats.sent and of the hosts' messagesSent. */
export function sentTotals(stacks: readonly LiveStack[]): { statsSent: number; onLinks: number } {
  let statsSent = 0
  let onLinks = 0
  for (const s of stacks) {
    onLinks += s.host.messagesSent
    for (const n of Object.values(s.host.overlay.stats.sent)) statsSent += n
  }
  return { statsSent, onLinks }
}

/** Message kinds that only the engine's probes cause (pings and lookups, and errors about them). */
export const PROBE_KINDS: ReadonlySet<string> = new Set([
  'routed/echo',
  'routed/dht-get',
  'routed/error-echo',
  'routed/error-dht-get',
])

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const TYPE_NAMES = new Map<number, string>(
  Object.entries(MESSAGE_TYPE).map(([k, v]) => [v, kebab(k)]),
)
/** DHT message kinds; a get and its reply are one kind (only the engine's lookups send them). */
const DHT_NAMES = new Map<number, string>(
  Object.entries(DHT_TYPE).map(([k, v]) => [v, `dht-${k === 'getReply' ? 'get' : kebab(k)}`]),
)

/** Counts of messages the overlays asked to send, by kind, over every host tapped. */
export class TrafficTap {
  readonly counts: Record<string, number> = {}

  /**
   * Wraps `host.overlay.takeActions` so that each `send` is counted as the
   * network takes it. A measuring tap: the actions pass through unchanged.
   */
  attach(host: SimHost): void {
    const node = host.overlay
    const take = node.takeActions.bind(node)
    node.takeActions = () => {
      const actions = take()
      for (const a of actions) if (a.type === 'send') this.#count(kindOf(a.bytes))
      return actions
    }
  }

  /** A copy of the counts so far. */
  snapshot(): Record<string, number> {
    return { ...this.counts }
  }

  #count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1
  }
}

/** The kind of an encoded overlay message: its type, and for `routed` what it carries. */
export function kindOf(bytes: Uint8Array): string {
  const type = bytes[0] ?? 0
  if (type !== MESSAGE_TYPE.routed) return TYPE_NAMES.get(type) ?? `type-${type}`
  const proto = bytes[4]
  const payload = skipAddress(bytes, skipAddress(bytes, 5))
  return `routed/${payloadKind(bytes, proto, payload)}`
}

function payloadKind(bytes: Uint8Array, proto: number | undefined, at: number): string {
  switch (proto) {
    case PROTO.echo:
      return 'echo'
    case PROTO.dht:
      return DHT_NAMES.get(bytes[at] ?? 0) ?? `dht-${bytes[at]}`
    case PROTO.control: {
      // A control error: u8 code, u8 proto, the undelivered message's dest, its payload.
      const inner = bytes[at + 1]
      const innerKind = payloadKind(bytes, inner, skipAddress(bytes, at + 2))
      return `error-${innerKind}`
    }
    default:
      return `proto-${proto}`
  }
}

/** The offset after an encoded address (u8 q, varint depth, packed slots) starting at `at`. */
function skipAddress(bytes: Uint8Array, at: number): number {
  const q = bytes[at] ?? 4
  let depth = 0
  let scale = 1
  let i = at + 1
  for (;;) {
    const b = bytes[i++]
    if (b === undefined) return bytes.length
    depth += (b & 0x7f) * scale
    if ((b & 0x80) === 0) break
    scale *= 0x80
  }
  return i + Math.ceil((depth * Math.ceil(Math.log2(q))) / 8)
}
