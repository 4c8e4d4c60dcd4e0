import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { keyPoint, unitDraw } from '../../src/dht/key-hash.ts'
import { KEY_DEPTH, naiveTarget, quantizeWeight, walkStep } from '../../src/dht/placement.ts'
import { Address } from '../../src/overlay/address.ts'
import { DhtModel, lookup, ownerOf, ownersOf } from '../../src/sim/dht.ts'
import { SimOverlay } from '../../src/sim/overlay.ts'
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

  it('walks in proportion to weights and never into an empty slot', () => {
    const table = { address: Address.root(4), childWeights: [3, 0, 6, 0] }
    const counts = new Map<string | number, number>()
    for (let i = 0; i < 30_000; i++) {
      const step = walkStep(table, keyPoint(`k${i}`, 0))
      counts.set(step, (counts.get(step) ?? 0) + 1)
    }
    assert.equal(counts.get(1), undefined)
    assert.equal(counts.get(3), undefined)
    // self : slot 0 : slot 2 = 1 : 3 : 6
    assert.ok(Math.abs((counts.get('self') ?? 0) / 30_000 - 0.1) < 0.01)
    assert.ok(Math.abs((counts.get(0) ?? 0) / 30_000 - 0.3) < 0.015)
    assert.ok(Math.abs((counts.get(2) ?? 0) / 30_000 - 0.6) < 0.015)
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
    assert.ok(balanced.load().maxOverFair < 2.5, `balanced max/fair ${balanced.load().maxOverFair}`)
    assert.equal(balanced.load().emptyShare, 0)
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
