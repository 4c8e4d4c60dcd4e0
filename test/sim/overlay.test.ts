import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { ATTACH_POLICIES, SimOverlay } from '../../src/sim/overlay.ts'
import { measureRouting, measureStretch } from '../../src/sim/routing.ts'
import { addShortcuts, SHORTCUT_POLICIES } from '../../src/sim/shortcuts.ts'
import { assertTreeInvariants } from './helpers.ts'

function grow(n: number, attach: (typeof ATTACH_POLICIES)[number], seed = 1, q = 4): SimOverlay {
  const rng = new Rng(seed)
  const o = new SimOverlay({ q, attach })
  for (let i = 0; i < n; i++) o.join(rng)
  return o
}

describe('simulated overlay', () => {
  for (const attach of ATTACH_POLICIES) {
    it(`grows a valid tree by ${attach} joins`, () => {
      const o = grow(3000, attach)
      assertTreeInvariants(o)
      assert.equal(o.aliveCount, 3000)
    })
  }

  it('keeps breadth-first trees as shallow as possible', () => {
    // q=4: the root has 4 children, every other node 3, so depth d holds 4·3^(d-1) nodes.
    const o = grow(1 + 4 + 12 + 36 + 108 + 1, 'bfs')
    assert.equal(o.maxDepth(), 5)
  })

  it('keeps near joins much shallower than random ones', () => {
    assert.ok(grow(5000, 'near').maxDepth() < grow(5000, 'random').maxDepth())
  })

  it('is deterministic for a seed', () => {
    const a = grow(500, 'near', 42)
    const b = grow(500, 'near', 42)
    assert.deepEqual(
      a.nodes.map((n) => n.address.key),
      b.nodes.map((n) => n.address.key),
    )
  })

  for (const policy of SHORTCUT_POLICIES) {
    it(`routes every pair with ${policy} shortcuts, within the degree bound`, () => {
      const o = grow(2000, 'near')
      addShortcuts(o, { policy, perNode: 4, maxDegree: 8 }, new Rng(2))
      for (const n of o.nodes) assert.ok(o.degree(n) <= 8)
      const r = measureRouting(o, 2000, new Rng(3))
      assert.equal(r.successRatio, 1, r.failures.join('\n'))
      const s = measureStretch(o, 5, 20, new Rng(4))
      assert.ok(s.stretch.mean >= 1)
    })
  }

  it('repairs after 10% fail at once, the root among them', () => {
    const o = grow(3000, 'random')
    addShortcuts(o, { policy: 'local', perNode: 4, maxDegree: 8 }, new Rng(2))
    const rng = new Rng(5)
    const victims = rng.shuffle(o.aliveIds().filter((id) => id !== o.root)).slice(0, 299)
    victims.push(o.root)
    const oldRoot = o.root
    const repair = o.failAndRepair(victims, rng)
    assert.notEqual(o.root, oldRoot)
    assert.ok(repair.orphans > 0)
    assert.ok(repair.readdressed >= repair.orphans)
    assert.equal(o.aliveCount, 2700)
    assertTreeInvariants(o)
    for (const n of o.nodes) if (n.alive) for (const s of n.shortcuts) assert.ok(o.node(s).alive)
    const r = measureRouting(o, 3000, new Rng(6))
    assert.equal(r.successRatio, 1, r.failures.join('\n'))
  })
})
