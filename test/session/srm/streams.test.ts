import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SessionReliability } from '../../../src/session/srm/session-reliability.ts'
import { RESET_CODE } from '../../../src/session/srm/srm-types.ts'
import { Pair } from './harness.ts'

const pattern = (n: number, salt = 0): Uint8Array =>
  new Uint8Array(n).map((_, i) => (i * 13 + salt) & 0xff)

describe('streams', () => {
  it('half-closes each direction on its own (FIN → end)', () => {
    const p = new Pair({ channel: { latencyMs: 5 } })
    const id = p.a.srm.openStream(new TextEncoder().encode('tcp:localhost:22'))
    p.a.srm.write(id, pattern(5000))
    p.a.srm.end(id)
    p.runUntil(() => p.b.eventsOf('end').length === 1, 1000)
    const [opened] = p.b.eventsOf('stream-opened')
    assert.equal(new TextDecoder().decode(opened?.meta), 'tcp:localhost:22')
    assert.throws(() => p.a.srm.write(id, pattern(1)), { code: 'stream-finished' })
    p.b.srm.write(id, pattern(3000, 1))
    p.runUntil(() => p.a.bytes(id).length === 3000, 2000)
    assert.equal(p.a.eventsOf('stream-closed').length, 0, 'open while b still sends')
    p.b.srm.end(id)
    p.runUntil(() => p.a.eventsOf('stream-closed').length === 1, 3000)
    p.runFor(100)
    assert.equal(p.b.eventsOf('stream-closed').length, 1)
    assert.deepEqual(p.b.bytes(id), Buffer.from(pattern(5000)))
    assert.deepEqual(p.a.bytes(id), Buffer.from(pattern(3000, 1)))
    assert.equal(p.a.srm.stats().streams, 0)
    assert.equal(p.b.srm.stats().streams, 0)
  })

  it('carries a reset end to end (RST → destroy with its code), both directions gone', () => {
    const p = new Pair({ channel: { latencyMs: 5 } })
    const id = p.b.srm.openStream()
    assert.equal(id % 2, 1, 'the responder opens odd ids')
    p.b.srm.write(id, pattern(1000))
    p.runFor(50)
    p.a.srm.write(id, pattern(10))
    p.a.srm.reset(id, 42)
    assert.throws(() => p.a.srm.write(id, pattern(1)), { code: 'unknown-stream' })
    p.runFor(100)
    assert.deepEqual(p.b.eventsOf('reset'), [{ type: 'reset', streamId: id, code: 42 }])
    assert.equal(p.b.srm.stats().streams, 0)
    // A write the peer made before the reset reached it is dropped quietly, not an error.
    assert.deepEqual(p.a.srm.stats().dropped, {})
  })

  it('a stream reset before it was sent never reaches the peer', () => {
    const p = new Pair()
    const id = p.a.srm.openStream()
    p.a.srm.write(id, pattern(100))
    p.a.srm.reset(id)
    const next = p.a.srm.openStream()
    p.a.srm.write(next, pattern(100))
    p.a.srm.end(next)
    p.runFor(500)
    assert.deepEqual(
      p.b.events
        .filter((e) => e.type !== 'data')
        .map((e) => [e.type, 'streamId' in e && e.streamId]),
      [
        ['stream-opened', next],
        ['end', next],
      ],
    )
  })

  it('refuses streams above maxStreams, locally with a code and remotely with a reset', () => {
    const a = new SessionReliability({ role: 'initiator', maxStreams: 2 })
    a.openStream()
    a.openStream()
    assert.throws(() => a.openStream(), { code: 'too-many-streams' })
    const p = new Pair({ a: { maxStreams: 3 }, b: { maxStreams: 2 } })
    const ids = [p.a.srm.openStream(), p.a.srm.openStream(), p.a.srm.openStream()]
    for (const id of ids) p.a.srm.write(id, pattern(10))
    p.runFor(200)
    assert.deepEqual(p.a.eventsOf('reset'), [
      { type: 'reset', streamId: ids[2], code: RESET_CODE.refused },
    ])
    assert.equal(p.b.eventsOf('stream-opened').length, 2)
  })

  it('tells the opener its stream was taken once the taker accepts it, never for a refusal', () => {
    // The taker's window is the initial credit: nothing but the acceptance makes it speak.
    const p = new Pair({
      a: { maxStreams: 3 },
      b: { maxStreams: 1, streamReceiveWindowBytes: 64 * 1024 },
    })
    const taken = p.a.srm.openStream()
    const refused = p.a.srm.openStream()
    p.runFor(200)
    assert.deepEqual(p.a.eventsOf('reset'), [
      { type: 'reset', streamId: refused, code: RESET_CODE.refused },
    ])
    assert.deepEqual(p.a.eventsOf('stream-accepted'), [], 'not taken yet')
    const opened = p.b.eventsOf('stream-opened')[0]
    assert.ok(opened)
    p.b.srm.accept(opened.streamId)
    p.runFor(200)
    assert.deepEqual(p.a.eventsOf('stream-accepted'), [
      { type: 'stream-accepted', streamId: taken },
    ])
    // The taker writes: its data comes after the acceptance, which is not repeated.
    p.b.srm.write(opened.streamId, pattern(10))
    p.runFor(200)
    const kinds = p.a.events
      .filter((e) => 'streamId' in e && e.streamId === taken)
      .map((e) => e.type)
    assert.deepEqual(kinds, ['stream-accepted', 'data'])
  })

  it('a stream the taker writes to without accepting is accepted by the write', () => {
    const p = new Pair({})
    const id = p.a.srm.openStream()
    p.runFor(200)
    const opened = p.b.eventsOf('stream-opened')[0]
    assert.ok(opened)
    p.b.srm.write(opened.streamId, pattern(10))
    p.runFor(200)
    const kinds = p.a.events.filter((e) => 'streamId' in e && e.streamId === id).map((e) => e.type)
    assert.deepEqual(kinds, ['stream-accepted', 'data'])
  })

  it('a slow reader bounds what is in flight and buffered (flow control)', () => {
    const window = 64 * 1024
    const p = new Pair({
      a: { streamSendBufferBytes: 256 * 1024 },
      b: { streamReceiveWindowBytes: window },
      channel: { latencyMs: 10, jitterMs: 10, lossRate: 0.05, seed: 9 },
    })
    p.b.autoConsume = false
    const id = p.a.srm.openStream()
    const data = pattern(2_000_000, 3)
    let off = 0
    let consumed = 0
    let maxUnconsumed = 0
    let maxBuffered = 0
    const app = (): void => {
      if (off < data.length) off += p.a.srm.write(id, data.subarray(off))
      else p.a.srm.end(id)
      maxUnconsumed = Math.max(maxUnconsumed, p.b.bytes(id).length - consumed)
      maxBuffered = Math.max(maxBuffered, p.a.srm.bufferedBytes(id))
      // Reads 4 KiB per step: much slower than the sender could go.
      const n = Math.min(4096, p.b.bytes(id).length - consumed)
      p.b.srm.consume(id, n)
      consumed += n
    }
    p.onStep = app
    assert.ok(p.paced(5, app, () => p.b.eventsOf('end').length === 1, 600_000))
    assert.deepEqual(p.b.bytes(id), Buffer.from(data))
    assert.ok(maxUnconsumed <= window, `${maxUnconsumed}`)
    assert.ok(maxBuffered <= 256 * 1024)
    assert.ok(p.a.srm.stats().flightBytes <= window + 16 * 1024)
  })

  it('a stalled stream does not hold up the others', () => {
    const p = new Pair({ b: { streamReceiveWindowBytes: 64 * 1024 } })
    p.b.autoConsume = false
    const stalled = p.a.srm.openStream()
    const busy = p.a.srm.openStream()
    p.a.srm.write(stalled, pattern(200_000))
    let off = 0
    const data = pattern(1_000_000, 5)
    p.onStep = () => {
      if (off < data.length) off += p.a.srm.write(busy, data.subarray(off))
      p.b.srm.consume(busy, Number.MAX_SAFE_INTEGER)
    }
    assert.ok(p.runUntil(() => p.b.bytes(busy).length === data.length, 60_000))
    assert.equal(p.b.bytes(stalled).length, 64 * 1024)
  })

  it('runs 1,000 streams at once', () => {
    const p = new Pair({ channel: { latencyMs: 15, jitterMs: 20, lossRate: 0.02, seed: 4 } })
    const ids: number[] = []
    for (let i = 0; i < 1000; i++) {
      const id = p.a.srm.openStream()
      ids.push(id)
      assert.equal(p.a.srm.write(id, pattern(1500, i)), 1500)
      p.a.srm.end(id)
    }
    assert.ok(p.runUntil(() => p.b.eventsOf('end').length === 1000, 60_000))
    for (const [i, id] of ids.entries())
      assert.deepEqual(p.b.bytes(id), Buffer.from(pattern(1500, i)))
    for (const id of ids) p.b.srm.end(id)
    assert.ok(p.runUntil(() => p.a.eventsOf('stream-closed').length === 1000, p.nowMs + 60_000))
    p.runFor(1000)
    assert.equal(p.a.srm.stats().streams, 0)
    assert.equal(p.b.srm.stats().streams, 0)
    assert.equal(p.a.srm.stats().sendBufferedBytes, 0)
  })

  it('resends a record that SACKs show lost before its RTO', () => {
    const p = new Pair({ channel: { latencyMs: 20 } })
    let dropped = false
    p.channel.dropIf = (from, body) => {
      // The first transmission of the second reliable record.
      if (dropped || from !== 'a' || body[0] !== 2) return false
      dropped = true
      return true
    }
    const id = p.a.srm.openStream()
    p.a.srm.write(id, pattern(200_000))
    p.runUntil(() => p.b.bytes(id).length === 200_000, 10_000)
    const resend = p.a.sent.find((s) => s.record.kind === 'retransmit')
    assert.ok(resend)
    assert.ok(resend.atMs < 1000, `resent at ${resend.atMs}: before the 1 s initial RTO`)
    assert.deepEqual(p.b.bytes(id), Buffer.from(pattern(200_000)))
  })
})
