/**
 * fast-check arbitraries shared by the codec tests: addresses, counts, and
 * mutations of valid encodings (flips, insertions, deletions, truncation).
 */
import fc from 'fast-check'
import { Address } from '../../src/overlay/address.ts'

/** fast-check may make records with a null prototype, which deepEqual tells apart. */
export const PLAIN = { noNullPrototype: true }

/** An address of degree q, the root included, up to `maxDepth` levels. */
export function arbAddressOf(q: number, maxDepth = 40): fc.Arbitrary<Address> {
  return fc
    .tuple(
      fc.integer({ min: 0, max: q - 1 }),
      fc.array(fc.integer({ min: 0, max: q - 2 }), { maxLength: maxDepth - 1 }),
      fc.boolean(),
    )
    .map(([first, rest, root]) => Address.fromSlots(q, root ? [] : [first, ...rest]))
}

/** An address of any degree. */
export const arbAddress = fc.integer({ min: 3, max: 64 }).chain((q) => arbAddressOf(q))

/** A varint-sized count: mostly small, sometimes up to 2^53 − 1. */
export const arbCount = fc.oneof(fc.nat(300), fc.nat({ max: Number.MAX_SAFE_INTEGER }))

/** Valid encodings with one to four edits: a bit flip, an inserted or deleted byte, a cut. */
export function arbMutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
    )
    .map(([bytes, edits]) => {
      let b = Array.from(bytes)
      for (const [op, at, x] of edits) {
        const i = b.length === 0 ? 0 : at % b.length
        if (op === 0 && b.length > 0) b[i] = (b[i] as number) ^ (x || 1)
        else if (op === 1) b.splice(i, 0, x)
        else if (op === 2) b.splice(i, 1)
        else b = b.slice(0, i)
      }
      return Uint8Array.from(b)
    })
}
