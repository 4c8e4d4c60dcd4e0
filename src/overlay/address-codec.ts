/**
 * Wire encoding of an overlay address (documented in docs/wire-address.md):
 *
 *   u8      q            overlay degree, 3..64
 *   varint  depth        number of levels, 0..MAX_ADDRESS_DEPTH
 *   bytes   slots        ceil(depth * b / 8) bytes, b = ceil(log2 q) bits per
 *                        level, most significant bit first, zero padding
 *
 * The size grows with depth only: a depth-31 address in a q = 4 overlay is 10 bytes.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { Address, isValidQ, slotCount } from './address.ts'

/** Deepest address a decoder accepts: bounds the work an untrusted frame can cause. */
export const MAX_ADDRESS_DEPTH = 65_535

export type AddressDecodeError =
  | 'truncated'
  | 'bad-degree'
  | 'too-deep'
  | 'bad-slot'
  | 'bad-padding'
  | 'trailing-bytes'

/** Bits one level's slot takes for degree q. */
export function bitsPerLevel(q: number): number {
  return Math.ceil(Math.log2(q))
}

export function writeAddress(w: ByteWriter, address: Address): void {
  const b = bitsPerLevel(address.q)
  w.u8(address.q).varint(address.depth)
  const packed = new Uint8Array(Math.ceil((address.depth * b) / 8))
  let bit = 0
  for (const slot of address.slots) {
    for (let i = b - 1; i >= 0; i--, bit++) {
      if ((slot >> i) & 1) packed[bit >> 3] = (packed[bit >> 3] as number) | (0x80 >> (bit & 7))
    }
  }
  w.bytes(packed)
}

/** How many bytes writeAddress writes for `address`. */
export function addressWireBytes(address: Address): number {
  let varint = 1
  for (let d = address.depth; d >= 0x80; d = Math.floor(d / 0x80)) varint++
  return 1 + varint + Math.ceil((address.depth * bitsPerLevel(address.q)) / 8)
}

export function encodeAddress(address: Address): Uint8Array {
  const w = new ByteWriter(8 + address.depth)
  writeAddress(w, address)
  return w.finish()
}

export function readAddress(r: ByteReader): Decoded<Address, AddressDecodeError> {
  const q = r.u8()
  if (q === undefined) return fail('truncated', 'missing degree')
  if (!isValidQ(q)) return fail('bad-degree', `degree ${q} outside [3, 64]`)
  const depth = r.varint()
  if (depth === undefined) return fail('truncated', 'bad or missing depth')
  if (depth > MAX_ADDRESS_DEPTH) return fail('too-deep', `depth ${depth} > ${MAX_ADDRESS_DEPTH}`)
  const b = bitsPerLevel(q)
  const packed = r.bytes(Math.ceil((depth * b) / 8))
  if (packed === undefined) return fail('truncated', `slots of ${depth} levels`)
  const slots = new Uint8Array(depth)
  let bit = 0
  for (let level = 0; level < depth; level++) {
    let slot = 0
    for (let i = 0; i < b; i++, bit++) {
      slot = (slot << 1) | (((packed[bit >> 3] as number) >> (7 - (bit & 7))) & 1)
    }
    if (slot >= slotCount(q, level)) return fail('bad-slot', `slot ${slot} at level ${level}`)
    slots[level] = slot
  }
  for (; bit < packed.length * 8; bit++) {
    if (((packed[bit >> 3] as number) >> (7 - (bit & 7))) & 1) {
      return fail('bad-padding', 'non-zero padding bits')
    }
  }
  return ok(Address.fromSlots(q, slots))
}

/** Decodes a buffer that holds exactly one address. */
export function decodeAddress(buf: Uint8Array): Decoded<Address, AddressDecodeError> {
  const r = new ByteReader(buf)
  const result = readAddress(r)
  if (result.ok && r.remaining > 0)
    return fail('trailing-bytes', `${r.remaining} bytes after address`)
  return result
}
