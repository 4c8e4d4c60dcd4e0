/**
 * The sealed floor's codec (bench/sealed-floor.ts): a benchmark baseline, tested so that it
 * cannot flatter itself by dropping, reordering or failing to verify what it carries.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { Opener, RECORD_BYTES, Sealer } from '../../bench/sealed-floor.ts'

const join = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts)

/** The sealed bytes cut at the given (sorted, in-range) offsets, as a socket might. */
function cut(bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [0, ...at, bytes.length]
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end))
}

test('opens what it sealed, however the stream is cut', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 * RECORD_BYTES }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (sizes, cuts) => {
        const key = randomBytes(32)
        const sealer = new Sealer(key)
        const plaintext = sizes.map((n) => randomBytes(n))
        const sealed = join(plaintext.flatMap((p) => sealer.seal(p)))
        const at = [...new Set(cuts.map((c) => c % sealed.length))].sort((a, b) => a - b)
        const opener = new Opener(key)
        const opened = cut(sealed, at).flatMap((c) => opener.push(c))
        assert.deepEqual(join(opened), join(plaintext))
      },
    ),
    { numRuns: 40 },
  )
})

test('a record whose ciphertext was changed is refused, and none of it is released', () => {
  const key = randomBytes(32)
  const sealed = join(new Sealer(key).seal(randomBytes(1000)))
  sealed[100] = (sealed[100] as number) ^ 1
  const opener = new Opener(key)
  assert.deepEqual(opener.push(sealed.subarray(0, sealed.length - 1)), [])
  assert.throws(() => opener.push(sealed.subarray(sealed.length - 1)), /auth/i)
})

test('records are bound to their order (a per-record nonce)', () => {
  const key = randomBytes(32)
  const sealer = new Sealer(key)
  const first = join(sealer.seal(randomBytes(10)))
  const second = join(sealer.seal(randomBytes(10)))
  assert.throws(() => new Opener(key).push(Buffer.concat([second, first])), /auth/i)
})

test('a length no record can have is refused', () => {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(RECORD_BYTES + 17)
  assert.throws(() => new Opener(randomBytes(32)).push(header), /a record of/)
})
