import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ByteReader, ByteWriter } from '../../src/core/bytes.ts'
import { Address } from '../../src/overlay/address.ts'
import {
  addressWireBytes,
  decodeAddress,
  encodeAddress,
  readAddress,
} from '../../src/overlay/address-codec.ts'

const arbAddress = fc
  .integer({ min: 3, max: 64 })
  .chain((q) =>
    fc
      .array(fc.integer({ min: 0, max: q - 2 }), { maxLength: 300 })
      .chain((rest) =>
        fc.integer({ min: 0, max: q - 1 }).map((first) => [q, first, rest] as const),
      ),
  )
  .map(([q, first, rest]) => Address.fromSlots(q, [first, ...rest]))

describe('Address', () => {
  it('derives directions that never point back at the parent', () => {
    const a = Address.fromSlots(4, [3, 0, 2, 1])
    assert.deepEqual(Array.from(a.dirs), [3, 0, 3, 1])
    for (let k = 1; k < a.dirs.length; k++) assert.notEqual(a.dirs[k], a.dirs[k - 1])
  })

  it('knows its family', () => {
    const root = Address.root(5)
    const a = root.child(4).child(3)
    assert.equal(a.toString(), 'q5:/4.3')
    assert.equal(a.parent()?.toString(), 'q5:/4')
    assert.ok(root.isAncestorOf(a))
    assert.ok(!a.isAncestorOf(root))
    assert.equal(a.treeDistance(root.child(0)), 3)
    assert.equal(root.childSlots, 5)
    assert.equal(a.childSlots, 4)
    assert.throws(() => a.child(4), RangeError)
    assert.throws(() => Address.fromSlots(2, []), RangeError)
    assert.throws(() => Address.fromSlots(4, [0, 3]), RangeError)
  })
})

describe('address codec', () => {
  it('round-trips any address', () => {
    fc.assert(
      fc.property(arbAddress, (a) => {
        const decoded = decodeAddress(encodeAddress(a))
        assert.ok(decoded.ok)
        assert.ok(decoded.value.equals(a))
      }),
      { numRuns: 300 },
    )
  })

  it('has a stable golden encoding', () => {
    // q=4, depth 3, slots 3,2,1 at 2 bits each: 11 10 01 00 -> 0xe4
    assert.equal(
      Buffer.from(encodeAddress(Address.fromSlots(4, [3, 2, 1]))).toString('hex'),
      '0403e4',
    )
    assert.equal(Buffer.from(encodeAddress(Address.root(8))).toString('hex'), '0800')
  })

  it('grows with depth, not with anything else', () => {
    const deep = Address.fromSlots(4, new Array(31).fill(1))
    assert.equal(encodeAddress(deep).length, 1 + 1 + 8)
  })

  it('rejects malformed input with a code, never a throw', () => {
    const cases: [string, string][] = [
      ['', 'truncated'],
      ['02', 'bad-degree'],
      ['41', 'bad-degree'],
      ['04', 'truncated'],
      ['0480', 'truncated'],
      ['0403', 'truncated'],
      ['0402f0', 'bad-slot'], // level 1 slot 3 >= q-1
      ['0401c1', 'bad-padding'],
      ['0403e400', 'trailing-bytes'],
      ['04ffff7f', 'too-deep'],
      ['048000', 'truncated'], // non-minimal varint
    ]
    for (const [hex, code] of cases) {
      const r = decodeAddress(Buffer.from(hex, 'hex'))
      assert.equal(r.ok, false, hex)
      if (!r.ok) assert.equal(r.code, code, hex)
    }
  })

  it('survives random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = decodeAddress(bytes)
        if (r.ok) assert.deepEqual(encodeAddress(r.value), bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('reads addresses from a stream of fields', () => {
    const w = new ByteWriter()
    w.varint(7)
    w.bytes(encodeAddress(Address.fromSlots(6, [5, 4])))
    w.u8(9)
    const r = new ByteReader(w.finish())
    assert.equal(r.varint(), 7)
    const a = readAddress(r)
    assert.ok(a.ok && a.value.toString() === 'q6:/5.4')
    assert.equal(r.u8(), 9)
  })
})

describe('addressWireBytes', () => {
  it('is the length encodeAddress writes, at every depth tried', () => {
    for (const q of [3, 4, 8, 64]) {
      for (const depth of [0, 1, 7, 127, 128, 1000]) {
        const a = Address.fromSlots(
          q,
          Array.from({ length: depth }, (_, i) => i % (q - 1)),
        )
        assert.equal(addressWireBytes(a), encodeAddress(a).length, `q=${q} depth=${depth}`)
      }
    }
  })
})
