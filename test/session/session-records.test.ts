import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  decodeRecord,
  decodeRecordHeader,
  encodeRecord,
  FIXED_HEADER_BYTES,
  HELLO_BODY_BYTES,
  HELLO_REPLY_BODY_BYTES,
  MAX_HELLO_BODY_BYTES,
  MAX_SEQ,
  peekSessionId,
  RECORD_TYPE,
  type RecordHeader,
  type RecordType,
  type SealedType,
} from '../../src/session/session-records.ts'

const SEALED: readonly SealedType[] = ['data', 'ack', 'rehello', 'rehello-reply', 'close', 'reset']

function header(over: Partial<RecordHeader> = {}): RecordHeader {
  return {
    type: 'data',
    flags: 0,
    epoch: 0,
    sessionId: new Uint8Array(16).fill(7),
    seq: 0n,
    streamId: 0,
    source: new Uint8Array(32).fill(1),
    destination: new Uint8Array(32).fill(2),
    ...over,
  }
}

const arbSealedHeader = fc.record({
  type: fc.constantFrom(...SEALED),
  flags: fc.integer({ min: 0, max: 255 }),
  epoch: fc.integer({ min: 0, max: 0xffff_ffff }),
  sessionId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  seq: fc.bigInt({ min: 0n, max: MAX_SEQ }),
  streamId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  source: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  destination: fc.uint8Array({ minLength: 32, maxLength: 32 }),
})

describe('session records: codec', () => {
  it('type numbers are fixed: 0 is none, hello 1 … reset 8', () => {
    assert.deepEqual(Object.values(RECORD_TYPE), [1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('round-trips every sealed header and body (fast-check)', () => {
    fc.assert(
      fc.property(arbSealedHeader, fc.uint8Array({ minLength: 16, maxLength: 300 }), (h, body) => {
        const bytes = encodeRecord(h, body)
        const decoded = decodeRecord(bytes)
        assert.ok(decoded.ok)
        const { header: d, headerBytes, body: b } = decoded.value
        assert.deepEqual(
          { ...d, sessionId: [...d.sessionId] },
          { ...h, sessionId: [...h.sessionId] },
        )
        assert.deepEqual([...b], [...body])
        assert.equal(headerBytes.length + body.length, bytes.length)
        assert.deepEqual(peekSessionId(bytes), h.sessionId)
      }),
    )
  })

  it('reads the header of a record cut anywhere after it, and nothing shorter', () => {
    const bytes = encodeRecord(header({ seq: 4n, streamId: 3 }), new Uint8Array(500).fill(9))
    const headerLength = FIXED_HEADER_BYTES + 1
    for (const cut of [headerLength, headerLength + 1, 256, bytes.length]) {
      const part = bytes.subarray(0, cut)
      const h = decodeRecordHeader(part)
      assert.ok(h.ok, `cut at ${cut}`)
      assert.equal(h.value.header.seq, 4n)
      assert.equal(h.value.bodyBytes, 500)
      assert.equal(h.value.headerBytes.length, headerLength)
      assert.deepEqual(peekSessionId(part), new Uint8Array(16).fill(7))
      // The whole record only decodes whole.
      assert.equal(decodeRecord(part).ok, cut === bytes.length)
    }
    assert.equal(decodeRecordHeader(bytes.subarray(0, headerLength - 1)).ok, false)
  })

  it('lays out the fixed fields at fixed offsets', () => {
    const bytes = encodeRecord(
      header({ type: 'ack', flags: 5, epoch: 0x01020304, seq: 9n }),
      new Uint8Array(16),
    )
    assert.equal(bytes.length, FIXED_HEADER_BYTES + 1 + 16)
    assert.deepEqual([...bytes.subarray(0, 7)], [1, RECORD_TYPE.ack, 5, 1, 2, 3, 4])
    assert.deepEqual([...bytes.subarray(23, 31)], [0, 0, 0, 0, 0, 0, 0, 9])
    assert.deepEqual([...bytes.subarray(FIXED_HEADER_BYTES - 1, FIXED_HEADER_BYTES + 1)], [0, 16])
  })

  it('refuses every truncation and any trailing byte', () => {
    const bytes = encodeRecord(header({ streamId: 300 }), new Uint8Array(40))
    for (let n = 0; n < bytes.length; n++) {
      const d = decodeRecord(bytes.subarray(0, n))
      assert.ok(!d.ok, `length ${n}`)
      assert.ok(['truncated', 'bad-length', 'bad-stream-id', 'bad-version'].includes(d.code))
    }
    const longer = decodeRecord(Buffer.concat([bytes, Uint8Array.of(0)]))
    assert.equal(longer.ok ? 'ok' : longer.code, 'bad-length')
  })

  it('refuses a bad version, an unknown type, a non-minimal stream id, a short sealed body', () => {
    const good = encodeRecord(header(), new Uint8Array(16))
    const code = (bytes: Uint8Array) => {
      const d = decodeRecord(bytes)
      return d.ok ? 'ok' : d.code
    }
    const at = (i: number, v: number) => {
      const b = Uint8Array.from(good)
      b[i] = v
      return b
    }
    assert.equal(code(at(0, 2)), 'bad-version')
    assert.equal(code(at(1, 0)), 'unknown-type')
    assert.equal(code(at(1, 9)), 'unknown-type')
    // stream id 0 written as 0x80 0x00: a second encoding of the same value.
    const overlong = Buffer.concat([
      good.subarray(0, 31),
      Uint8Array.of(0x80, 0),
      good.subarray(32),
    ])
    assert.equal(code(overlong), 'bad-stream-id')
    assert.equal(code(encodeRecord(header(), new Uint8Array(15))), 'bad-length')
  })

  it('handshake records have exact bodies and zero epoch, seq, stream and flags', () => {
    const ok = (type: RecordType, n: number, over: Partial<RecordHeader> = {}) => {
      const d = decodeRecord(encodeRecord(header({ type, ...over }), new Uint8Array(n)))
      return d.ok ? 'ok' : d.code
    }
    assert.equal(ok('hello', HELLO_BODY_BYTES), 'ok')
    assert.equal(ok('hello-reply', HELLO_REPLY_BODY_BYTES), 'ok')
    assert.equal(ok('hello', HELLO_BODY_BYTES + 1), 'ok') // early opens
    assert.equal(ok('hello', MAX_HELLO_BODY_BYTES), 'ok')
    assert.equal(ok('hello', MAX_HELLO_BODY_BYTES + 1), 'bad-length')
    assert.equal(ok('hello', HELLO_BODY_BYTES - 1), 'bad-length')
    assert.equal(ok('hello-reply', HELLO_REPLY_BODY_BYTES + 1), 'bad-length')
    assert.equal(ok('hello-reply', HELLO_BODY_BYTES), 'bad-length')
    assert.equal(ok('hello', HELLO_BODY_BYTES, { seq: 1n }), 'bad-field')
    assert.equal(ok('hello', HELLO_BODY_BYTES, { epoch: 1 }), 'bad-field')
    assert.equal(ok('hello-reply', HELLO_REPLY_BODY_BYTES, { streamId: 1 }), 'bad-field')
    assert.equal(ok('hello-reply', HELLO_REPLY_BODY_BYTES, { flags: 1 }), 'bad-field')
  })

  it('encodeHeader throws on local fields out of range', () => {
    assert.throws(() => encodeRecord(header({ seq: MAX_SEQ + 1n }), new Uint8Array(16)), RangeError)
    assert.throws(() => encodeRecord(header({ flags: 256 }), new Uint8Array(16)), RangeError)
    assert.throws(
      () => encodeRecord(header({ sessionId: new Uint8Array(8) }), new Uint8Array(16)),
      RangeError,
    )
    assert.throws(() => encodeRecord(header(), new Uint8Array(65_536)), RangeError)
  })
})
