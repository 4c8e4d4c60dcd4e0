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
 * - `balanced` (the default): a walk from the root that stops at each node
 *   with probability 1/(its subtree size) and otherwise steps into a child
 *   with probability proportional to the child's subtree size, every choice
 *   made by weighted rendezvous hashing on the key. Every node owns the same
 *   expected share, and a change of one child's weight moves only the keys that
 *   must move. Weights are subtree sizes quantized on a log scale, so that a
 *   node's table changes rarely and every node that asks walks the same way.
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

/** Slot index standing for "this node itself" in the walk's draws (no real slot is this high). */
const SELF_DRAW_SLOT = 255

/** Where the balanced walk goes from `table`'s node: 'self' (the owner) or a child slot. */
export function walkStep(table: WeightTable, point: KeyPoint): 'self' | number {
  const level = table.address.depth
  // Weighted rendezvous as an exponential race: the smallest -ln(u)/w wins with
  // probability w / Σw, and changing one weight only moves keys to or from that slot.
  let best = -1
  let bestTime = -Math.log(unitDraw(point, level, SELF_DRAW_SLOT))
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
 * Below a node whose table is not known the walk goes on for about ln(S)
 * levels, S that node's subtree size: the depth of a random node in a subtree
 * of S nodes grown by joins (ln S for random attachment, ln S / ln(q−1) for
 * breadth-first, of the same order). Used to try a key's replicas nearest first.
 */
export function estimatedWalkDistance(from: Address, end: WalkEnd): number {
  return from.treeDistance(end.address) + (end.owner ? 0 : Math.log(Math.max(1, end.weight)))
}
