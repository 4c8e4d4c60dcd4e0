import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../src/sim/clock.ts'

describe('VirtualClock', () => {
  it('runs events in time order, ties in scheduling order', () => {
    const clock = new VirtualClock()
    const seen: string[] = []
    clock.schedule(30, () => seen.push('c'))
    clock.schedule(10, () => seen.push('a'))
    clock.schedule(10, () => seen.push('b'))
    clock.schedule(20, () => {
      seen.push('x')
      clock.schedule(5, () => seen.push('y')) // at 25, before c
    })
    clock.runUntil(15)
    assert.deepEqual(seen, ['a', 'b'])
    assert.equal(clock.now(), 15)
    assert.equal(clock.runAll(), 30)
    assert.deepEqual(seen, ['a', 'b', 'x', 'y', 'c'])
    assert.equal(clock.pending, 0)
  })

  it('refuses to schedule into the past', () => {
    assert.throws(() => new VirtualClock().schedule(-1, () => {}), RangeError)
    assert.throws(() => new VirtualClock().schedule(Number.NaN, () => {}), RangeError)
  })

  it('keeps order across many random events', () => {
    const clock = new VirtualClock()
    const times: number[] = []
    for (let i = 0; i < 1000; i++) {
      const at = (i * 7919) % 1009
      clock.schedule(at, () => times.push(clock.now()))
    }
    clock.runAll()
    assert.equal(times.length, 1000)
    for (let i = 1; i < times.length; i++)
      assert.ok((times[i] as number) >= (times[i - 1] as number))
  })
})
