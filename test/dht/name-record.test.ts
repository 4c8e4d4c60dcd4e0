import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ByteReader, ByteWriter } from '../../src/core/bytes.ts'
import { keyPoint } from '../../src/dht/key-hash.ts'
import {
  compareNameRecords,
  decodeNameRecord,
  dhtKeyOfName,
  encodeNameRecord,
  MIN_NAME_RECORD_BYTES,
  type NameRecord,
  readNameRecord,
  sameNameRecord,
  signedMessage,
  signNameRecord,
  verifyNameRecord,
  writeNameRecord,
} from '../../src/dht/name-record.ts'
import { identityFromSeed } from '../../src/identity/keys.ts'
import { Address } from '../../src/overlay/address.ts'
import { arbAddress, arbCount } from '../helpers/arbitraries.ts'

const alice = identityFromSeed(new Uint8Array(32).fill(7))
const mallory = identityFromSeed(new Uint8Array(32).fill(8))
const ADDRESS = Address.fromSlots(4, [3, 2, 1])
const NOW = 1_700_000_000_000
const EXPIRY = NOW + 600_000

const GOLDEN_NAME = '5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwa'
const GOLDEN_HEX =
  'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c' + // public key
  '0403e4' + // address q4:/3.2.1
  '05' + // seq 5
  '80d095ffbc31' + // expiry 1_700_000_000_000 ms, LEB128
  'b092fe737ddec2576646ceece19f80ef56754201a27d981182a5cf18b9581446' + // signature
  '78fe8a0a2371e95f75455083315a89392a0f667f5a47864892552da434cdd604'

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function codeOf<C extends string>(r: { ok: true } | { ok: false; code: C }): C | 'ok' {
  return r.ok ? 'ok' : r.code
}

describe('name record codec', () => {
  it('has a stable golden encoding', () => {
    assert.equal(alice.name, GOLDEN_NAME)
    const r = signNameRecord(alice, ADDRESS, 5, 1_700_000_000_000)
    assert.equal(hex(encodeNameRecord(r)), GOLDEN_HEX)
    assert.equal(encodeNameRecord(r).length, 106)
    const decoded = decodeNameRecord(Buffer.from(GOLDEN_HEX, 'hex'))
    assert.ok(decoded.ok)
    assert.ok(sameNameRecord(decoded.value, r))
    assert.equal(decoded.value.name, GOLDEN_NAME)
    // The signed message is the context string followed by every field but the signature.
    assert.equal(
      hex(signedMessage(r)),
      hex(new TextEncoder().encode('semos/dht/name-record/v1')) + GOLDEN_HEX.slice(0, 2 * 42),
    )
  })

  it('round-trips any record', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        arbAddress,
        arbCount,
        arbCount,
        (seed, a, seq, exp) => {
          const r = signNameRecord(identityFromSeed(seed), a, seq, exp)
          const bytes = encodeNameRecord(r)
          const decoded = decodeNameRecord(bytes)
          assert.ok(decoded.ok)
          assert.ok(sameNameRecord(decoded.value, r))
          assert.deepEqual(encodeNameRecord(decoded.value), bytes)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('reads records from a stream of fields', () => {
    const r = signNameRecord(alice, ADDRESS, 9, EXPIRY)
    const w = new ByteWriter()
    w.u8(0xaa)
    writeNameRecord(w, r)
    writeNameRecord(w, r)
    w.u8(0xbb)
    const reader = new ByteReader(w.finish())
    assert.equal(reader.u8(), 0xaa)
    for (let i = 0; i < 2; i++) {
      const got = readNameRecord(reader)
      assert.ok(got.ok && sameNameRecord(got.value, r))
    }
    assert.equal(reader.u8(), 0xbb)
    assert.equal(reader.remaining, 0)
  })

  it('copies the signature out of the frame it arrived in', () => {
    const bytes = encodeNameRecord(signNameRecord(alice, ADDRESS, 1, EXPIRY))
    const decoded = decodeNameRecord(bytes)
    bytes.fill(0)
    assert.ok(decoded.ok && verifyNameRecord(decoded.value, NOW).ok)
  })

  it('reports truncation at every length and trailing bytes', () => {
    const bytes = Buffer.from(GOLDEN_HEX, 'hex')
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(codeOf(decodeNameRecord(bytes.subarray(0, n))), 'truncated', `length ${n}`)
    }
    assert.equal(codeOf(decodeNameRecord(Buffer.concat([bytes, Buffer.of(0)]))), 'trailing-bytes')
  })

  it('rejects malformed fields with a code', () => {
    const key = GOLDEN_HEX.slice(0, 64)
    const sig = GOLDEN_HEX.slice(-128)
    const cases: [string, string, string][] = [
      ['bad degree', `${key}020005${'01'}${sig}`, 'bad-address'],
      ['bad slot', `${key}0402f00501${sig}`, 'bad-address'],
      ['bad padding', `${key}0401c10501${sig}`, 'bad-address'],
      ['too deep', `${key}04ffff7f0501${sig}`, 'bad-address'],
      ['non-minimal seq', `${key}0403e485000501${sig}`, 'truncated'],
      ['non-minimal expiry', `${key}0403e4058000${sig}`, 'truncated'],
      ['seq above 2^53', `${key}0403e4ffffffffffffff7f01${sig}`, 'truncated'],
    ]
    for (const [what, h, code] of cases) {
      assert.equal(codeOf(decodeNameRecord(Buffer.from(h, 'hex'))), code, what)
    }
  })

  it('survives random bytes', () => {
    const golden = Buffer.from(GOLDEN_HEX, 'hex')
    const arbMutated = fc
      .tuple(fc.nat(golden.length - 1), fc.integer({ min: 1, max: 255 }))
      .map(([i, x]) => {
        const b = Uint8Array.from(golden)
        b[i] = (b[i] as number) ^ x
        return b
      })
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), arbMutated), (bytes) => {
        const r = decodeNameRecord(bytes)
        if (r.ok) {
          assert.deepEqual(encodeNameRecord(r.value), bytes)
          verifyNameRecord(r.value, NOW) // must not throw either
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses to sign or encode what has no encoding', () => {
    assert.throws(() => signNameRecord(alice, ADDRESS, -1, EXPIRY), RangeError)
    assert.throws(() => signNameRecord(alice, ADDRESS, 1.5, EXPIRY), RangeError)
    assert.throws(() => signNameRecord(alice, ADDRESS, 0, Number.MAX_SAFE_INTEGER + 1), RangeError)
    const r = signNameRecord(alice, ADDRESS, 1, EXPIRY)
    assert.throws(() => encodeNameRecord({ ...r, signature: new Uint8Array(63) }), RangeError)
    assert.equal(
      MIN_NAME_RECORD_BYTES,
      encodeNameRecord(signNameRecord(alice, Address.root(4), 0, 0)).length,
    )
  })
})

describe('name record verification', () => {
  const good = signNameRecord(alice, ADDRESS, 3, EXPIRY)

  it('accepts a record signed by its name within its lifetime', () => {
    const v = verifyNameRecord(good, NOW)
    assert.ok(v.ok)
    assert.equal(v.value, good)
  })

  it('refuses a record whose expiry has come', () => {
    assert.equal(codeOf(verifyNameRecord(good, EXPIRY - 1)), 'ok')
    assert.equal(codeOf(verifyNameRecord(good, EXPIRY)), 'expired')
    assert.equal(codeOf(verifyNameRecord(good, EXPIRY + 1)), 'expired')
  })

  it('refuses a record valid for longer than the lifetime plus the skew', () => {
    const limit = NOW + 3_600_000 + 60_000
    assert.equal(codeOf(verifyNameRecord(signNameRecord(alice, ADDRESS, 1, limit), NOW)), 'ok')
    const far = signNameRecord(alice, ADDRESS, 1, limit + 1)
    assert.equal(codeOf(verifyNameRecord(far, NOW)), 'too-far-future')
    const opts = { maxLifetimeMs: 10_000, maxClockSkewMs: 0 }
    assert.equal(
      codeOf(verifyNameRecord(signNameRecord(alice, ADDRESS, 1, NOW + 10_000), NOW, opts)),
      'ok',
    )
    assert.equal(
      codeOf(verifyNameRecord(signNameRecord(alice, ADDRESS, 1, NOW + 10_001), NOW, opts)),
      'too-far-future',
    )
  })

  it('refuses forgeries: another signer or any field changed after signing', () => {
    const bySomeoneElse = signNameRecord(mallory, ADDRESS, 3, EXPIRY)
    const flipped = Uint8Array.from(good.signature)
    flipped[10] = (flipped[10] as number) ^ 1
    const forgeries: [string, NameRecord][] = [
      ['signed by another key', { ...bySomeoneElse, name: alice.name }],
      ['name changed', { ...good, name: mallory.name }],
      ['address changed', { ...good, address: Address.fromSlots(4, [3, 2, 2]) }],
      ['seq changed', { ...good, seq: 4 }],
      ['expiry changed', { ...good, expiresAtMs: EXPIRY + 1 }],
      ['signature flipped', { ...good, signature: flipped }],
      ['signature short', { ...good, signature: good.signature.subarray(0, 63) }],
      ['name in upper case', { ...good, name: good.name.toUpperCase() }],
      ['not a name', { ...good, name: 'alice' }],
      ['seq not an integer', { ...good, seq: 3.5 }],
    ]
    for (const [what, forged] of forgeries) {
      assert.equal(codeOf(verifyNameRecord(forged, NOW)), 'bad-signature', what)
    }
  })

  it('decodes a key that is no curve point, which then verifies as nothing', () => {
    const bytes = encodeNameRecord(good)
    bytes.fill(0xff, 0, 32) // not the encoding of a point
    const decoded = decodeNameRecord(bytes)
    assert.ok(decoded.ok)
    assert.equal(codeOf(verifyNameRecord(decoded.value, NOW)), 'bad-signature')
  })
})

describe('name record helpers', () => {
  it('keys a name in the DHT by its public key', () => {
    assert.deepEqual(dhtKeyOfName(alice.name), alice.publicKey)
    assert.deepEqual(dhtKeyOfName(alice.name.toUpperCase()), alice.publicKey)
    assert.deepEqual(keyPoint(dhtKeyOfName(alice.name), 0), keyPoint(alice.publicKey, 0))
    assert.throws(() => dhtKeyOfName('alice'), RangeError)
  })

  it('orders records by seq, then expiry', () => {
    const r = (seq: number, exp: number) => signNameRecord(alice, ADDRESS, seq, exp)
    assert.ok(compareNameRecords(r(1, EXPIRY), r(2, EXPIRY - 5)) < 0)
    assert.ok(compareNameRecords(r(2, EXPIRY), r(2, EXPIRY - 5)) > 0)
    assert.equal(compareNameRecords(r(2, EXPIRY), r(2, EXPIRY)), 0)
    assert.ok(sameNameRecord(r(2, EXPIRY), r(2, EXPIRY))) // Ed25519 signs deterministically
    assert.ok(!sameNameRecord(r(2, EXPIRY), { ...r(2, EXPIRY), address: Address.root(4) }))
  })
})
