import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { keyPoint, unitDraw } from '../../src/dht/key-hash.ts'
import {
  estimatedWalkDistance,
  KEY_DEPTH,
  naiveTarget,
  OWN_WEIGHT,
  quantizeWeight,
  type WeightTable,
  walkStep,
} from '../../src/dht/placement.ts'
import { Address } from '../../src/overlay/address.ts'
import { DhtModel, lookup, ownerOf, ownersOf, weightTable } from '../../src/sim/dht.ts'
import { type SimNode, SimOverlay } from '../../src/sim/overlay.ts'
import { addShortcuts } from '../../src/sim/shortcuts.ts'

function overlay(n: number, attach: 'random' | 'near' = 'random', seed = 1): SimOverlay {
  const rng = new Rng(seed)
  const o = new SimOverlay({ q: 4, attach })
  for (let i = 0; i < n; i++) o.join(rng)
  addShortcuts(o, { policy: 'local', perNode: 4, maxDegree: 8 }, new Rng(seed + 1))
  return o
}

describe('key hashing', () => {
  it('is a fixed function of the key (golden values)', () => {
    const p = keyPoint('alice', 0)
    assert.deepEqual(p, keyPoint(new TextEncoder().encode('alice'), 0))
    assert.notDeepEqual(p, keyPoint('alice', 1))
    // Changing these moves every record in a deployed overlay: they are part of the contract.
    assert.deepEqual(p, { h1: 0x0d4ff2b3, h2: 0x25cf9da4 }) // SHA-256('semos/dht/v1' ‖ 0x00 ‖ 'alice')[0..8]
    assert.equal(unitDraw(p, 0, 0).toFixed(12), '0.531162630417')
  })

  it('rejects replica indices outside a byte', () => {
    assert.throws(() => keyPoint('k', 256), RangeError)
    assert.throws(() => keyPoint('k', -1), RangeError)
  })

  it('draws uniform numbers strictly inside (0, 1)', () => {
    let sum = 0
    for (let i = 0; i < 20_000; i++) {
      const u = unitDraw(keyPoint(String(i), 0), i % 7, i % 5)
      assert.ok(u > 0 && u < 1)
      sum += u
    }
    assert.ok(Math.abs(sum / 20_000 - 0.5) < 0.01)
  })
})

describe('placement', () => {
  it('quantizes weights on a log scale, exactly for small subtrees', () => {
    for (let s = 0; s <= 16; s++) assert.equal(quantizeWeight(s), s)
    let prev = 16
    for (let s = 17; s < 100_000; s += 37) {
      const w = quantizeWeight(s)
      assert.ok(w <= s && w > s / 1.1, `${s} -> ${w}`)
      assert.ok(w >= prev)
      prev = w
    }
  })

  for (const [ownWeight, expected] of [
    [1, [0.1, 0.3, 0.6]], // self : slot 0 : slot 2 = 1 : 3 : 6
    [OWN_WEIGHT, [0.25, 0.25, 0.5]], // = 3 : 3 : 6
  ] as const) {
    it(`walks in proportion to weights (own weight ${ownWeight}) and never into an empty slot`, () => {
      const table = { address: Address.root(4), childWeights: [3, 0, 6, 0] }
      const counts = new Map<string | number, number>()
      for (let i = 0; i < 30_000; i++) {
        const step = walkStep(table, keyPoint(`k${i}`, 0), ownWeight)
        counts.set(step, (counts.get(step) ?? 0) + 1)
      }
      assert.equal(counts.get(1), undefined)
      assert.equal(counts.get(3), undefined)
      const [self, slot0, slot2] = expected
      assert.ok(Math.abs((counts.get('self') ?? 0) / 30_000 - self) < 0.012)
      assert.ok(Math.abs((counts.get(0) ?? 0) / 30_000 - slot0) < 0.015)
      assert.ok(Math.abs((counts.get(2) ?? 0) / 30_000 - slot2) < 0.015)
    })
  }

  it('uses OWN_WEIGHT by default (the placement contract: κ = 3)', () => {
    assert.equal(OWN_WEIGHT, 3)
    const table = { address: Address.root(4), childWeights: [5, 0, 2, 9] }
    for (let i = 0; i < 500; i++) {
      const p = keyPoint(`d${i}`, i % 3)
      assert.equal(walkStep(table, p), walkStep(table, p, OWN_WEIGHT))
    }
  })

  it('expects no node to own more than OWN_WEIGHT times the fair share, on any tree', () => {
    // Exact expected shares, from the walk's probabilities, for exact subtree sizes.
    for (const attach of ['random', 'near'] as const) {
      const o = overlay(3000, attach, 5)
      const n = o.aliveCount
      const share = expectedShares(o, (m) => exactTable(o, m), OWN_WEIGHT)
      let total = 0
      let max = 0
      for (const x of share.values()) {
        total += x
        max = Math.max(max, x * n)
      }
      assert.ok(Math.abs(total - 1) < 1e-9, `shares sum to ${total}`)
      assert.ok(max <= OWN_WEIGHT + 1e-9, `${attach}: busiest node expects ${max}× the fair share`)
      assert.ok(max > 0.9 * OWN_WEIGHT, `${attach}: the top of the tree takes close to κ× (${max})`)
      for (const m of o.nodes) assert.ok((share.get(m.id) as number) > 0, 'every node may own')
      // With own weight 1 the shares are exactly fair.
      for (const x of expectedShares(o, (m) => exactTable(o, m), 1).values()) {
        assert.ok(Math.abs(x * n - 1) < 1e-9)
      }
    }
  })

  it('puts owners higher in the tree than a uniform walk does', () => {
    const o = overlay(3000, 'random', 5)
    const meanOwnerDepth = (ownWeight: number): number => {
      const share = expectedShares(o, (m) => weightTable(o, m), ownWeight)
      let d = 0
      for (const m of o.nodes) d += (share.get(m.id) as number) * m.address.depth
      return d
    }
    let uniform = 0
    for (const m of o.nodes) uniform += m.address.depth / o.nodes.length
    assert.ok(Math.abs(meanOwnerDepth(1) - uniform) < 0.2, 'own weight 1: a uniform owner')
    assert.ok(
      meanOwnerDepth(OWN_WEIGHT) < uniform - 0.5,
      `owners at mean depth ${meanOwnerDepth(OWN_WEIGHT)}, nodes at ${uniform}`,
    )
  })

  it('estimates the rest of an unknown walk from the subtree size over OWN_WEIGHT', () => {
    const from = Address.root(4).child(0).child(1)
    const top = Address.root(4).child(2)
    assert.equal(estimatedWalkDistance(from, { address: top, owner: true, weight: 1000 }), 3)
    const d = estimatedWalkDistance(from, { address: top, owner: false, weight: 1000 })
    assert.ok(Math.abs(d - (3 + Math.log(1000 / OWN_WEIGHT))) < 1e-12)
    assert.equal(estimatedWalkDistance(from, { address: top, owner: false, weight: 2 }), 3)
  })

  it('gives every key a valid naive target KEY_DEPTH levels deep', () => {
    for (let q = 3; q < 12; q++) {
      const t = naiveTarget(q, keyPoint(`q${q}`, 0))
      assert.equal(t.depth, KEY_DEPTH)
    }
  })

  for (const kind of ['naive', 'balanced'] as const) {
    it(`${kind}: every node that asks finds the same owner`, () => {
      const o = overlay(1500)
      const rng = new Rng(7)
      const ids = o.aliveIds()
      for (let k = 0; k < 60; k++) {
        const point = keyPoint(`key-${k}`, k % 3)
        const owner = ownerOf(o, kind, point)
        for (let s = 0; s < 15; s++) {
          const r = lookup(o, kind, o.node(rng.pick(ids)), point)
          assert.ok(r.ok)
          assert.equal(
            r.at.id,
            owner.id,
            `${kind} key ${k}: lookup ended at ${r.at.address}, owner ${owner.address}`,
          )
        }
      }
    })

    it(`${kind}: puts R replicas on distinct nodes`, () => {
      const o = overlay(500)
      for (let k = 0; k < 200; k++) {
        const owners = ownersOf(o, kind, `key-${k}`, 3)
        assert.equal(owners.length, 3)
        assert.equal(new Set(owners.map((n) => n.id)).size, 3)
      }
    })
  }

  it('balanced: the most loaded node holds a small multiple of the fair share', () => {
    const o = overlay(2000, 'random')
    const naive = new DhtModel(o, 'naive', 20, 3)
    naive.publishAll()
    const balanced = new DhtModel(o, 'balanced', 20, 3)
    balanced.publishAll()
    assert.ok(naive.load().maxOverFair > 10, 'the naive placement is skewed on a random tree')
    // Expected at most OWN_WEIGHT (3)×, plus chance: 60 records per node on average.
    assert.ok(balanced.load().maxOverFair < 5, `balanced max/fair ${balanced.load().maxOverFair}`)
    assert.ok(balanced.load().emptyShare < 0.01, `empty ${balanced.load().emptyShare}`)
  })
})

describe('handover', () => {
  for (const kind of ['naive', 'balanced'] as const) {
    it(`${kind}: after joins, records move to their new owners and every get succeeds`, () => {
      const rng = new Rng(11)
      const o = new SimOverlay({ q: 4, attach: 'near' })
      for (let i = 0; i < 800; i++) o.join(rng)
      const model = new DhtModel(o, kind, 10, 3)
      model.publishAll()
      for (let i = 0; i < 200; i++) o.join(rng)
      // Before handover, some owners changed: gets for their records would miss.
      const stale = model.gets(2000, new Rng(1))
      const h = model.handover()
      assert.equal(h.lost, 0)
      assert.ok(h.moved > 0)
      assert.ok(stale.successRatio < 1, 'joins changed some owners')
      assert.equal(model.gets(2000, new Rng(1)).successRatio, 1)
    })

    it(`${kind}: after 10% fail, records with a live replica survive and re-publishing restores all`, () => {
      const o = overlay(2000, 'near')
      const model = new DhtModel(o, kind, 10, 3)
      model.publishAll()
      const rng = new Rng(3)
      o.failAndRepair(rng.shuffle(o.aliveIds()).slice(0, 200), rng)
      const h = model.handover()
      // With three independent replicas, about 0.1% of records lose all of theirs.
      assert.ok(h.lost / model.records < 0.005, `lost ${h.lost} of ${model.records}`)
      model.publishAll()
      assert.equal(model.gets(3000, new Rng(4)).successRatio, 1)
    })
  }
})

/** A node's table with exact subtree sizes as weights (no quantization). */
function exactTable(o: SimOverlay, n: SimNode): WeightTable {
  const childWeights: number[] = []
  for (let s = 0; s < n.address.childSlots; s++) {
    const c = n.children[s] as number
    childWeights.push(c >= 0 ? o.node(c).size : 0)
  }
  return { address: n.address, childWeights }
}

/**
 * The probability that the balanced walk of a random key ends at each node,
 * computed from the walk's rule (own weight against the children's weights)
 * rather than sampled.
 */
function expectedShares(
  o: SimOverlay,
  tableOf: (n: SimNode) => WeightTable,
  ownWeight: number,
): Map<number, number> {
  const share = new Map<number, number>()
  const visit = (n: SimNode, mass: number): void => {
    const weights = tableOf(n).childWeights
    let total = ownWeight
    for (let s = 0; s < weights.length; s++) total += weights[s] as number
    share.set(n.id, (mass * ownWeight) / total)
    for (let s = 0; s < weights.length; s++) {
      const w = weights[s] as number
      if (w > 0) visit(o.node(n.children[s] as number), (mass * w) / total)
    }
  }
  visit(o.node(o.root), 1)
  return share
}
