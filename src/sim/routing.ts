/**
 * Routing measurements on a simulated overlay: greedy routes between node
 * pairs, and stretch against breadth-first shortest paths in the same graph.
 */
import type { Rng } from '../core/rng.ts'
import type { Address } from '../overlay/address.ts'
import { type GreedyStats, greedyNextHop, type NextHopRule } from '../overlay/greedy.ts'
import type { SimNode, SimOverlay } from './overlay.ts'
import { type Summary, summarize } from './stats.ts'

export type RouteOutcome = 'delivered' | 'stopped' | 'hop-limit'

export interface RouteResult {
  readonly outcome: RouteOutcome
  readonly hops: number
  /** Where the route ended: the destination, or the node with no closer neighbour. */
  readonly at: SimNode
}

/** A hop limit generous enough for any greedy route in a tree of this depth. */
export function hopLimitFor(overlay: SimOverlay): number {
  return 2 * overlay.maxDepth() + 64
}

/** Greedy routing from `src` toward `dest`, one decision per hop as a node would take it. */
export function routeGreedy(
  overlay: SimOverlay,
  src: SimNode,
  dest: Address,
  hopLimit: number,
  stats?: GreedyStats,
  rule?: NextHopRule,
): RouteResult {
  let cur = src
  for (let hops = 0; hops <= hopLimit; hops++) {
    const d = greedyNextHop(cur.address, overlay.neighbours(cur), dest, stats, rule)
    if (d.kind === 'deliver') return { outcome: 'delivered', hops, at: cur }
    if (d.kind === 'no-progress') return { outcome: 'stopped', hops, at: cur }
    cur = overlay.node(d.next.id)
  }
  return { outcome: 'hop-limit', hops: hopLimit, at: cur }
}

export interface RoutingReport {
  readonly pairs: number
  readonly delivered: number
  readonly successRatio: number
  readonly hops: Summary
  /** Share of greedy decisions that needed the exact evaluation. */
  readonly exactDecisionShare: number
  readonly failures: readonly string[]
}

/** Routes `pairs` random (source, destination) pairs of live nodes. */
export function measureRouting(
  overlay: SimOverlay,
  pairs: number,
  rng: Rng,
  rule?: NextHopRule,
  onProgress?: (done: number) => void,
): RoutingReport {
  const ids = overlay.aliveIds()
  const hopLimit = hopLimitFor(overlay)
  const stats: GreedyStats = { floatDecisions: 0, exactDecisions: 0 }
  const hops: number[] = []
  const failures: string[] = []
  for (let i = 0; i < pairs; i++) {
    const src = overlay.node(rng.pick(ids))
    const dst = overlay.node(rng.pick(ids))
    const r = routeGreedy(overlay, src, dst.address, hopLimit, stats, rule)
    if (r.outcome === 'delivered') hops.push(r.hops)
    else if (failures.length < 10)
      failures.push(`${src.address} -> ${dst.address}: ${r.outcome} at ${r.at.address}`)
    if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1)
  }
  const decisions = stats.floatDecisions + stats.exactDecisions
  return {
    pairs,
    delivered: hops.length,
    successRatio: hops.length / pairs,
    hops: summarize(hops),
    exactDecisionShare: decisions === 0 ? 0 : stats.exactDecisions / decisions,
    failures,
  }
}

export interface StretchReport {
  readonly pairs: number
  /** Greedy hops over shortest-path hops, per pair. */
  readonly stretch: Summary
  readonly shortestHops: Summary
}

/** Stretch of greedy routes against BFS shortest paths, from `sources` random sources. */
export function measureStretch(
  overlay: SimOverlay,
  sources: number,
  destsPerSource: number,
  rng: Rng,
  rule?: NextHopRule,
): StretchReport {
  const ids = overlay.aliveIds()
  const hopLimit = hopLimitFor(overlay)
  const dist = new Int32Array(overlay.nodes.length)
  const queue = new Int32Array(overlay.nodes.length)
  const ratios: number[] = []
  const shortest: number[] = []
  for (let s = 0; s < sources; s++) {
    const src = overlay.node(rng.pick(ids))
    bfs(overlay, src, dist, queue)
    for (let k = 0; k < destsPerSource; k++) {
      const dst = overlay.node(rng.pick(ids))
      if (dst.id === src.id) continue
      const r = routeGreedy(overlay, src, dst.address, hopLimit, undefined, rule)
      if (r.outcome !== 'delivered') continue
      const sp = dist[dst.id] as number
      ratios.push(r.hops / sp)
      shortest.push(sp)
    }
  }
  return { pairs: ratios.length, stretch: summarize(ratios), shortestHops: summarize(shortest) }
}

function bfs(overlay: SimOverlay, src: SimNode, dist: Int32Array, queue: Int32Array): void {
  dist.fill(-1)
  dist[src.id] = 0
  let head = 0
  let tail = 0
  queue[tail++] = src.id
  while (head < tail) {
    const id = queue[head++] as number
    const d = dist[id] as number
    for (const n of overlay.neighbours(overlay.node(id))) {
      if (dist[n.id] === -1) {
        dist[n.id] = d + 1
        queue[tail++] = n.id
      }
    }
  }
}
