import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ReplayWindow } from '../../src/session/replay-window.ts'

describe('replay window', () => {
  it('accepts in order, refuses duplicates as replayed', () => {
    const w = new ReplayWindow(64)
    for (let s = 0n; s < 200n; s++) assert.equal(w.accept(s), 'new')
    assert.equal(w.check(199n), 'replayed')
    assert.equal(w.accept(150n), 'replayed')
    assert.equal(w.top, 199n)
  })

  it('accepts reordering inside the window once each, refuses below it as too-old', () => {
    const w = new ReplayWindow(64)
    assert.equal(w.accept(100n), 'new')
    assert.equal(w.accept(37n), 'new') // 100 - 37 = 63 < 64
    assert.equal(w.accept(37n), 'replayed')
    assert.equal(w.accept(36n), 'too-old')
    assert.equal(w.accept(99n), 'new')
    assert.equal(w.accept(99n), 'replayed')
  })

  it('a jump beyond the window forgets everything below it', () => {
    const w = new ReplayWindow(32)
    for (let s = 0n; s < 10n; s++) w.accept(s)
    assert.equal(w.accept(1000n), 'new')
    assert.equal(w.accept(969n), 'new')
    assert.equal(w.accept(968n), 'too-old')
    assert.equal(w.accept(5n), 'too-old')
  })

  it('check never changes state', () => {
    const w = new ReplayWindow(32)
    assert.equal(w.check(5n), 'new')
    assert.equal(w.check(5n), 'new')
    assert.equal(w.top, -1n)
  })

  it('rejects sizes that are not positive multiples of 32', () => {
    for (const bad of [0, -32, 33, 1.5]) assert.throws(() => new ReplayWindow(bad), RangeError)
  })

  it('agrees with a set-based model on random sequences (fast-check)', () => {
    const size = 64
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), (seqs) => {
        const w = new ReplayWindow(size)
        const seen = new Set<number>()
        let top = -1
        for (const s of seqs) {
          const expected =
            s > top ? 'new' : top - s >= size ? 'too-old' : seen.has(s) ? 'replayed' : 'new'
          assert.equal(w.accept(BigInt(s)), expected)
          if (expected === 'new') {
            seen.add(s)
            top = Math.max(top, s)
          }
        }
      }),
    )
  })
})
