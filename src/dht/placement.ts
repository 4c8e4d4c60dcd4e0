/**
 * Where a DHT record lives. Two placements share one interface so that the
 * simulator can compare them in one run (docs/overlay.md, "DHT placement"):
 *
 * - `naive`: the CLOAK papers' rule. A key is a point of the address space, a
 *   slot path KEY_DEPTH levels deep drawn from its hash; its owner is where
 *   greedy routing toward that point stops, the deepest present node on the
 *   path. Consistent, but a node with an empty slot near the root owns that
 *   slot's whole region: a few nodes hold most keys.
 *
 * - `balanced` (the default): a walk from the root that, at each node, stops
 *   there or steps into a child, every choice made by weighted rendezvous
 *   hashing on the key: the node itself weighs OWN_WEIGHT, each child its
 *   subtree size. With own weight 1 every node would own the same expected
 *   share; with OWN_WEIGHT = κ > 1 the walk stops earlier, on nodes whose
 *   subtree is not much larger than κ, so owners sit higher in the tree and
 *   lookups are shorter, while no node's expected share exceeds κ times the
 *   fair one (see `OWN_WEIGHT`). A change of one child's weight moves only the
 *   keys that must move. Weights are subtree sizes quantized on a log scale,
 *   so that a node's table changes rarely and every node that asks walks the
 *   same way.
 */
import { Address, slotCount } from '../overlay/address.ts'
import { type KeyPoint, unitDraw } from './key-hash.ts'

/** Records are stored on this many distinct nodes unless configured otherwise. */
export const DEFAULT_REPLICAS = 3
/** Depth of a key's point under the naive placement. */
export const KEY_DEPTH = 48
export { quantizeWeight, WEIGHT_STEPS_PER_DOUBLING } from '../overlay/weights.ts'

export type PlacementKind = 'naive' | 'balanced'

/** The naive placement's point for a key: a slot path KEY_DEPTH levels deep. */
export function naiveTarget(q: number, point: KeyPoint): Address {
  const slots = new Uint8Array(KEY_DEPTH)
  for (let level = 0; level < KEY_DEPTH; level++) slots[level] = naiveSlot(q, point, level)
  return Address.fromSlots(q, slots)
}

/** The slot at `level` of a key's naive point. */
export function naiveSlot(q: number, point: KeyPoint, level: number): number {
  return Math.floor(unitDraw(point, level, 0) * slotCount(q, level))
}

/**
 * What one node publishes for the balanced walk: its address and the weight of
 * each of its child slots (quantized subtree sizes; 0 where the slot is empty).
 */
export interface WeightTable {
  readonly address: Address
  readonly childWeights: ArrayLike<number>
}

/**
 * The weight of a node's own candidacy in the balanced walk (κ), against its
 * children's subtree sizes. The share of keys reaching a node is at most its
 * subtree's share of the nodes, S/N: each step into a child passes on
 * S(child)/(κ + S − 1) ≤ S(child)/S of what reached the parent. The node keeps
 * κ/(κ + S − 1) of it, so its expected share is at most (S/N)·κ/(κ + S − 1) ≤ κ/N:
 * κ times the fair share, whatever the tree and its size. Nodes whose subtree
 * is much larger than κ get close to that bound and leaves get less, so owners
 * are nodes high in the tree, close to more askers. κ = 3 leaves the busiest
 * node, with chance on top of the expectation, within 5× the fair share at 20
 * keys per node (docs/overlay.md, "DHT placement"). Part of the placement
 * contract: changing it moves records.
 */
export const OWN_WEIGHT = 3

/** Slot index standing for "this node itself" in the walk's draws (no real slot is this high). */
const SELF_DRAW_SLOT = 255

/**
 * Where the balanced walk goes from `table`'s node: 'self' (the owner) or a
 * child slot. `ownWeight` is OWN_WEIGHT but for tests and comparisons.
 */
export function walkStep(
  table: WeightTable,
  point: KeyPoint,
  ownWeight: number = OWN_WEIGHT,
): 'self' | number {
  const level = table.address.depth
  // Weighted rendezvous as an exponential race: the smallest -ln(u)/w wins with
  // probability w / Σw, and changing one weight only moves keys to or from that slot.
  let best = -1
  let bestTime = -Math.log(unitDraw(point, level, SELF_DRAW_SLOT)) / ownWeight
  const weights = table.childWeights
  for (let slot = 0; slot < weights.length; slot++) {
    const w = weights[slot] as number
    if (w <= 0) continue
    const time = -Math.log(unitDraw(point, level, slot)) / w
    if (time < bestTime) {
      best = slot
      bestTime = time
    }
  }
  return best < 0 ? 'self' : best
}

/** How far a node could follow the balanced walk with the tables it has. */
export interface WalkEnd {
  /** The deepest node of the walk it could determine. */
  readonly address: Address
  /** Whether the walk ends there (the owner), or goes on below with tables it lacks. */
  readonly owner: boolean
  /** That node's weight in its parent's table (its quantized subtree size). */
  readonly weight: number
}

/** Follows the balanced walk from `start` as far as the known tables allow. */
export function followWalk(
  start: WeightTable,
  tableOf: (address: Address) => WeightTable | undefined,
  point: KeyPoint,
): WalkEnd {
  let table = start
  let weight = 1
  for (;;) {
    const step = walkStep(table, point)
    if (step === 'self') return { address: table.address, owner: true, weight }
    weight = table.childWeights[step] as number
    const next = table.address.child(step)
    const nextTable = tableOf(next)
    if (nextTable === undefined) return { address: next, owner: false, weight }
    table = nextTable
  }
}

/**
 * Expected tree hops from `from` to the owner of a walk known as far as `end`.
 * Below a node whose table is not known the walk goes on until the subtree
 * under it is down to about OWN_WEIGHT nodes: about ln(S / OWN_WEIGHT) more
 * levels, S that node's subtree size (in a subtree of S nodes grown by joins a
 * random node lies about ln S levels below the top for random attachment,
 * ln S / ln(q−1) for breadth-first, of the same order). Used to try a key's
 * replicas nearest first.
 */
export function estimatedWalkDistance(from: Address, end: WalkEnd): number {
  const below = end.owner ? 0 : Math.log(Math.max(1, end.weight / OWN_WEIGHT))
  return from.treeDistance(end.address) + below
}
