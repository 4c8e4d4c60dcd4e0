/**
 * The tree path between two addresses as a sequence of generator directions:
 * up from the first address to the lowest common ancestor, then down to the
 * second. Both distance evaluations (geometry.ts, geometry-exact.ts) walk it.
 */
import type { Address } from './address.ts'

/**
 * Calls `visit(dir)` for each generator of the tree path from x to y, in
 * product order: up from x to the common ancestor, then down to y.
 */
export function forEachPathDir(x: Address, y: Address, visit: (dir: number) => void): void {
  const c = x.commonDepth(y)
  const xd = x.dirs
  const yd = y.dirs
  for (let k = xd.length - 1; k >= c; k--) visit(xd[k] as number)
  for (let k = c; k < yd.length; k++) visit(yd[k] as number)
}

let dirScratch = new Uint8Array(256)
/** The generator directions of the tree path from x to y, in product order (shared scratch). */
export function pathDirs(x: Address, y: Address): Uint8Array {
  const n = x.treeDistance(y)
  if (dirScratch.length < n) dirScratch = new Uint8Array(2 * n)
  const out = dirScratch
  let i = 0
  forEachPathDir(x, y, (dir) => {
    out[i++] = dir
  })
  return out
}
