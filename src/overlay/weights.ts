/**
 * Subtree sizes as the DHT's rendezvous weights. The overlay needs the same
 * rounding to decide when a change of sizes is worth telling a subtree about,
 * so it lives here, below the DHT that walks the tables.
 */

/** Subtree sizes are rounded down to a power of 2^(1/WEIGHT_STEPS_PER_DOUBLING). */
export const WEIGHT_STEPS_PER_DOUBLING = 8

/**
 * A subtree size as a rendezvous weight: exact up to 16, then rounded down to
 * a step of 2^(1/8) (about 9%), so that a weight changes only when its subtree
 * grows or shrinks by that much. Empty slots weigh 0.
 */
export function quantizeWeight(size: number): number {
  if (size <= 16) return Math.max(0, Math.floor(size))
  const step = Math.floor(Math.log2(size) * WEIGHT_STEPS_PER_DOUBLING)
  return 2 ** (step / WEIGHT_STEPS_PER_DOUBLING)
}

/** Whether two tables of sizes give the same weights. */
export function sameWeights(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (quantizeWeight(a[i] as number) !== quantizeWeight(b[i] as number)) return false
  }
  return true
}
