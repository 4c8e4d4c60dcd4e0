/**
 * Greedy next-hop selection: forward to the neighbour strictly closer (in
 * hyperbolic distance) to the destination than this node, the closest such one;
 * otherwise report "no progress". Because every hop strictly lowers the true
 * distance, a route can never loop.
 *
 * Distances come from `geometry.ts`: a float64 evaluation with an error bound,
 * and an exact re-evaluation whenever the bounds of the best candidate overlap
 * another candidate's or this node's (near-ties, very long paths).
 */
import type { Address } from './address.ts'
import { exactBitsFor, exactCoshSquared, type LogCosh, pathLogCosh } from './geometry.ts'

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
   * target it means this node owns the target.
   */
  | { readonly kind: 'no-progress' }

/** Counters a router keeps; cheap enough for the hot path. */
export interface GreedyStats {
  /** Decisions taken with float64 alone. */
  floatDecisions: number
  /** Decisions that needed the exact evaluation. */
  exactDecisions: number
}

/** Two exact values closer than 2^-TIE_BITS relative count as a tie. */
const TIE_BITS = 48n

export function greedyNextHop<Id>(
  self: Address,
  neighbours: readonly Neighbour<Id>[],
  dest: Address,
  stats?: GreedyStats,
): HopDecision<Id> {
  if (self.equals(dest)) return { kind: 'deliver' }
  if (neighbours.length === 0) return { kind: 'no-progress' }
  const mine = pathLogCosh(self, dest)
  const theirs: LogCosh[] = neighbours.map((n) => pathLogCosh(n.address, dest))
  let best = 0
  for (let i = 1; i < theirs.length; i++) {
    if ((theirs[i] as LogCosh).value < (theirs[best] as LogCosh).value) best = i
  }
  const b = theirs[best] as LogCosh
  const hi = b.value + b.error
  let certain = mine.value - mine.error > hi || b.value - b.error > mine.value + mine.error
  for (let i = 0; certain && i < theirs.length; i++) {
    const t = theirs[i] as LogCosh
    if (i !== best && t.value - t.error <= hi) certain = false
  }
  if (certain) {
    if (stats) stats.floatDecisions++
    return b.value < mine.value
      ? { kind: 'forward', next: neighbours[best] as Neighbour<Id> }
      : { kind: 'no-progress' }
  }
  if (stats) stats.exactDecisions++
  return exactNextHop(self, neighbours, dest)
}

/** The same decision, always with the exact evaluation (ties: lowest address key). */
export function exactNextHop<Id>(
  self: Address,
  neighbours: readonly Neighbour<Id>[],
  dest: Address,
): HopDecision<Id> {
  if (self.equals(dest)) return { kind: 'deliver' }
  let longest = self.treeDistance(dest)
  for (const n of neighbours) longest = Math.max(longest, n.address.treeDistance(dest))
  const bits = exactBitsFor(self.q, longest)
  const mine = exactCoshSquared(self, dest, bits)
  let bestIndex = -1
  let bestValue = mine
  for (let i = 0; i < neighbours.length; i++) {
    const n = neighbours[i] as Neighbour<Id>
    const v = exactCoshSquared(n.address, dest, bits)
    // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigints
    const tol = (v > bestValue ? v : bestValue) >> TIE_BITS
    const diff = v - bestValue
    if (diff < -tol) {
      bestIndex = i
      bestValue = v
    } else if (diff <= tol && bestIndex >= 0) {
      // A tie between two neighbours (never with self: progress must be strict).
      const current = neighbours[bestIndex] as Neighbour<Id>
      if (n.address.key < current.address.key) bestIndex = i
    }
  }
  return bestIndex < 0
    ? { kind: 'no-progress' }
    : { kind: 'forward', next: neighbours[bestIndex] as Neighbour<Id> }
}
