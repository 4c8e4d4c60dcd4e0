/**
 * Exact evaluation of the tree-path product (see geometry.ts): BigInt fixed
 * point with F fractional bits, F growing with the path length so that the
 * worst-case growth of rounding errors stays far below the values compared.
 */
import type { Address } from './address.ts'
import { forEachPathDir } from './tree-path.ts'

/** Bits beyond the worst-case growth that the exact evaluation keeps. */
const EXACT_GUARD_BITS = 96

interface ExactGenerators {
  readonly fracBits: number
  /** [αr, αi, βr, βi] per direction, scaled by 2^fracBits. */
  readonly entries: readonly bigint[]
}

const exactGeneratorCache = new Map<string, ExactGenerators>()

/** Fractional bits that keep the exact product's relative error below about 2^-90. */
export function exactBitsFor(q: number, pathLen: number): number {
  const edge = 2 * Math.log(1 / Math.tan(Math.PI / (2 * q))) // ℓ_q, the length of a tree edge
  const growth = Math.ceil((pathLen * edge) / (2 * Math.LN2))
  return EXACT_GUARD_BITS + growth + 2 * Math.ceil(Math.log2(pathLen + 2))
}

function exactGenerators(q: number, fracBits: number): ExactGenerators {
  // Round the precision up to a multiple of 64 so that the cache stays small.
  const bits = Math.ceil(fracBits / 64) * 64
  const cacheKey = `${q}/${bits}`
  let gens = exactGeneratorCache.get(cacheKey)
  if (gens === undefined) {
    const work = bits + 32
    const one = 1n << BigInt(work)
    const pi = bigPi(work)
    const x = pi / BigInt(q) // π/q
    const [c, s] = bigCosSin(x, work) // cos(π/q), sin(π/q)
    const invS = (one * one) / s
    const cot = (c * one) / s
    const c2 = (2n * c * c) / one - one // cos(2π/q)
    const s2 = (2n * s * c) / one // sin(2π/q)
    const entries: bigint[] = []
    let wr = one // e^{2πij/q}, advanced by complex multiplication
    let wi = 0n
    const down = BigInt(work - bits)
    for (let j = 0; j < q; j++) {
      // β = i·cot·ω = cot·(−sin θ + i cos θ)
      entries.push(0n, -(invS >> down), (-(cot * wi) / one) >> down, ((cot * wr) / one) >> down)
      const nr = (wr * c2 - wi * s2) / one
      const ni = (wr * s2 + wi * c2) / one
      wr = nr
      wi = ni
    }
    gens = { fracBits: bits, entries }
    exactGeneratorCache.set(cacheKey, gens)
  }
  return gens
}

/**
 * cosh²(d(x, y)/2) = |α|² scaled by 2^(2·fracBits), in fixed point with enough
 * bits for the path length (see `exactBitsFor`). Comparisons between candidate
 * neighbours of one decision use the same fracBits.
 */
export function exactCoshSquared(x: Address, y: Address, fracBits: number): bigint {
  const { entries: g, fracBits: F } = exactGenerators(x.q, fracBits)
  const shift = BigInt(F)
  let ar = 1n << shift
  let ai = 0n
  let br = 0n
  let bi = 0n
  forEachPathDir(x, y, (dir) => {
    const o = 4 * dir
    const cr = g[o] as bigint
    const ci = g[o + 1] as bigint
    const dr = g[o + 2] as bigint
    const di = g[o + 3] as bigint
    const nar = (ar * cr - ai * ci + br * dr + bi * di) >> shift
    const nai = (ar * ci + ai * cr + bi * dr - br * di) >> shift
    const nbr = (ar * dr - ai * di + br * cr + bi * ci) >> shift
    const nbi = (ar * di + ai * dr + bi * cr - br * ci) >> shift
    ar = nar
    ai = nai
    br = nbr
    bi = nbi
  })
  const scale = BigInt(2 * (F - fracBits))
  return (ar * ar + ai * ai) >> scale
}

/** π to `bits` fractional bits (Machin: π = 16·atan(1/5) − 4·atan(1/239)). */
function bigPi(bits: number): bigint {
  const one = 1n << BigInt(bits + 16)
  const atanInv = (n: bigint): bigint => {
    let sum = 0n
    let term = one / n
    const n2 = n * n
    for (let k = 0n; term !== 0n; k++) {
      sum += k % 2n === 0n ? term / (2n * k + 1n) : -term / (2n * k + 1n)
      term /= n2
    }
    return sum
  }
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> 16n
}

/** cos and sin of a fixed-point x (|x| ≤ π/3) to `bits` fractional bits, by Taylor series. */
function bigCosSin(x: bigint, bits: number): [bigint, bigint] {
  const one = 1n << BigInt(bits)
  const x2 = (x * x) / one
  let cos = 0n
  let sin = 0n
  let termC = one
  let termS = x
  for (let k = 1n; termC !== 0n || termS !== 0n; k++) {
    cos += termC
    sin += termS
    termC = -(termC * x2) / one / ((2n * k - 1n) * (2n * k))
    termS = -(termS * x2) / one / (2n * k * (2n * k + 1n))
  }
  return [cos, sin]
}
