import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'

describe('Rng', () => {
  it('is a function of its seed', () => {
    const a = new Rng(42)
    const b = new Rng(42)
    const c = new Rng(43)
    const xs = Array.from({ length: 100 }, () => a.nextU32())
    assert.deepEqual(
      xs,
      Array.from({ length: 100 }, () => b.nextU32()),
    )
    assert.notDeepEqual(
      xs,
      Array.from({ length: 100 }, () => c.nextU32()),
    )
  })

  it('draws integers in range, roughly uniformly', () => {
    const rng = new Rng(1)
    const counts = new Array(10).fill(0)
    for (let i = 0; i < 100_000; i++) {
      const v = rng.int(10)
      assert.ok(Number.isInteger(v) && v >= 0 && v < 10)
      counts[v]++
    }
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `${counts}`)
  })

  it('shuffles into a permutation and picks members', () => {
    const rng = new Rng(7)
    const xs = Array.from({ length: 50 }, (_, i) => i)
    const ys = rng.shuffle([...xs])
    assert.notDeepEqual(ys, xs)
    assert.deepEqual(
      [...ys].sort((p, q) => p - q),
      xs,
    )
    assert.ok(xs.includes(rng.pick(xs)))
    assert.throws(() => rng.pick([]), RangeError)
  })
})
