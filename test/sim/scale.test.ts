import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { SimOverlay } from '../../src/sim/overlay.ts'
import { measureRouting } from '../../src/sim/routing.ts'
import { assertTreeInvariants } from './helpers.ts'

describe('scale', () => {
  it('routes random pairs of a random 100,000-node tree with 100% success', () => {
    // Random attach gives the deepest trees (beyond float64's reach for q = 4).
    const rng = new Rng(100_000)
    const o = new SimOverlay({ q: 4, attach: 'random' })
    for (let i = 0; i < 100_000; i++) o.join(rng)
    assertTreeInvariants(o)
    // As deep as float64 coordinates reach for q = 4 (CLOAK-notes §2: first wrong
    // decision at depth 26), so this exercises the path arithmetic where it matters.
    assert.ok(o.maxDepth() >= 26, `depth ${o.maxDepth()}`)
    const r = measureRouting(o, 3000, rng)
    assert.equal(r.successRatio, 1, r.failures.join('\n'))
  })
})
