/**
 * Turning a DHT key into the pseudo-random numbers placement consumes.
 *
 * A key's replica r is identified by SHA-256("semos/dht/v1" ‖ u8 r ‖ key).
 * Placement then draws uniform numbers from it by (level, slot) with a 32-bit
 * mixer, so that every node computes the same draws without hashing again.
 * This is part of the placement contract: changing it moves every record.
 */
import { hash } from 'node:crypto'

const DOMAIN = Buffer.from('semos/dht/v1', 'utf8')

/** One replica of one key: the first 64 bits of its digest, as two words. */
export interface KeyPoint {
  readonly h1: number
  readonly h2: number
}

export function keyPoint(key: Uint8Array | string, replica: number): KeyPoint {
  if (!Number.isInteger(replica) || replica < 0 || replica > 255) {
    throw new RangeError(`replica index must be in [0, 255], got ${replica}`)
  }
  const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  const input = Buffer.allocUnsafe(DOMAIN.length + 1 + keyBytes.length)
  input.set(DOMAIN, 0)
  input[DOMAIN.length] = replica
  input.set(keyBytes, DOMAIN.length + 1)
  const digest = hash('sha256', input, 'buffer')
  return { h1: digest.readUInt32BE(0), h2: digest.readUInt32BE(4) }
}

/** A uniform number in (0, 1) drawn from a key point for (level, slot). */
export function unitDraw(point: KeyPoint, level: number, slot: number): number {
  let x = mix32(point.h1 ^ Math.imul(level + 1, 0x9e3779b1))
  x = mix32(x ^ point.h2 ^ Math.imul(slot + 1, 0x85ebca77))
  x = mix32(x + point.h1)
  // (x + 0.5) / 2^32 is never 0 or 1, so -ln(u) is finite and positive.
  return (x + 0.5) / 4294967296
}

function mix32(v: number): number {
  let x = v >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}
