/**
 * Greedy next-hop selection.
 *
 * A neighbour is *eligible* when it is strictly closer to the destination than
 * this node in hyperbolic distance. Routing forwards to an eligible neighbour
 * or reports "no progress" when there is none. Because every hop strictly
 * lowers the true distance, no route can loop, whichever eligible neighbour is
 * picked, and the node where routing toward a point stops does not depend on the
 * pick (the DHT's owner rule).
 *
 * Which eligible neighbour: with `fewest-tree-hops` (the default) the one whose
 * tree path to the destination is shortest, then the closest; with `closest`
 * the closest in hyperbolic distance (the textbook rule). The first lets
 * shortcut links that jump across the tree win over a tree link that is
 * marginally closer in the disk (docs/overlay.md, "Greedy routing").
 *
 * Distances come from `geometry.ts`: float64 with a cheap error bound, then a
 * refined bound, then an exact re-evaluation, each only when the one before
 * leaves eligibility undecided (the one comparison correctness rests on).
 */
import type { Address } from './address.ts'
import { pathLogCosh } from './geometry.ts'
import { exactBitsFor, exactCoshSquared } from './geometry-exact.ts'

/** A neighbour as the routing logic sees it: an opaque id and its current address. */
export interface Neighbour<Id> {
  readonly id: Id
  readonly address: Address
}

export type HopDecision<Id> =
  /** This node is the destination. */
  | { readonly kind: 'deliver' }
  /** Send the frame to this neighbour. */
  | { readonly kind: 'forward'; readonly next: Neighbour<Id> }
  /**
   * No neighbour is strictly closer. For a node address this means the
   * destination is not in the overlay (or a tree link is missing); for a DHT
   * point it means this node owns the point.
   */
  | { readonly kind: 'no-progress' }

export type NextHopRule = 'fewest-tree-hops' | 'closest'

/** Counters a router keeps; cheap enough for the hot path. */
export interface GreedyStats {
  /** Decisions taken with float64 alone. */
  floatDecisions: number
  /** Decisions that needed the exact evaluation. */
  exactDecisions: number
}

/** Two exact values closer than 2^-TIE_BITS relative count as equal. */
const TIE_BITS = 48n

interface Candidate<Id> {
  readonly neighbour: Neighbour<Id>
  readonly treeHops: number
  readonly value: number
  readonly error: number
}

export function greedyNextHop<Id>(
  self: Address,
  neighbours: readonly Neighbour<Id>[],
  dest: Address,
  stats?: GreedyStats,
  rule: NextHopRule = 'fewest-tree-hops',
): HopDecision<Id> {
  if (self.equals(dest)) return { kind: 'deliver' }
  const decision =
    floatNextHop(self, neighbours, dest, rule, false) ??
    floatNextHop(self, neighbours, dest, rule, true)
  if (decision !== undefined) {
    if (stats) stats.floatDecisions++
    return decision
  }
  if (stats) stats.exactDecisions++
  return exactNextHop(self, neighbours, dest, rule)
}

/** The decision from float64 distances, or undefined when the error bounds leave eligibility open. */
function floatNextHop<Id>(
  self: Address,
  neighbours: readonly Neighbour<Id>[],
  dest: Address,
  rule: NextHopRule,
  refined: boolean,
): HopDecision<Id> | undefined {
  const mine = pathLogCosh(self, dest, refined)
  const lo = mine.value - mine.error
  const hi = mine.value + mine.error
  let best: Candidate<Id> | undefined
  let undecided = false
  for (const n of neighbours) {
    const lc = pathLogCosh(n.address, dest, refined)
    if (lc.value + lc.error < lo) {
      const c = { neighbour: n, treeHops: n.address.treeDistance(dest), ...lc }
      if (best === undefined || rankBefore(c, best, rule)) best = c
    } else if (lc.value - lc.error <= hi) {
      undecided = true
    }
  }
  // A neighbour that is certainly closer settles the decision: one left undecided
  // (typically an exact tie, such as a sibling when routing to the parent) is
  // simply not picked. Only "no progress" must be certain of every neighbour.
  if (best !== undefined) return { kind: 'forward', next: best.neighbour }
  return undecided ? undefined : { kind: 'no-progress' }
}

/**
 * Ranking among eligible neighbours. Any eligible pick keeps routing correct, so
 * values too close for the float bounds to order fall back to the address key:
 * deterministic, and no exact evaluation is spent on a choice that cannot loop.
 */
function rankBefore<Id>(a: Candidate<Id>, b: Candidate<Id>, rule: NextHopRule): boolean {
  if (rule === 'fewest-tree-hops' && a.treeHops !== b.treeHops) return a.treeHops < b.treeHops
  if (Math.abs(a.value - b.value) <= a.error + b.error)
    return a.neighbour.address.key < b.neighbour.address.key
  return a.value < b.value
}

/**
 * The same decision with the exact evaluation only. Equal distances (within
 * 2^-48 relative) are never progress; between neighbours they fall back to the
 * lower address key, so every evaluation of one decision agrees.
 */
export function exactNextHop<Id>(
  self: Address,
  neighbours: readonly Neighbour<Id>[],
  dest: Address,
  rule: NextHopRule = 'fewest-tree-hops',
): HopDecision<Id> {
  if (self.equals(dest)) return { kind: 'deliver' }
  let longest = self.treeDistance(dest)
  for (const n of neighbours) longest = Math.max(longest, n.address.treeDistance(dest))
  const bits = exactBitsFor(self.q, longest)
  const mine = exactCoshSquared(self, dest, bits)
  let best: { n: Neighbour<Id>; v: bigint; hops: number } | undefined
  for (const n of neighbours) {
    const v = exactCoshSquared(n.address, dest, bits)
    if (compareExact(v, mine) >= 0) continue
    const hops = n.address.treeDistance(dest)
    if (best === undefined) {
      best = { n, v, hops }
      continue
    }
    const byHops = rule === 'fewest-tree-hops' ? hops - best.hops : 0
    const byValue = compareExact(v, best.v)
    if (
      byHops < 0 ||
      (byHops === 0 && (byValue < 0 || (byValue === 0 && n.address.key < best.n.address.key)))
    ) {
      best = { n, v, hops }
    }
  }
  return best === undefined ? { kind: 'no-progress' } : { kind: 'forward', next: best.n }
}

/** -1, 0 or 1, with values within 2^-48 relative of each other equal. */
function compareExact(a: bigint, b: bigint): number {
  const tol = (a > b ? a : b) >> TIE_BITS
  const diff = a - b
  return diff < -tol ? -1 : diff > tol ? 1 : 0
}
