import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { Address } from '../../src/overlay/address.ts'
import { pathLogCosh } from '../../src/overlay/geometry.ts'
import { exactBitsFor, exactCoshSquared } from '../../src/overlay/geometry-exact.ts'
import {
  exactNextHop,
  type GreedyStats,
  greedyNextHop,
  type Neighbour,
} from '../../src/overlay/greedy.ts'
import { GreedyRouter } from '../../src/overlay/router.ts'

/** A tree given as a list of addresses; neighbours are tree links only (or plus extra links). */
class Tree {
  readonly byKey = new Map<string, Address>()
  readonly extra = new Map<string, Address[]>()
  add(a: Address): void {
    this.byKey.set(a.key, a)
  }
  neighbours(a: Address): Neighbour<string>[] {
    const out: Neighbour<string>[] = []
    const p = a.parent()
    if (p && this.byKey.has(p.key)) out.push({ id: p.key, address: p })
    for (let s = 0; s < a.childSlots; s++) {
      const c = a.child(s)
      if (this.byKey.has(c.key)) out.push({ id: c.key, address: c })
    }
    for (const e of this.extra.get(a.key) ?? []) out.push({ id: e.key, address: e })
    return out
  }
  route(
    src: Address,
    dest: Address,
    stats?: GreedyStats,
  ): { ok: boolean; hops: number; at: Address } {
    let cur = src
    for (let hops = 0; hops < 10_000; hops++) {
      const d = greedyNextHop(cur, this.neighbours(cur), dest, stats)
      if (d.kind === 'deliver') return { ok: true, hops, at: cur }
      if (d.kind === 'no-progress') return { ok: false, hops, at: cur }
      cur = d.next.address
    }
    return { ok: false, hops: 10_000, at: cur }
  }
}

describe('greedy routing', () => {
  it('routes along a winding path-shaped tree of depth 1,000 between random pairs', () => {
    const rng = new Rng(1000)
    const tree = new Tree()
    let a = Address.root(4)
    tree.add(a)
    const path = [a]
    for (let d = 0; d < 1000; d++) {
      a = a.child(rng.int(a.childSlots))
      tree.add(a)
      path.push(a)
    }
    const stats: GreedyStats = { floatDecisions: 0, exactDecisions: 0 }
    for (let i = 0; i < 12; i++) {
      const src = path[rng.int(path.length)] as Address
      const dst = path[rng.int(path.length)] as Address
      const r = tree.route(src, dst, stats)
      assert.ok(r.ok, `${src.depth} -> ${dst.depth} stopped at ${r.at.depth}`)
      assert.equal(r.hops, src.treeDistance(dst))
    }
    // The deepest pair of all, end to end.
    const r = tree.route(path[1000] as Address, path[0] as Address, stats)
    assert.ok(r.ok && r.hops === 1000)
    assert.ok(stats.floatDecisions > 0)
  })

  it('routes between random pairs of a random tree, with and without shortcuts', () => {
    const rng = new Rng(5)
    const tree = new Tree()
    const nodes = [Address.root(5)]
    tree.add(nodes[0] as Address)
    while (nodes.length < 3000) {
      const p = rng.pick(nodes)
      const c = p.child(rng.int(p.childSlots))
      if (tree.byKey.has(c.key)) continue
      tree.add(c)
      nodes.push(c)
    }
    for (let i = 0; i < 500; i++) {
      const src = rng.pick(nodes)
      const dst = rng.pick(nodes)
      const r = tree.route(src, dst)
      assert.ok(r.ok)
      assert.equal(r.hops, src.treeDistance(dst), 'tree links only: greedy follows the tree path')
    }
    for (const n of nodes)
      tree.extra.set(
        n.key,
        [rng.pick(nodes), rng.pick(nodes)].filter((m) => m.key !== n.key),
      )
    for (const n of nodes)
      for (const m of tree.extra.get(n.key) ?? []) tree.extra.get(m.key)?.push(n)
    for (let i = 0; i < 500; i++) {
      const src = rng.pick(nodes)
      const dst = rng.pick(nodes)
      const r = tree.route(src, dst)
      assert.ok(r.ok)
      assert.ok(r.hops <= src.treeDistance(dst), 'shortcuts never lengthen a route')
    }
  })

  it('stops, and says so, when the destination is not in the overlay', () => {
    const tree = new Tree()
    const root = Address.root(4)
    tree.add(root)
    tree.add(root.child(1))
    const r = tree.route(root.child(1), root.child(2).child(0))
    assert.equal(r.ok, false)
    assert.ok(r.at.equals(root), 'the deepest present ancestor of the destination')
  })

  it('never calls a tie progress, and agrees with the exact evaluation', () => {
    // Siblings are exactly as far from their parent: neither is progress for the other.
    const p = Address.fromSlots(4, [2, 1])
    const a = p.child(0)
    const b = p.child(2)
    const d = greedyNextHop(a, [{ id: 'b', address: b }], p)
    assert.equal(d.kind, 'no-progress')
    const rng = new Rng(3)
    for (let i = 0; i < 300; i++) {
      const q = 3 + rng.int(5)
      const mk = (): Address => {
        const slots: number[] = []
        const depth = rng.int(12)
        for (let k = 0; k < depth; k++) slots.push(rng.int(k === 0 ? q : q - 1))
        return Address.fromSlots(q, slots)
      }
      const self = mk()
      const dest = mk()
      const ns = [mk(), mk(), mk()].map((address, j) => ({ id: j, address }))
      const fast = greedyNextHop(self, ns, dest)
      const slow = exactNextHop(self, ns, dest)
      assert.equal(fast.kind, slow.kind)
      if (fast.kind === 'forward' && slow.kind === 'forward') {
        // Both picks must be eligible; with distinct tree-hop counts they are the same node.
        const bits = exactBitsFor(q, 64)
        const mine = exactCoshSquared(self, dest, bits)
        assert.ok(exactCoshSquared(fast.next.address, dest, bits) < mine)
      }
    }
  })

  it('keeps the refined error bound honest on long winding paths', () => {
    const rng = new Rng(9)
    for (let i = 0; i < 20; i++) {
      const slots: number[] = []
      for (let k = 0; k < 150; k++) slots.push(rng.int(k === 0 ? 4 : 3))
      const a = Address.fromSlots(4, slots)
      const b = Address.fromSlots(4, slots.slice(0, rng.int(150)).concat([rng.int(3), rng.int(3)]))
      const f = pathLogCosh(a, b, true)
      assert.ok(f.error < 1e-9, `refined bound ${f.error} should certify`)
      const bits = exactBitsFor(4, a.treeDistance(b))
      const exact = exactCoshSquared(a, b, bits)
      const len = exact.toString(2).length
      const top = Number(exact >> BigInt(Math.max(0, len - 60)))
      const lnExact = (Math.log(top) + Math.max(0, len - 60) * Math.LN2 - 2 * bits * Math.LN2) / 2
      assert.ok(Math.abs(f.value - lnExact) <= f.error + 1e-12)
    }
  })
})

describe('GreedyRouter', () => {
  it('answers a repeated destination from its cache and forgets when links change', () => {
    const root = Address.root(4)
    const router = new GreedyRouter<string>(root.child(0))
    router.setNeighbours([{ id: 'root', address: root }])
    const dest = root.child(3).child(1)
    const first = router.route(dest)
    const second = router.route(dest)
    assert.equal(first.kind, 'forward')
    assert.equal(second, first)
    assert.equal(router.stats.cacheHits, 1)
    assert.equal(router.stats.cacheMisses, 1)
    router.removeNeighbour('root')
    assert.equal(router.route(dest).kind, 'no-progress')
    assert.equal(router.stats.cacheMisses, 2)
  })

  it('bounds its cache, evicting the oldest destination first', () => {
    const root = Address.root(4)
    const router = new GreedyRouter<string>(root, { cacheEntries: 8 })
    router.setNeighbours([{ id: 'c', address: root.child(0) }])
    const dests = Array.from({ length: 9 }, (_, i) =>
      root
        .child(i % 4)
        .child(i % 3)
        .child(Math.floor(i / 3) % 3),
    )
    assert.equal(new Set(dests.map((d) => d.key)).size, 9)
    for (const d of dests.slice(0, 8)) router.route(d)
    router.route(dests[0] as Address)
    assert.equal(router.stats.cacheHits, 1, 'eight destinations fit')
    router.route(dests[8] as Address) // evicts dests[0], the oldest
    router.route(dests[0] as Address)
    assert.equal(router.stats.cacheMisses, 10)
  })
})
