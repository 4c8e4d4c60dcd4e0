import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { Address } from '../../src/overlay/address.ts'
import { diskPosition, hyperbolicDistance, pathLogCosh } from '../../src/overlay/geometry.ts'
import { exactBitsFor, exactCoshSquared } from '../../src/overlay/geometry-exact.ts'

function textbookDistance(a: Address, b: Address): number {
  const [ar, ai] = diskPosition(a)
  const [br, bi] = diskPosition(b)
  const num = (ar - br) ** 2 + (ai - bi) ** 2
  return Math.acosh(1 + (2 * num) / ((1 - ar * ar - ai * ai) * (1 - br * br - bi * bi)))
}

function randomAddress(rng: Rng, q: number, depth: number): Address {
  const slots: number[] = []
  for (let k = 0; k < depth; k++) slots.push(rng.int(k === 0 ? q : q - 1))
  return Address.fromSlots(q, slots)
}

describe('geometry', () => {
  it('puts every child one edge length ℓ_q from its parent', () => {
    for (const q of [3, 4, 7, 16]) {
      const edge = 2 * Math.log(1 / Math.tan(Math.PI / (2 * q)))
      const a = randomAddress(new Rng(q), q, 9)
      for (let s = 0; s < a.childSlots; s++) {
        assert.ok(Math.abs(hyperbolicDistance(a, a.child(s)) - edge) < 1e-9, `q=${q}`)
      }
    }
  })

  it('agrees with the textbook formula on coordinates where float64 still holds', () => {
    const rng = new Rng(7)
    for (let i = 0; i < 300; i++) {
      const q = 3 + rng.int(6)
      const a = randomAddress(rng, q, rng.int(6))
      const b = randomAddress(rng, q, rng.int(6))
      const want = textbookDistance(a, b)
      const got = hyperbolicDistance(a, b)
      assert.ok(Math.abs(got - want) < 1e-6 * (1 + want), `${a} ${b}: ${got} vs ${want}`)
    }
  })

  it('keeps the float64 value within its stated error of the exact value', () => {
    const rng = new Rng(11)
    for (let i = 0; i < 200; i++) {
      const q = 3 + rng.int(10)
      const a = randomAddress(rng, q, rng.int(60))
      const b = randomAddress(rng, q, rng.int(60))
      const f = pathLogCosh(a, b)
      const bits = exactBitsFor(q, a.treeDistance(b))
      const exact = exactCoshSquared(a, b, bits)
      // ln|α| = (ln(exact) - 2·bits·ln2) / 2, from the bit length and the top 53 bits.
      const len = exact.toString(2).length
      const top = Number(exact >> BigInt(Math.max(0, len - 60)))
      const lnExact = (Math.log(top) + Math.max(0, len - 60) * Math.LN2 - 2 * bits * Math.LN2) / 2
      assert.ok(
        Math.abs(f.value - lnExact) <= f.error + 1e-12,
        `${a} ${b}: ${f.value} vs ${lnExact}`,
      )
    }
  })

  it('does not overflow on paths thousands of levels long', () => {
    const q = 4
    const deep = Address.fromSlots(q, new Array(2000).fill(1))
    const edge = 2 * Math.log(1 / Math.tan(Math.PI / (2 * q)))
    const d = hyperbolicDistance(Address.root(q), deep)
    assert.ok(Number.isFinite(d))
    // A straight path through the middle slot is a geodesic: distance = depth × ℓ_q.
    assert.ok(Math.abs(d - 2000 * edge) < 1e-6 * d, `${d} vs ${2000 * edge}`)
  })
})
