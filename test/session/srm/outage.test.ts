import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { concatBytes } from '../../../src/core/bytes.ts'
import { decodeRecord } from '../../../src/session/srm/srm-frames.ts'
import { type Endpoint, Pair } from './harness.ts'

const pattern = (n: number, salt = 0): Uint8Array =>
  new Uint8Array(n).map((_, i) => (i * 31 + salt) & 0xff)

/**
 * Keeps writing `data` on the stream whenever it is accepted, at most `chunkBytes` a call
 * (an application writing at a pace); ends it when all is written. Returns the bytes taken.
 */
function writer(
  ep: Endpoint,
  id: number,
  data: Uint8Array,
  chunkBytes = data.length,
): () => number {
  let off = 0
  return () => {
    if (off < data.length) off += ep.srm.write(id, data.subarray(off, off + chunkBytes))
    if (off === data.length) ep.srm.end(id)
    return off
  }
}

/** Runs for `durationMs`, calling `app` every `everyMs` of virtual time. */
function paced(p: Pair, durationMs: number, everyMs: number, app: () => void): void {
  const end = p.nowMs + durationMs
  p.paced(everyMs, app, () => false, end)
}

describe('interruption and resumption', () => {
  it('suspends after an outage, probes with capped backoff, resumes and resends at once', () => {
    const p = new Pair({ channel: { latencyMs: 25 } })
    const id = p.a.srm.openStream()
    const data = pattern(2_000_000)
    // A paced application: 10 KB every 10 ms, so that the outage falls mid-transfer.
    const write = writer(p.a, id, data, 10_000)
    let off = 0
    const app = (): void => {
      off = write()
    }
    paced(p, 1000, 10, app)
    const outageStart = p.nowMs
    p.channel.outage(outageStart, outageStart + 20_000)
    while (p.a.srm.state === 'active' && p.nowMs < outageStart + 5000) paced(p, 10, 10, app)
    const [suspended] = p.a.eventsOf('suspended')
    assert.ok(suspended, 'suspended')
    assert.ok(suspended.atMs - outageStart >= 1500 && suspended.atMs - outageStart < 2000)
    assert.equal(p.b.srm.state, 'active', 'a pure receiver has nothing to time out')

    while (p.a.srm.state !== 'active' && p.nowMs < outageStart + 30_000) paced(p, 10, 10, app)
    const [resumed] = p.a.eventsOf('resumed')
    assert.ok(resumed)
    assert.equal(resumed.reason, 'probe-reply')
    assert.ok(resumed.atMs >= outageStart + 20_000 && resumed.atMs <= outageStart + 25_050)

    const during = p.a.sent.filter((s) => s.atMs > suspended.atMs && s.atMs < resumed.atMs)
    assert.ok(
      during.every((s) => s.record.kind === 'probe'),
      'only probes while suspended',
    )
    const gaps = during.map((s, i) => s.atMs - (during[i - 1]?.atMs ?? suspended.atMs))
    assert.deepEqual(gaps.slice(0, 7), [250, 500, 1000, 2000, 4000, 5000, 5000])
    assert.ok(p.a.sent.some((s) => s.atMs === suspended.atMs && s.record.kind === 'probe'))

    const first = p.a.sent.find((s) => s.atMs >= resumed.atMs && s.record.kind !== 'probe')
    assert.equal(first?.atMs, resumed.atMs, 'resent in the same millisecond')
    assert.equal(first?.record.kind, 'retransmit')

    while (off < data.length) paced(p, 10, 10, app)
    assert.ok(p.runUntil(() => p.b.eventsOf('end').length === 1, p.nowMs + 60_000))
    assert.deepEqual(p.b.bytes(id), Buffer.from(data))
  })

  it('takes no RTT sample across an outage: acknowledgements of records sent before it do not time the path', () => {
    const p = new Pair({ channel: { latencyMs: 25 } })
    const id = p.a.srm.openStream()
    const write = writer(p.a, id, pattern(2_000_000), 10_000)
    const app = (): void => {
      write()
    }
    paced(p, 500, 10, app)
    const before = p.a.srm.stats().srttMs
    assert.ok(before !== undefined && before < 100, `the path's RTT is about 50 ms: ${before}`)
    // Acknowledgements vanish for 10 s; the records they acknowledged arrived before.
    const start = p.nowMs
    p.channel.dropIf = (from) => from === 'b' && p.nowMs < start + 10_000
    while (p.a.srm.state === 'active' && p.nowMs < start + 5000) paced(p, 10, 10, app)
    assert.equal(p.a.srm.state, 'suspended')
    while (p.a.eventsOf('resumed').length === 0 && p.nowMs < start + 30_000) paced(p, 10, 10, app)
    assert.equal(p.a.eventsOf('resumed')[0]?.reason, 'probe-reply')
    const after = p.a.srm.stats().srttMs as number
    assert.ok(
      after < 100,
      `a probe reply acknowledging old records is not an RTT of seconds: ${after}`,
    )
    assert.ok(p.a.srm.stats().rtoMs < 1000, 'nor does it inflate the RTO')
  })

  it('resumes when the driver says the path is back, resending in the same millisecond', () => {
    const p = new Pair({ channel: { latencyMs: 10 } })
    const id = p.a.srm.openStream()
    p.a.srm.write(id, pattern(100_000))
    p.channel.outage(0, 3000)
    p.runUntil(() => p.a.srm.state === 'suspended', 3000)
    p.runUntil(() => p.nowMs >= 3000, 3000)
    assert.equal(p.a.srm.state, 'suspended')
    const at = p.nowMs
    p.a.srm.resume(at)
    const out = p.a.srm.takeOutgoing(at)
    assert.ok(out.length > 0)
    assert.ok(out.every((r) => r.kind === 'retransmit'))
    const seqs = out.map((r) => {
      const d = decodeRecord(concatBytes(r.body))
      return d.ok && d.value.kind === 'reliable' ? d.value.seq : -1
    })
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      'every unacknowledged record, oldest first',
    )
    assert.deepEqual(
      p.a.srm.takeEvents().map((e) => e.type),
      ['resumed'],
    )
  })

  it("resends at once when the peer's probe arrives, though this side never suspended", () => {
    // The lab's cable flap: the fixed host's session suspends and probes; the sender's
    // (a longer suspend timeout here) stays active with its RTO backed off through the gap.
    const p = new Pair({ a: { suspendAfterMs: 20_000 }, channel: { latencyMs: 10 } })
    const fromA = p.a.srm.openStream()
    const fromB = p.b.srm.openStream()
    p.runFor(100)
    p.channel.outage(p.nowMs, p.nowMs + 4000)
    const outageEnd = p.nowMs + 4000
    p.a.srm.write(fromA, pattern(50_000))
    p.b.srm.write(fromB, pattern(1000, 3))
    p.runUntil(() => p.b.srm.state === 'suspended', outageEnd)
    assert.equal(p.b.srm.state, 'suspended')
    p.runUntil(() => p.a.sent.some((s) => s.record.kind === 'probe-reply'), outageEnd + 10_000)
    assert.equal(p.a.srm.state, 'active', 'this side never suspended')
    const reply = p.a.sent.find((s) => s.record.kind === 'probe-reply')
    assert.ok(reply && reply.atMs >= outageEnd, 'the probe that got through')
    const resent = p.a.sent.find((s) => s.atMs >= outageEnd && s.record.kind === 'retransmit')
    assert.equal(resent?.atMs, reply.atMs, "resent with the reply, not at the RTO's next expiry")
    assert.ok(p.runUntil(() => p.b.bytes(fromA).length === 50_000, p.nowMs + 1000))
    assert.deepEqual(p.b.bytes(fromA), Buffer.from(pattern(50_000)))
  })

  it('keeps buffered bytes within the per-stream bound through a 10-minute outage', () => {
    const sendBuffer = 256 * 1024
    const p = new Pair({ a: { streamSendBufferBytes: sendBuffer }, channel: { latencyMs: 30 } })
    const id = p.a.srm.openStream()
    const data = pattern(3_000_000, 7)
    const write = writer(p.a, id, data)
    let maxBuffered = 0
    let refusals = 0
    // An application that keeps writing every 100 ms whatever happens.
    const appTimer = (): void => {
      const before = p.a.srm.bufferedBytes(id)
      write()
      if (p.a.srm.bufferedBytes(id) === before) refusals++
      maxBuffered = Math.max(maxBuffered, p.a.srm.bufferedBytes(id))
      const stats = p.a.srm.stats()
      assert.ok(stats.sendBufferedBytes <= sendBuffer)
      assert.ok(stats.retransmitBufferBytes <= 4 * 1024 * 1024, 'the peer window')
    }
    write()
    p.runFor(500)
    p.channel.outage(p.nowMs, p.nowMs + 600_000)
    const end = p.nowMs + 600_000
    while (p.nowMs < end) {
      p.runFor(100)
      appTimer()
    }
    assert.equal(p.a.srm.state, 'suspended')
    assert.ok(maxBuffered <= sendBuffer, `${maxBuffered} > ${sendBuffer}`)
    assert.equal(p.a.srm.bufferedBytes(id), sendBuffer, 'full, and refusing')
    assert.ok(refusals > 5000)
    assert.ok(p.a.sent.filter((s) => s.record.kind === 'probe').length < 130)
    p.onStep = appTimer
    assert.ok(p.runUntil(() => p.b.eventsOf('end').length === 1, p.nowMs + 120_000))
    assert.deepEqual(p.b.bytes(id), Buffer.from(data))
    assert.ok(p.a.eventsOf('writable').length > 0)
    assert.equal(p.a.eventsOf('resumed').length, 1)
  })

  it('closes a suspended session only at its configured limit', () => {
    const p = new Pair({ a: { suspendLimitMs: 60_000 } })
    const id = p.a.srm.openStream()
    p.a.srm.write(id, pattern(1000))
    p.channel.outage(0, 1e9)
    p.runUntil(() => p.a.srm.state === 'closed', 100_000)
    const [suspended] = p.a.eventsOf('suspended')
    const [closed] = p.a.eventsOf('closed')
    assert.equal(closed?.reason, 'suspend-limit')
    assert.equal((closed?.atMs ?? 0) - (suspended?.atMs ?? 0), 60_000)
    assert.throws(() => p.a.srm.write(id, pattern(1)), { code: 'session-closed' })
    assert.equal(p.a.srm.nextDeadlineMs(), undefined)
  })

  it('by default stays suspended indefinitely', () => {
    const p = new Pair()
    const id = p.a.srm.openStream()
    p.a.srm.write(id, pattern(1000))
    p.channel.outage(0, 1e12)
    p.runFor(6 * 3600_000)
    assert.equal(p.a.srm.state, 'suspended')
    assert.ok((p.a.srm.nextDeadlineMs() ?? 0) > p.nowMs)
  })
})
