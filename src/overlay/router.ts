/**
 * A node's greedy router: its own address, its neighbours, and a bounded
 * cache of decisions per destination, so that forwarding a frame is one map
 * lookup and the path arithmetic runs once per destination until the
 * neighbourhood changes.
 */
import type { Address } from './address.ts'
import { type GreedyStats, greedyNextHop, type HopDecision, type Neighbour } from './greedy.ts'

/** Default bound on cached destinations per node. */
export const DEFAULT_ROUTE_CACHE_ENTRIES = 4096

export interface RouterInit {
  /** Most destinations whose decision is kept (oldest evicted first). */
  readonly cacheEntries?: number
}

export interface RouterStats extends GreedyStats {
  cacheHits: number
  cacheMisses: number
}

export class GreedyRouter<Id> {
  #self: Address
  #neighbours: Neighbour<Id>[] = []
  readonly #cache = new Map<string, HopDecision<Id>>()
  readonly #cacheEntries: number
  readonly stats: RouterStats = {
    cacheHits: 0,
    cacheMisses: 0,
    floatDecisions: 0,
    exactDecisions: 0,
  }

  constructor(self: Address, init: RouterInit = {}) {
    this.#self = self
    this.#cacheEntries = init.cacheEntries ?? DEFAULT_ROUTE_CACHE_ENTRIES
  }

  get self(): Address {
    return this.#self
  }

  get neighbours(): readonly Neighbour<Id>[] {
    return this.#neighbours
  }

  /** A new address for this node (after a re-join); forgets every decision. */
  setSelf(address: Address): void {
    this.#self = address
    this.#cache.clear()
  }

  /** Replaces the neighbour set; forgets every decision. */
  setNeighbours(neighbours: readonly Neighbour<Id>[]): void {
    this.#neighbours = [...neighbours]
    this.#cache.clear()
  }

  addNeighbour(neighbour: Neighbour<Id>): void {
    this.#neighbours = this.#neighbours.filter((n) => n.id !== neighbour.id)
    this.#neighbours.push(neighbour)
    this.#cache.clear()
  }

  removeNeighbour(id: Id): void {
    const before = this.#neighbours.length
    this.#neighbours = this.#neighbours.filter((n) => n.id !== id)
    if (this.#neighbours.length !== before) this.#cache.clear()
  }

  /** The decision for `dest`: cached, or computed once and cached. */
  route(dest: Address): HopDecision<Id> {
    const cached = this.#cache.get(dest.key)
    if (cached !== undefined) {
      this.stats.cacheHits++
      return cached
    }
    this.stats.cacheMisses++
    const decision = greedyNextHop(this.#self, this.#neighbours, dest, this.stats)
    if (this.#cache.size >= this.#cacheEntries) {
      const oldest = this.#cache.keys().next()
      if (!oldest.done) this.#cache.delete(oldest.value)
    }
    this.#cache.set(dest.key, decision)
    return decision
  }
}
