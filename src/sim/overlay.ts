/**
 * The simulator's overlay: a tree of nodes with CLOAK addresses and shortcut
 * links, grown by joins and repaired after failures, in memory. It is the
 * model of the overlay's membership; routing decisions come from the same
 * modules the daemon uses (overlay/greedy, dht/placement).
 *
 * Attach policies (where a newcomer's parent is):
 * - `random`: a uniformly random node with a free slot (the CLOAK notes' worst case);
 * - `bfs`:    the shallowest free slot of the whole overlay;
 * - `near`:   the newcomer contacts a random member; the join climbs `nearClimb`
 *             levels from it and takes the shallowest free slot of that
 *             ancestor's subtree (climbing further if it is full). Local
 *             knowledge only: each node keeps its subtree's size and the depth
 *             of its shallowest free slot, aggregated up the tree.
 */
import type { Rng } from '../core/rng.ts'
import { Address } from '../overlay/address.ts'
import type { Neighbour } from '../overlay/greedy.ts'

export type AttachPolicy = 'random' | 'bfs' | 'near'
export const ATTACH_POLICIES: readonly AttachPolicy[] = ['random', 'bfs', 'near']

export interface SimNode {
  readonly id: number
  address: Address
  /** Parent id; -1 for the root. */
  parent: number
  /** Child id per slot, -1 where free. Sized q; only `address.childSlots` are used. */
  readonly children: Int32Array
  readonly shortcuts: Set<number>
  alive: boolean
  /** Live nodes in this subtree, itself included. */
  size: number
  /** Depth of the shallowest free child slot in this subtree (Infinity if none). */
  minFree: number
  /** Neighbour list for routing, rebuilt when links change. */
  cachedNeighbours: Neighbour<number>[] | undefined
  /** Derived data (such as the DHT's weight table) and the overlay version it was made at. */
  derived: { readonly version: number; readonly value: unknown } | undefined
}

export interface SimOverlayInit {
  readonly q: number
  readonly attach: AttachPolicy
  /** Levels a `near` join climbs from its contact before descending. */
  readonly nearClimb?: number
}

export class SimOverlay {
  readonly q: number
  readonly attach: AttachPolicy
  readonly nearClimb: number
  readonly nodes: SimNode[] = []
  root = -1
  readonly #byKey = new Map<string, number>()
  #alive = 0
  /** Bumped on every change of membership or sizes, so that derived caches know to refresh. */
  version = 0
  #maxDepth: { version: number; depth: number } | undefined

  constructor(init: SimOverlayInit) {
    this.q = init.q
    this.attach = init.attach
    this.nearClimb = init.nearClimb ?? 3
  }

  get aliveCount(): number {
    return this.#alive
  }

  node(id: number): SimNode {
    return this.nodes[id] as SimNode
  }

  /** The live node at an address, if any. */
  at(address: Address): SimNode | undefined {
    const id = this.#byKey.get(address.key)
    return id === undefined ? undefined : this.nodes[id]
  }

  aliveIds(): number[] {
    const ids: number[] = []
    for (const n of this.nodes) if (n.alive) ids.push(n.id)
    return ids
  }

  /** Adds a node: the root if the overlay is empty, else by the attach policy. */
  join(rng: Rng): SimNode {
    this.version++
    const id = this.nodes.length
    const node: SimNode = {
      id,
      address: Address.root(this.q),
      parent: -1,
      children: new Int32Array(this.q).fill(-1),
      shortcuts: new Set(),
      alive: true,
      size: 1,
      minFree: 0,
      cachedNeighbours: undefined,
      derived: undefined,
    }
    this.nodes.push(node)
    this.#alive++
    if (this.root < 0) {
      this.root = id
      this.#recount(node, Address.root(this.q))
      return node
    }
    const contact = this.#randomMember(rng, () => true)
    const [parent, slot] = this.#placeFrom(contact, rng)
    this.#attach(node, parent, slot)
    return node
  }

  /** Where a join that contacts `contact` lands: a parent and a free slot. */
  #placeFrom(contact: SimNode, rng: Rng): [SimNode, number] {
    let host: SimNode
    switch (this.attach) {
      case 'random':
        host = this.#randomMember(rng, (n) => hasFreeSlot(n))
        break
      case 'bfs':
        host = this.#shallowestFree(this.node(this.root), rng)
        break
      case 'near': {
        let top = contact
        for (let i = 0; i < this.nearClimb && top.parent >= 0; i++) top = this.node(top.parent)
        while (top.minFree === Number.POSITIVE_INFINITY && top.parent >= 0)
          top = this.node(top.parent)
        host = this.#shallowestFree(top, rng)
        break
      }
    }
    const free: number[] = []
    for (let s = 0; s < host.address.childSlots; s++) if (host.children[s] === -1) free.push(s)
    return [host, rng.pick(free)]
  }

  #shallowestFree(top: SimNode, rng: Rng): SimNode {
    if (top.minFree === Number.POSITIVE_INFINITY)
      throw new Error('overlay is full (no free slot anywhere)')
    let cur = top
    const want = top.minFree
    for (;;) {
      if (cur.address.depth === want && hasFreeSlot(cur)) return cur
      const next: SimNode[] = []
      for (let s = 0; s < cur.address.childSlots; s++) {
        const c = cur.children[s] as number
        if (c >= 0 && this.node(c).minFree === want) next.push(this.node(c))
      }
      cur = rng.pick(next)
    }
  }

  #randomMember(rng: Rng, accept: (n: SimNode) => boolean): SimNode {
    // Rejection sampling stays cheap while most nodes are alive and most pass `accept`;
    // fall back to a scan when they do not.
    for (let tries = 0; tries < 64; tries++) {
      const n = this.nodes[rng.int(this.nodes.length)] as SimNode
      if (n.alive && this.#inTree(n) && accept(n)) return n
    }
    const all = this.nodes.filter((n) => n.alive && this.#inTree(n) && accept(n))
    return rng.pick(all)
  }

  /** Whether a live node is connected to the root through live tree links. */
  #inTree(n: SimNode): boolean {
    return this.#byKey.get(n.address.key) === n.id
  }

  #attach(node: SimNode, parent: SimNode, slot: number): void {
    node.parent = parent.id
    parent.children[slot] = node.id
    parent.cachedNeighbours = undefined
    node.cachedNeighbours = undefined
    this.#recount(node, parent.address.child(slot))
    this.#refreshUp(parent, node.size)
  }

  #ownMinFree(node: SimNode): number {
    let m = hasFreeSlot(node) ? node.address.depth : Number.POSITIVE_INFINITY
    for (let s = 0; s < node.address.childSlots; s++) {
      const c = node.children[s] as number
      if (c >= 0) m = Math.min(m, this.node(c).minFree)
    }
    return m
  }

  /** Adds `sizeDelta` to the sizes of `from` and its ancestors and refreshes minFree. */
  #refreshUp(from: SimNode, sizeDelta: number): void {
    let cur: SimNode | undefined = from
    while (cur !== undefined) {
      cur.size += sizeDelta
      cur.minFree = this.#ownMinFree(cur)
      cur = cur.parent >= 0 ? this.node(cur.parent) : undefined
    }
  }

  /** Adds a shortcut link if both ends are live, distinct, not yet linked and under `maxDegree`. */
  link(a: SimNode, b: SimNode, maxDegree: number): boolean {
    if (a.id === b.id || !a.alive || !b.alive) return false
    if (a.shortcuts.has(b.id) || a.parent === b.id || b.parent === a.id) return false
    if (this.degree(a) >= maxDegree || this.degree(b) >= maxDegree) return false
    a.shortcuts.add(b.id)
    b.shortcuts.add(a.id)
    a.cachedNeighbours = undefined
    b.cachedNeighbours = undefined
    return true
  }

  /** Links counted against the degree bound: every child slot (used or not), the parent, shortcuts. */
  degree(n: SimNode): number {
    return n.address.childSlots + (n.parent >= 0 ? 1 : 0) + n.shortcuts.size
  }

  /** The live neighbours of a node, as the router sees them. */
  neighbours(n: SimNode): Neighbour<number>[] {
    if (n.cachedNeighbours === undefined) {
      const list: Neighbour<number>[] = []
      const add = (id: number): void => {
        const m = this.node(id)
        if (m.alive) list.push({ id, address: m.address })
      }
      if (n.parent >= 0) add(n.parent)
      for (let s = 0; s < n.address.childSlots; s++) {
        const c = n.children[s] as number
        if (c >= 0) add(c)
      }
      for (const s of n.shortcuts) add(s)
      n.cachedNeighbours = list
    }
    return n.cachedNeighbours
  }

  /**
   * Kills the given nodes at once and repairs at once: `fail`, then `rejoin`
   * for every orphan in random order. Returns how many nodes changed address.
   */
  failAndRepair(ids: readonly number[], rng: Rng): { readdressed: number; orphans: number } {
    const before = this.addressKeys(ids)
    const orphans = rng.shuffle(this.fail(ids))
    for (const o of orphans) this.rejoin(o, rng)
    return { readdressed: this.countReaddressed(before), orphans: orphans.length }
  }

  /** The address key of every live node not in `except`: a snapshot to compare against later. */
  addressKeys(except: readonly number[] = []): Map<number, string> {
    const skip = new Set(except)
    const keys = new Map<number, string>()
    for (const n of this.nodes) if (n.alive && !skip.has(n.id)) keys.set(n.id, n.address.key)
    return keys
  }

  /** How many nodes of a snapshot (`addressKeys`) have a different address now. */
  countReaddressed(before: ReadonlyMap<number, string>): number {
    let changed = 0
    for (const [id, key] of before) if (this.node(id).address.key !== key) changed++
    return changed
  }

  /**
   * Kills the given nodes at once. If the root died, its live child in the
   * lowest slot becomes the root (its subtree re-addressed from the origin).
   * Returns the live nodes whose parent died: each heads a subtree that is cut
   * off from the tree, keeps its stale addresses, and must `rejoin`.
   */
  fail(ids: readonly number[]): SimNode[] {
    this.version++
    const orphans = this.#kill(ids)
    if (!this.node(this.root).alive) this.#electRoot(orphans)
    this.#byKey.clear()
    this.#recount(this.node(this.root), Address.root(this.q))
    return orphans
  }

  /**
   * An orphan re-joins with its whole subtree through a member it knows (a
   * shortcut neighbour still in the tree, else a random member), placed by the
   * attach policy; the subtree takes the matching new addresses. Returns the
   * contact and the new parent, for the caller's latency model.
   */
  rejoin(orphan: SimNode, rng: Rng): { contact: SimNode; parent: SimNode } {
    this.version++
    const known = [...orphan.shortcuts]
      .map((s) => this.node(s))
      .filter((s) => s.alive && this.#inTree(s))
    const contact = known.length > 0 ? rng.pick(known) : this.#randomMember(rng, () => true)
    const [parent, slot] = this.#placeFrom(contact, rng)
    this.#attach(orphan, parent, slot)
    return { contact, parent }
  }

  /** Marks nodes dead and unlinks them; returns their live children, now orphans. */
  #kill(ids: readonly number[]): SimNode[] {
    for (const id of ids) {
      const n = this.node(id)
      if (n.alive) this.#alive--
      n.alive = false
    }
    const orphans: SimNode[] = []
    for (const id of ids) {
      const n = this.node(id)
      if (n.parent >= 0) {
        const p = this.node(n.parent)
        const slot = p.children.indexOf(id)
        if (slot >= 0) p.children[slot] = -1
        p.cachedNeighbours = undefined
      }
      for (let s = 0; s < n.children.length; s++) {
        const c = n.children[s] as number
        if (c >= 0 && this.node(c).alive) orphans.push(this.node(c))
        n.children[s] = -1
      }
      for (const s of n.shortcuts) {
        this.node(s).shortcuts.delete(id)
        this.node(s).cachedNeighbours = undefined
      }
      n.shortcuts.clear()
    }
    for (const o of orphans) o.parent = -1
    return orphans
  }

  /**
   * The root died: its live child in the lowest slot takes over (failing that,
   * the largest orphan), and is removed from the orphans that must re-join.
   */
  #electRoot(orphans: SimNode[]): void {
    if (orphans.length === 0) throw new Error('every node failed')
    orphans.sort(
      (a, b) => a.address.depth - b.address.depth || (a.address.key < b.address.key ? -1 : 1),
    )
    const first = orphans[0] as SimNode
    const heir = first.address.depth === 1 ? first : largest(orphans)
    orphans.splice(orphans.indexOf(heir), 1)
    this.root = heir.id
  }

  /** (Re-)addresses the subtree under `n` from `address` and recomputes sizes and minFree. */
  #recount(n: SimNode, address: Address): void {
    n.address = address
    n.cachedNeighbours = undefined
    for (const s of n.shortcuts) this.node(s).cachedNeighbours = undefined
    this.#byKey.set(address.key, n.id)
    n.size = 1
    for (let s = 0; s < address.childSlots; s++) {
      const c = n.children[s] as number
      if (c < 0) continue
      const child = this.node(c)
      this.#recount(child, address.child(s))
      n.size += child.size
    }
    n.minFree = this.#ownMinFree(n)
  }

  /** Depth of the deepest live node (cached until the overlay changes). */
  maxDepth(): number {
    if (this.#maxDepth?.version !== this.version) {
      let d = 0
      for (const n of this.nodes) if (n.alive) d = Math.max(d, n.address.depth)
      this.#maxDepth = { version: this.version, depth: d }
    }
    return this.#maxDepth.depth
  }
}

export function hasFreeSlot(n: SimNode): boolean {
  for (let s = 0; s < n.address.childSlots; s++) if (n.children[s] === -1) return true
  return false
}

function largest(nodes: readonly SimNode[]): SimNode {
  let best = nodes[0] as SimNode
  for (const n of nodes) if (n.size > best.size) best = n
  return best
}
