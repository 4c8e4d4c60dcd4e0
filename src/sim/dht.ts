/**
 * The DHT in the simulator: records published by every node, placed by a
 * placement rule (dht/placement.ts), replicated on R distinct nodes, handed
 * over when owners change, and looked up by routing as a node would.
 */
import type { Rng } from '../core/rng.ts'
import { type KeyPoint, keyPoint } from '../dht/key-hash.ts'
import {
  estimatedWalkDistance,
  followWalk,
  KEY_DEPTH,
  naiveSlot,
  naiveTarget,
  type PlacementKind,
  quantizeWeight,
  type WalkEnd,
  type WeightTable,
  walkStep,
} from '../dht/placement.ts'
import type { Address } from '../overlay/address.ts'
import { greedyNextHop } from '../overlay/greedy.ts'
import type { SimNode, SimOverlay } from './overlay.ts'
import { hopLimitFor, routeGreedy } from './routing.ts'
import { quantile, type Summary, summarize } from './stats.ts'

/** Extra replica indices tried when two replicas of a key land on the same node. */
export const EXTRA_REPLICA_TRIES = 8

/** The weight table a node publishes for the balanced walk (cached until the overlay changes). */
export function weightTable(overlay: SimOverlay, n: SimNode): WeightTable {
  if (n.derived !== undefined && n.derived.version === overlay.version)
    return n.derived.value as WeightTable
  const childWeights = new Float64Array(n.address.childSlots)
  for (let s = 0; s < n.address.childSlots; s++) {
    const c = n.children[s] as number
    childWeights[s] = c >= 0 ? quantizeWeight(overlay.node(c).size) : 0
  }
  const table: WeightTable = { address: n.address, childWeights }
  n.derived = { version: overlay.version, value: table }
  return table
}

/** The owner of one key point with complete, current knowledge (the oracle). */
export function ownerOf(overlay: SimOverlay, kind: PlacementKind, point: KeyPoint): SimNode {
  let cur = overlay.node(overlay.root)
  if (kind === 'naive') {
    for (;;) {
      const c = cur.children[naiveSlot(overlay.q, point, cur.address.depth)] as number
      if (c < 0 || cur.address.depth >= KEY_DEPTH) return cur
      cur = overlay.node(c)
    }
  }
  for (;;) {
    const step = walkStep(weightTable(overlay, cur), point)
    if (step === 'self') return cur
    cur = overlay.node(cur.children[step] as number)
  }
}

function tableAt(overlay: SimOverlay, a: Address): WeightTable | undefined {
  const n = overlay.at(a)
  return n === undefined ? undefined : weightTable(overlay, n)
}

/** The R distinct owners of a key, skipping replica indices that repeat an owner. */
export function ownersOf(
  overlay: SimOverlay,
  kind: PlacementKind,
  key: string,
  replicas: number,
): SimNode[] {
  const owners: SimNode[] = []
  for (let r = 0; owners.length < replicas && r < replicas + EXTRA_REPLICA_TRIES; r++) {
    const o = ownerOf(overlay, kind, keyPoint(key, r))
    if (!owners.includes(o)) owners.push(o)
  }
  return owners
}

export interface LookupResult {
  readonly at: SimNode
  readonly hops: number
  readonly ok: boolean
}

/**
 * A lookup routed hop by hop, each node using only what it knows: for
 * `naive`, greedy routing toward the key's point; for `balanced`, the walk as
 * far as the node's own table and its ancestors' tables determine it, then
 * greedy routing toward the deepest node so determined.
 */
export function lookup(
  overlay: SimOverlay,
  kind: PlacementKind,
  src: SimNode,
  point: KeyPoint,
): LookupResult {
  const hopLimit = hopLimitFor(overlay) + 2 * overlay.maxDepth()
  if (kind === 'naive') {
    const r = routeGreedy(overlay, src, naiveTarget(overlay.q, point), hopLimit)
    return { at: r.at, hops: r.hops, ok: r.outcome !== 'hop-limit' }
  }
  let cur = src
  for (let hops = 0; hops <= hopLimit; hops++) {
    const target = knownWalk(overlay, cur, point)
    if (target.owner && target.address.equals(cur.address)) return { at: cur, hops, ok: true }
    const d = greedyNextHop(cur.address, overlay.neighbours(cur), target.address)
    if (d.kind !== 'forward') return { at: cur, hops, ok: false }
    cur = overlay.node(d.next.id)
  }
  return { at: cur, hops: hopLimit, ok: false }
}

/**
 * The walk as far as `n` can follow it: with the tables of its ancestors
 * (handed down the tree), its own, and its neighbours' (exchanged on each link).
 */
function knownWalk(overlay: SimOverlay, n: SimNode, point: KeyPoint): WalkEnd {
  const rootTable = weightTable(overlay, overlay.node(overlay.root))
  const neighbourKeys = new Set(overlay.neighbours(n).map((m) => m.address.key))
  const known = (a: Address): WeightTable | undefined =>
    a.isAncestorOf(n.address) || neighbourKeys.has(a.key) ? tableAt(overlay, a) : undefined
  return followWalk(rootTable, known, point)
}

/**
 * The order in which a node tries a key's replicas: the R primary ones nearest
 * first, by the tree distance from the node to the deepest point of the
 * replica's placement it can work out alone (the key's point for `naive`; for
 * `balanced`, the walk as far as its tables go, plus the expected rest of the
 * walk); then the extra indices.
 */
export function replicaOrder(
  overlay: SimOverlay,
  kind: PlacementKind,
  src: SimNode,
  key: string,
  replicas: number,
): number[] {
  const scored: { r: number; distance: number }[] = []
  for (let r = 0; r < replicas; r++) {
    const point = keyPoint(key, r)
    if (kind === 'naive') {
      scored.push({ r, distance: src.address.treeDistance(naiveTarget(overlay.q, point)) })
      continue
    }
    scored.push({ r, distance: estimatedWalkDistance(src.address, knownWalk(overlay, src, point)) })
  }
  scored.sort((a, b) => a.distance - b.distance || a.r - b.r)
  const order = scored.map((x) => x.r)
  for (let r = replicas; r < replicas + EXTRA_REPLICA_TRIES; r++) order.push(r)
  return order
}

export interface LoadReport {
  readonly records: number
  readonly nodes: number
  /** Records per node over the fair share (records / nodes). */
  readonly maxOverFair: number
  readonly p99OverFair: number
  readonly emptyShare: number
}

export interface GetReport {
  readonly gets: number
  readonly successRatio: number
  /** Hops of the successful lookup when replicas are tried one by one, nearest first. */
  readonly hops: Summary
  /** Hops of the first answer when every replica is asked at once. */
  readonly parallelHops: Summary
}

/**
 * Every live node publishes `keysPerNode` records, each stored on its R owners.
 * Holders live in one flat array: record i's holders are at [i·H, i·H + H).
 */
export class DhtModel {
  readonly #overlay: SimOverlay
  readonly kind: PlacementKind
  readonly replicas: number
  readonly #publisher: Int32Array
  readonly #holders: Int32Array
  readonly #keys: string[]

  constructor(overlay: SimOverlay, kind: PlacementKind, keysPerNode: number, replicas: number) {
    this.#overlay = overlay
    this.kind = kind
    this.replicas = replicas
    const publishers = overlay.aliveIds()
    const count = publishers.length * keysPerNode
    this.#publisher = new Int32Array(count)
    this.#holders = new Int32Array(count * this.replicas).fill(-1)
    this.#keys = new Array(count)
    let i = 0
    for (const id of publishers) {
      for (let k = 0; k < keysPerNode; k++, i++) {
        this.#publisher[i] = id
        this.#keys[i] = `node-${id}/key-${k}`
      }
    }
  }

  get records(): number {
    return this.#keys.length
  }

  /** (Re-)stores every record of a live publisher on its current owners. */
  publishAll(onProgress?: (done: number) => void): void {
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#overlay.node(this.#publisher[i] as number).alive) this.#store(i)
      if (onProgress && (i + 1) % 100_000 === 0) onProgress(i + 1)
    }
  }

  #store(i: number): void {
    const owners = ownersOf(this.#overlay, this.kind, this.#keys[i] as string, this.replicas)
    const base = i * this.replicas
    for (let h = 0; h < this.replicas; h++) this.#holders[base + h] = owners[h]?.id ?? -1
  }

  /**
   * Handover after a membership change: every record still held by a live node
   * is copied to its current owners, and holders that no longer own it drop it.
   * Returns how many records survived and how many changed holders.
   */
  handover(): { survived: number; lost: number; moved: number } {
    let survived = 0
    let lost = 0
    let moved = 0
    for (let i = 0; i < this.#keys.length; i++) {
      const base = i * this.replicas
      let live = false
      const before: number[] = []
      for (let h = 0; h < this.replicas; h++) {
        const id = this.#holders[base + h] as number
        if (id >= 0) before.push(id)
        if (id >= 0 && this.#overlay.node(id).alive) live = true
      }
      if (!live) {
        lost++
        this.#holders.fill(-1, base, base + this.replicas)
        continue
      }
      survived++
      this.#store(i)
      for (let h = 0; h < this.replicas; h++) {
        const id = this.#holders[base + h] as number
        if (id >= 0 && !before.includes(id)) moved++
      }
    }
    return { survived, lost, moved }
  }

  /** Records per node, replicas counted, over live nodes. */
  load(): LoadReport {
    const counts = new Float64Array(this.#overlay.nodes.length)
    let total = 0
    for (const id of this.#holders) {
      if (id >= 0 && this.#overlay.node(id).alive) {
        counts[id] = (counts[id] as number) + 1
        total++
      }
    }
    const live = this.#overlay.aliveIds().map((id) => counts[id] as number)
    const sorted = Float64Array.from(live).sort()
    const fair = total / live.length
    let empty = 0
    for (const c of live) if (c === 0) empty++
    return {
      records: total,
      nodes: live.length,
      maxOverFair: (sorted[sorted.length - 1] as number) / fair,
      p99OverFair: quantile(sorted, 0.99) / fair,
      emptyShare: empty / live.length,
    }
  }

  /**
   * `gets` lookups of random records of live publishers from random live nodes.
   * A get tries the replicas nearest first (`replicaOrder`) and succeeds at the
   * first node that holds the record; its hops are those of the successful
   * lookup. Also measured: the hops of the first answer if every replica (and
   * the extra indices) were asked at once.
   */
  gets(gets: number, rng: Rng): GetReport {
    const alive = this.#overlay.aliveIds()
    const hops: number[] = []
    const parallelHops: number[] = []
    let ok = 0
    if (this.#keys.length === 0) {
      return {
        gets: 0,
        successRatio: Number.NaN,
        hops: summarize(hops),
        parallelHops: summarize(hops),
      }
    }
    for (let g = 0; g < gets; g++) {
      let i = rng.int(this.#keys.length)
      for (let t = 0; t < 100 && !this.#overlay.node(this.#publisher[i] as number).alive; t++) {
        i = rng.int(this.#keys.length)
      }
      const src = this.#overlay.node(rng.pick(alive))
      const key = this.#keys[i] as string
      const found = replicaOrder(this.#overlay, this.kind, src, key, this.replicas).map((r) => {
        const res = lookup(this.#overlay, this.kind, src, keyPoint(key, r))
        return res.ok && this.#holds(i, res.at.id) ? res.hops : -1
      })
      const first = found.find((h) => h >= 0)
      if (first === undefined) continue
      ok++
      hops.push(first)
      parallelHops.push(Math.min(...found.filter((h) => h >= 0)))
    }
    return {
      gets,
      successRatio: ok / gets,
      hops: summarize(hops),
      parallelHops: summarize(parallelHops),
    }
  }

  #holds(record: number, node: number): boolean {
    const base = record * this.replicas
    for (let h = 0; h < this.replicas; h++) if (this.#holders[base + h] === node) return true
    return false
  }
}
