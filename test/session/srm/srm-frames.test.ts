import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  decodeEarlyOpens,
  decodeRecord,
  encodeEarlyOpens,
  encodeRecord,
  MAX_EARLY_OPEN_BYTES,
  MAX_SACK_RANGES,
  type ReliableFrame,
  type SrmRecord,
} from '../../../src/session/srm/srm-frames.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replaceAll(' ', ''), 'hex'))

const varint = fc.integer({ min: 0, max: 2 ** 40 })

const reliableFrame: fc.Arbitrary<ReliableFrame> = fc
  .oneof(
    fc.record({
      type: fc.constant('stream-open' as const),
      streamId: varint,
      meta: fc.uint8Array({ maxLength: 1024 }),
    }),
    fc.record({
      type: fc.constant('data' as const),
      streamId: varint,
      offset: varint,
      fin: fc.boolean(),
      bytes: fc.uint8Array({ maxLength: 200 }),
    }),
    fc.record({ type: fc.constant('reset' as const), streamId: varint, code: varint }),
    fc.record({ type: fc.constant('stream-window' as const), streamId: varint, maxOffset: varint }),
    fc.record({ type: fc.constant('session-window' as const), maxBytes: varint }),
  )
  .map((f) => ({ ...f }))

const ackRecord: fc.Arbitrary<SrmRecord> = fc
  .tuple(
    varint,
    varint,
    fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 })), {
      maxLength: MAX_SACK_RANGES,
    }),
  )
  .map(([cumulative, windowBytes, gaps]) => {
    let floor = cumulative
    const ranges = gaps.map(([gap, span]) => {
      const start = floor + 1 + gap
      floor = start + span
      return { start, end: start + span }
    })
    return { kind: 'control', frame: { type: 'ack', cumulative, windowBytes, ranges } }
  })

const probeRecord: fc.Arbitrary<SrmRecord> = fc
  .record({
    type: fc.constantFrom('probe' as const, 'probe-reply' as const),
    probeId: varint,
    lastReceived: varint,
    lastSent: varint,
  })
  .map((frame) => ({ kind: 'control', frame: { ...frame } }))

const anyRecord: fc.Arbitrary<SrmRecord> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(reliableFrame, { maxLength: 6 }))
    .map(([seq, frames]): SrmRecord => ({ kind: 'reliable', seq, frames })),
  ackRecord,
  probeRecord,
)

describe('SRM record codec', () => {
  it('encodes the golden vectors', () => {
    const data: SrmRecord = {
      kind: 'reliable',
      seq: 1,
      frames: [
        { type: 'stream-open', streamId: 2, meta: unhex('aa') },
        { type: 'data', streamId: 2, offset: 0, fin: true, bytes: unhex('6869') },
      ],
    }
    assert.equal(hex(encodeRecord(data)), '01 01 02 01 aa 02 02 00 01 02 6869'.replaceAll(' ', ''))
    const ack: SrmRecord = {
      kind: 'control',
      frame: { type: 'ack', cumulative: 300, windowBytes: 0, ranges: [{ start: 302, end: 303 }] },
    }
    assert.equal(hex(encodeRecord(ack)), '00 06 ac02 00 01 ae02 01'.replaceAll(' ', ''))
    const probe: SrmRecord = {
      kind: 'control',
      frame: { type: 'probe', probeId: 1, lastReceived: 5, lastSent: 7 },
    }
    assert.equal(hex(encodeRecord(probe)), '0007010507')
    const misc: SrmRecord = {
      kind: 'reliable',
      seq: 128,
      frames: [
        { type: 'reset', streamId: 3, code: 1 },
        { type: 'stream-window', streamId: 3, maxOffset: 1 },
        { type: 'session-window', maxBytes: 2 },
      ],
    }
    assert.equal(hex(encodeRecord(misc)), '8001 030301 040301 0502'.replaceAll(' ', ''))
  })

  it('round-trips every record', () => {
    fc.assert(
      fc.property(anyRecord, (record) => {
        assert.deepEqual(decodeRecord(encodeRecord(record)), { ok: true, value: record })
      }),
    )
  })

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = decodeRecord(bytes)
        if (r.ok) assert.deepEqual(decodeRecord(encodeRecord(r.value)), r)
      }),
    )
  })

  it('rejects malformed records with a code', () => {
    const cases: [string, string][] = [
      ['', 'truncated'],
      ['80', 'truncated'],
      ['00', 'bad-control'],
      ['0009', 'unknown-frame'],
      ['0002', 'misplaced-frame'],
      ['0106000000', 'misplaced-frame'],
      ['0109', 'unknown-frame'],
      ['010201', 'truncated'],
      ['01020100020161', 'bad-flags'],
      ['010201000003aabb', 'truncated'],
      ['0101018810', 'bad-meta'],
      ['00070105', 'truncated'],
      ['000701050700', 'bad-control'],
      // cumulative 5, one range starting at 6 (touching the cumulative point)
      ['0006050001 0600', 'bad-ranges'],
      // two ranges that touch: 7..7 then 8..8
      ['0006050002 0700 0800', 'bad-ranges'],
      ['000605002100', 'bad-ranges'],
    ]
    for (const [input, code] of cases) {
      const r = decodeRecord(unhex(input))
      assert.equal(r.ok, false, input)
      assert.equal(!r.ok && r.code, code, input)
    }
  })
})

describe('early opens codec', () => {
  it('encodes the golden vector and round-trips every open', () => {
    const meta = Uint8Array.of(0x1b, 0x58)
    const bytes = encodeEarlyOpens([{ type: 'stream-open', streamId: 0, meta }])
    assert.equal(hex(bytes), '01000 21b58'.replaceAll(' ', ''))
    assert.deepEqual(decodeEarlyOpens(bytes), {
      ok: true,
      value: [{ type: 'stream-open', streamId: 0, meta }],
    })
    assert.deepEqual(decodeEarlyOpens(new Uint8Array(0)), { ok: true, value: [] })
    fc.assert(
      fc.property(varint, fc.uint8Array({ maxLength: 1024 }), (streamId, m) => {
        const open = { type: 'stream-open' as const, streamId, meta: m }
        const encoded = encodeEarlyOpens([open])
        assert.ok(encoded.length <= MAX_EARLY_OPEN_BYTES)
        assert.deepEqual(decodeEarlyOpens(encoded), { ok: true, value: [open] })
      }),
    )
  })

  it('rejects anything but stream opens, too many of them, and cut frames, with a code', () => {
    const open = encodeEarlyOpens([{ type: 'stream-open', streamId: 0, meta: Uint8Array.of(7) }])
    const cases: [Uint8Array, string][] = [
      [unhex('02 00 00 00 00'), 'misplaced-frame'], // data
      [unhex('06 00 00 00'), 'misplaced-frame'], // ack
      [Buffer.concat([open, open]), 'misplaced-frame'], // two
      [open.subarray(0, open.length - 1), 'truncated'],
      [unhex('63'), 'unknown-frame'],
    ]
    for (const [input, code] of cases) {
      const r = decodeEarlyOpens(input)
      assert.equal(r.ok, false, hex(input))
      assert.equal(!r.ok && r.code, code, hex(input))
    }
    const two = { type: 'stream-open' as const, streamId: 0, meta: new Uint8Array(0) }
    assert.throws(() => encodeEarlyOpens([two, { ...two, streamId: 2 }]), /at most 1/)
  })
})
