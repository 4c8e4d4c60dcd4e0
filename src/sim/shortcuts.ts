/**
 * Shortcut-link policies: which non-tree links nodes add, under a degree bound
 * (every child slot counts against it, used or not, so a node can always
 * accept its children). Greedy routing stays correct with any shortcuts; they
 * only shorten routes (docs/overlay.md, "Shortcuts").
 *
 * - `none`:      tree links only.
 * - `local`:     the nodes two tree hops away (grandparent, siblings): the
 *                hyperbolically nearest nodes that are not already neighbours.
 * - `ancestors`: the ancestors 2, 4, 8, ... levels up (a skip list up the tree).
 * - `random`:    uniformly random members (what a node learns from bootstrap contacts).
 * - `mixed`:     half `local`, the rest `random`.
 */
import type { Rng } from '../core/rng.ts'
import type { SimNode, SimOverlay } from './overlay.ts'

export type ShortcutPolicy = 'none' | 'local' | 'ancestors' | 'random' | 'mixed'
export const SHORTCUT_POLICIES: readonly ShortcutPolicy[] = [
  'none',
  'local',
  'ancestors',
  'random',
  'mixed',
]

export interface ShortcutInit {
  readonly policy: ShortcutPolicy
  /** Shortcuts each node tries to add. */
  readonly perNode: number
  /** Bound on a node's links, tree slots included. */
  readonly maxDegree: number
}

/** Adds shortcuts to every live node; returns how many links were added. */
export function addShortcuts(overlay: SimOverlay, init: ShortcutInit, rng: Rng): number {
  if (init.policy === 'none' || init.perNode <= 0) return 0
  const ids = rng.shuffle(overlay.aliveIds())
  let added = 0
  for (const id of ids) {
    const node = overlay.node(id)
    for (const target of targets(overlay, node, init, ids, rng)) {
      if (overlay.link(node, target, init.maxDegree)) added++
    }
  }
  return added
}

function targets(
  overlay: SimOverlay,
  node: SimNode,
  init: ShortcutInit,
  ids: readonly number[],
  rng: Rng,
): SimNode[] {
  switch (init.policy) {
    case 'none':
      return []
    case 'local':
      return localTargets(overlay, node, init.perNode, rng)
    case 'ancestors':
      return ancestorTargets(overlay, node, init.perNode)
    case 'random':
      return randomTargets(overlay, init.perNode, ids, rng)
    case 'mixed': {
      const local = localTargets(overlay, node, Math.ceil(init.perNode / 2), rng)
      return [...local, ...randomTargets(overlay, init.perNode - local.length, ids, rng)]
    }
  }
}

/** Nodes two tree hops away (grandparent, siblings), the hyperbolically nearest non-neighbours. */
function localTargets(overlay: SimOverlay, node: SimNode, want: number, rng: Rng): SimNode[] {
  if (want <= 0 || node.parent < 0) return []
  const parent = overlay.node(node.parent)
  const out: SimNode[] = []
  for (const c of parent.children) if (c >= 0 && c !== node.id) out.push(overlay.node(c))
  if (parent.parent >= 0) out.push(overlay.node(parent.parent))
  return rng.shuffle(out).slice(0, want)
}

function ancestorTargets(overlay: SimOverlay, node: SimNode, want: number): SimNode[] {
  const out: SimNode[] = []
  let cur = node
  let climbed = 0
  for (let next = 2; out.length < want; next *= 2) {
    while (climbed < next && cur.parent >= 0) {
      cur = overlay.node(cur.parent)
      climbed++
    }
    if (climbed < next) break
    out.push(cur)
  }
  return out
}

function randomTargets(
  overlay: SimOverlay,
  want: number,
  ids: readonly number[],
  rng: Rng,
): SimNode[] {
  const out: SimNode[] = []
  for (let i = 0; i < want; i++) out.push(overlay.node(ids[rng.int(ids.length)] as number))
  return out
}
