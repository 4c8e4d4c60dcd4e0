import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Receiver } from '../../../src/session/srm/receiver.ts'
import { RttEstimator } from '../../../src/session/srm/rtt.ts'

const bounds = { initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000 }

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO and follows §2.2 and §2.3', () => {
    const rtt = new RttEstimator(bounds)
    assert.equal(rtt.rtoMs, 1000)
    rtt.sample(100) // SRTT 100, RTTVAR 50 → 300
    assert.equal(rtt.srttMs, 100)
    assert.equal(rtt.rtoMs, 300)
    rtt.sample(200) // RTTVAR 0.75·50 + 0.25·100 = 62.5, SRTT 112.5 → 362.5
    assert.equal(rtt.srttMs, 112.5)
    assert.equal(rtt.rtoMs, 362.5)
  })

  it('floors at minRtoMs, doubles on timeouts up to maxRtoMs, and a sample clears backoff', () => {
    const rtt = new RttEstimator(bounds)
    for (let i = 0; i < 20; i++) rtt.sample(10)
    assert.equal(rtt.rtoMs, 200)
    rtt.backOff()
    rtt.backOff()
    assert.equal(rtt.rtoMs, 800)
    assert.equal(rtt.baseRtoMs, 200)
    for (let i = 0; i < 20; i++) rtt.backOff()
    assert.equal(rtt.rtoMs, 60_000)
    rtt.sample(10)
    assert.equal(rtt.rtoMs, 200)
  })
})

describe('Receiver (Algorithm 1)', () => {
  const make = () => new Receiver({ ackEveryRecords: 2, ackDelayMs: 10, reorderWindowBytes: 100 })

  it('acknowledges after n = 2 records', () => {
    const r = make()
    assert.equal(r.accept(1, [], 10, 0).kind, 'deliver')
    assert.equal(r.takeAck(0), undefined)
    assert.equal(r.ackDeadlineMs(), 10)
    r.accept(2, [], 10, 3)
    assert.deepEqual(r.takeAck(3), { type: 'ack', cumulative: 2, windowBytes: 100, ranges: [] })
    assert.equal(r.ackDeadlineMs(), undefined)
  })

  it('acknowledges a lone record t = 10 ms after it arrived', () => {
    const r = make()
    r.accept(1, [], 10, 5)
    assert.equal(r.takeAck(14), undefined)
    assert.equal(r.takeAck(15)?.type, 'ack')
  })

  it('acknowledges a gap or a duplicate at once, with SACK ranges', () => {
    const r = make()
    r.accept(1, [], 10, 0)
    r.takeAck(10)
    assert.equal(r.accept(3, [], 10, 20).kind, 'buffered')
    assert.equal(r.accept(4, [], 10, 20).kind, 'buffered')
    assert.equal(r.accept(6, [], 10, 20).kind, 'buffered')
    assert.deepEqual(r.takeAck(20), {
      type: 'ack',
      cumulative: 1,
      windowBytes: 100,
      ranges: [
        { start: 3, end: 4 },
        { start: 6, end: 6 },
      ],
    })
    assert.equal(r.heldBytes, 30)
    const released = r.accept(2, [[]].flat(), 10, 21)
    assert.deepEqual(released.kind === 'deliver' && released.records.length, 3)
    assert.equal(r.cumulative, 4)
    assert.equal(r.accept(2, [], 10, 22).kind, 'duplicate')
    assert.equal(r.takeAck(22)?.type, 'ack')
  })

  it('holds no more than its window above a gap', () => {
    const r = make()
    for (let s = 2; s <= 11; s++) assert.equal(r.accept(s, [], 10, 0).kind, 'buffered')
    assert.equal(r.accept(12, [], 10, 0).kind, 'dropped')
    assert.equal(r.heldBytes, 100)
  })
})
