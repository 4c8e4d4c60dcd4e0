/**
 * Hyperbolic distances between tree addresses, computed along the tree path.
 *
 * Every node of an overlay of degree q sits at M(0), where M = G[d0]·G[d1]···
 * is the product of the generators along its direction path (Address.dirs) and
 * G[j] is the half-turn that swaps the origin and t·e^{2πij/q}, t = cos(π/q)
 * (Kleinberg's embedding; docs/overlay.md). Isometries preserve distance, so
 *
 *   d(x, y) = d(0, M_x⁻¹·M_y(0)),  and M_x⁻¹·M_y = G[x_n]···G[x_c]·G[y_c]···G[y_m]
 *
 * is the product of the generators along the tree path from x to y through
 * their lowest common ancestor (each G is its own inverse up to sign). With M
 * written in SU(1,1) form [[α, β], [β̄, ᾱ]], cosh(d/2) = |α|. Nothing here ever
 * forms a coordinate near the rim of the disk, which is where float64 collapses.
 *
 * Two evaluations of the same product:
 * - `pathLogCosh` (here): float64 with a running bound on its own rounding
 *   error, the fast path;
 * - `exactCoshSquared` (geometry-exact.ts): BigInt fixed point whose precision
 *   grows with the path length, used when the float bounds cannot decide.
 */
import type { Address } from './address.ts'
import { pathDirs } from './tree-path.ts'

/** Rounding error of one step of the float product, generously: a few ulps of every term. */
const STEP_ROUNDING = 16 * Number.EPSILON
/** Rescale the float product when |α| passes 2^RESCALE_BITS, so nothing overflows. */
const RESCALE_BITS = 256
const RESCALE_DOWN = 2 ** -RESCALE_BITS
const RESCALE_UP_LIMIT = 2 ** RESCALE_BITS

/** ln cosh(d/2) of a distance d, with an absolute bound on its error. */
export interface LogCosh {
  readonly value: number
  readonly error: number
}

interface FloatGenerators {
  /** [αr, αi, βr, βi] per direction. */
  readonly entries: Float64Array
  /** Operator norm |α| + |β|, the same for every direction. */
  readonly norm: number
}

const floatGeneratorCache = new Map<number, FloatGenerators>()

function floatGenerators(q: number): FloatGenerators {
  let gens = floatGeneratorCache.get(q)
  if (gens === undefined) {
    const s = Math.sin(Math.PI / q)
    const cot = Math.cos(Math.PI / q) / s
    const entries = new Float64Array(4 * q)
    for (let j = 0; j < q; j++) {
      const theta = (2 * Math.PI * j) / q
      entries[4 * j] = 0
      entries[4 * j + 1] = -1 / s
      entries[4 * j + 2] = -cot * Math.sin(theta)
      entries[4 * j + 3] = cot * Math.cos(theta)
    }
    gens = { entries, norm: (1 + Math.cos(Math.PI / q)) / s }
    floatGeneratorCache.set(q, gens)
  }
  return gens
}

/**
 * ln cosh(d(x, y)/2) in float64, with a bound on its error.
 *
 * The cheap bound (default) assumes the rounding error of each step grows by
 * the generator's norm at every later step: rigorous, but pessimistic by
 * e^{(Σℓ − d)/2} on paths that turn, so long winding paths fail it. The
 * `refined` bound multiplies each step's rounding by the norms of the actual
 * prefix and suffix products instead (a second pass over the path), which is
 * within a small factor of the true error on any tree path.
 */
export function pathLogCosh(x: Address, y: Address, refined = false): LogCosh {
  const { entries: g, norm: gNorm } = floatGenerators(x.q)
  const n = x.treeDistance(y)
  const dirs = pathDirs(x, y)
  const logPre = refined ? prefixLogNorms(n) : undefined
  const p = new FloatProduct()
  let err = 0
  for (let k = 0; k < n; k++) {
    const norm = p.norm()
    if (logPre !== undefined) logPre[k] = Math.log(norm) + p.scaleExp * Math.LN2
    p.mulRight(g, 4 * (dirs[k] as number))
    err = err * gNorm + STEP_ROUNDING * norm * gNorm
    if (p.rescale()) err *= RESCALE_DOWN
  }
  const mag = Math.sqrt(p.ar * p.ar + p.ai * p.ai)
  const value = Math.log(mag) + p.scaleExp * Math.LN2
  let rel = err < mag ? err / (mag - err) : Number.POSITIVE_INFINITY
  if (logPre !== undefined)
    rel = Math.min(rel, refinedRelativeError(g, gNorm, dirs, n, logPre, value))
  return { value, error: rel + 4 * Number.EPSILON * Math.abs(value) }
}

/**
 * Σ_k γ·‖P_{k}‖·‖G‖·‖S_{k+1}‖ / |α|, with P_k the product of the first k
 * generators and S_{k+1} that of the last n−k−1, evaluated in log space; doubled
 * to cover the rounding of the bound itself. The suffix norms come from a
 * right-to-left pass over the same generators.
 */
function refinedRelativeError(
  g: Float64Array,
  gNorm: number,
  dirs: Uint8Array,
  n: number,
  logPre: Float64Array,
  logAlpha: number,
): number {
  const suffix = new FloatProduct()
  let sum = 0
  const logStep = Math.log(STEP_ROUNDING * gNorm)
  for (let k = n - 1; k >= 0; k--) {
    const logSuffix = Math.log(suffix.norm()) + suffix.scaleExp * Math.LN2
    sum += Math.exp((logPre[k] as number) + logStep + logSuffix - logAlpha)
    suffix.mulLeft(g, 4 * (dirs[k] as number))
    suffix.rescale()
  }
  const rel = 2 * sum
  return rel < 0.5 ? rel / (1 - rel) : Number.POSITIVE_INFINITY
}

/** An SU(1,1) matrix [[α, β], [β̄, ᾱ]] in float64, scaled by 2^scaleExp so that it never overflows. */
class FloatProduct {
  ar = 1
  ai = 0
  br = 0
  bi = 0
  scaleExp = 0

  /** Operator norm |α| + |β|, bounded above by the sum of the components' magnitudes. */
  norm(): number {
    return Math.abs(this.ar) + Math.abs(this.ai) + Math.abs(this.br) + Math.abs(this.bi)
  }

  /** this ← this·G, with G's [αr, αi, βr, βi] at g[o..o+3]: (α, β)·(γ, δ) = (αγ + β·δ̄, αδ + β·γ̄). */
  mulRight(g: Float64Array, o: number): void {
    const { ar, ai, br, bi } = this
    const cr = g[o] as number
    const ci = g[o + 1] as number
    const dr = g[o + 2] as number
    const di = g[o + 3] as number
    this.ar = ar * cr - ai * ci + (br * dr + bi * di)
    this.ai = ar * ci + ai * cr + (bi * dr - br * di)
    this.br = ar * dr - ai * di + (br * cr + bi * ci)
    this.bi = ar * di + ai * dr + (bi * cr - br * ci)
  }

  /** this ← G·this: (γ, δ)·(α, β) = (γα + δ·β̄, γβ + δ·ᾱ). */
  mulLeft(g: Float64Array, o: number): void {
    const { ar, ai, br, bi } = this
    const cr = g[o] as number
    const ci = g[o + 1] as number
    const dr = g[o + 2] as number
    const di = g[o + 3] as number
    this.ar = cr * ar - ci * ai + (dr * br + di * bi)
    this.ai = cr * ai + ci * ar + (di * br - dr * bi)
    this.br = cr * br - ci * bi + (dr * ar + di * ai)
    this.bi = cr * bi + ci * br + (di * ar - dr * ai)
  }

  /** Scales down by 2^RESCALE_BITS once |α| passes 2^RESCALE_BITS; true if it did. */
  rescale(): boolean {
    if (Math.abs(this.ar) <= RESCALE_UP_LIMIT && Math.abs(this.ai) <= RESCALE_UP_LIMIT) return false
    this.ar *= RESCALE_DOWN
    this.ai *= RESCALE_DOWN
    this.br *= RESCALE_DOWN
    this.bi *= RESCALE_DOWN
    this.scaleExp += RESCALE_BITS
    return true
  }
}

let prefixScratch = new Float64Array(256)
function prefixLogNorms(n: number): Float64Array {
  if (prefixScratch.length < n) prefixScratch = new Float64Array(2 * n)
  return prefixScratch
}

/** Hyperbolic distance between two addresses (float64; for reports and plots). */
export function hyperbolicDistance(x: Address, y: Address): number {
  const lc = pathLogCosh(x, y).value
  // d = 2·arcosh(e^lc); for large lc, arcosh(e^lc) = lc + ln 2 - e^(-2lc)/4 ...
  return lc > 20 ? 2 * (lc + Math.LN2) : 2 * Math.acosh(Math.exp(lc))
}

/**
 * Approximate position in the Poincaré disk, in float64: for drawing only.
 * Past a few dozen levels every point rounds onto the rim; routing never uses this.
 */
export function diskPosition(a: Address): [number, number] {
  const q = a.q
  const t = Math.cos(Math.PI / q)
  let zr = 0
  let zi = 0
  // Apply G[d0]∘G[d1]∘…∘G[dn-1] to the origin, innermost first: g(z) = (w − z)/(1 − w̄z).
  for (let k = a.dirs.length - 1; k >= 0; k--) {
    const theta = (2 * Math.PI * (a.dirs[k] as number)) / q
    const wr = t * Math.cos(theta)
    const wi = t * Math.sin(theta)
    const nr = wr - zr
    const ni = wi - zi
    const dr = 1 - (wr * zr + wi * zi)
    const di = -(wr * zi - wi * zr)
    const den = dr * dr + di * di
    zr = (nr * dr + ni * di) / den
    zi = (ni * dr - nr * di) / den
  }
  return [zr, zi]
}
