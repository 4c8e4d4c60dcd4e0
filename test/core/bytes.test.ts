import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ByteReader, ByteWriter, MAX_VARINT } from '../../src/core/bytes.ts'

describe('bytes', () => {
  it('round-trips varints up to the largest safe integer', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 20 }), (values) => {
        const w = new ByteWriter(1)
        for (const v of values) w.varint(v)
        const r = new ByteReader(w.finish())
        for (const v of values) assert.equal(r.varint(), v)
        assert.equal(r.remaining, 0)
      }),
    )
    const w = new ByteWriter().varint(MAX_VARINT)
    assert.equal(new ByteReader(w.finish()).varint(), MAX_VARINT)
  })

  it('has golden varint encodings', () => {
    const hex = (v: number): string =>
      Buffer.from(new ByteWriter().varint(v).finish()).toString('hex')
    assert.equal(hex(0), '00')
    assert.equal(hex(127), '7f')
    assert.equal(hex(128), '8001')
    assert.equal(hex(300), 'ac02')
  })

  it('reports truncated, overlong and non-minimal varints as undefined', () => {
    // Empty, truncated, eight continuation bytes, a redundant trailing zero byte.
    for (const h of ['', '80', 'ffffffffffffffff', '8000', 'ff8000']) {
      assert.equal(new ByteReader(Buffer.from(h, 'hex')).varint(), undefined, h)
    }
    // 2^53 needs 8 bytes and exceeds the safe range.
    assert.equal(new ByteReader(Buffer.from('8080808080808010', 'hex')).varint(), undefined)
  })

  it('refuses to write what it cannot encode', () => {
    assert.throws(() => new ByteWriter().varint(-1), RangeError)
    assert.throws(() => new ByteWriter().varint(1.5), RangeError)
    assert.throws(() => new ByteWriter().varint(2 ** 53), RangeError)
  })

  it('reads fields and refuses to read past the end', () => {
    const r = new ByteReader(Uint8Array.of(1, 2, 3))
    assert.equal(r.u8(), 1)
    assert.deepEqual(r.bytes(2), Uint8Array.of(2, 3))
    assert.equal(r.u8(), undefined)
    assert.equal(r.bytes(1), undefined)
    assert.equal(new ByteReader(Uint8Array.of(1)).bytes(-1), undefined)
  })

  it('a bounded writer hands out a view, its slack zeroed', () => {
    const w = ByteWriter.bounded(16)
    w.u8(7).bytes(Uint8Array.of(1, 2, 3))
    const out = w.finishView()
    assert.deepEqual(Uint8Array.from(out), Uint8Array.of(7, 1, 2, 3))
    assert.deepEqual(new Uint8Array(out.buffer, out.byteOffset + 4, 12), new Uint8Array(12))
  })
})
