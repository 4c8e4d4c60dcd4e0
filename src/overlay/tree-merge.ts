/**
 * Healing a split overlay. Two trees can coexist: a child of the root that was
 * cut off (a suspended laptop, a flapping link) makes itself the root of its
 * own subtree, and a network partition makes one root per side. Whenever a
 * link joins two trees, the older tree wins (lower epoch; on a tie, the
 * smaller root name): the losing tree's root re-joins through a node of the
 * winning tree, and its whole tree re-addresses under it.
 *
 * A mix of tree ids is normal for a moment while a tree re-roots (nodes still
 * carry the dead tree's id), so a node acts only when a winning foreign tree
 * has been in sight for MERGE_AFTER_MS.
 */
import type { TreeId } from './messages.ts'

/** How long a winning foreign tree must stay in sight before the merge starts. */
export const MERGE_AFTER_MS = 10_000

/** Whether tree `a` wins over tree `b`: the older one, then the smaller root name. */
export function treeWins(a: TreeId, b: TreeId): boolean {
  return a.epoch < b.epoch || (a.epoch === b.epoch && a.root < b.root)
}

/** Watches for a winning foreign tree across a node's links. */
export class MergeWatch {
  #sinceMs: number | undefined
  #lastActionMs = Number.NEGATIVE_INFINITY

  /**
   * Feeds what the node sees now (whether some neighbour is in a tree that wins
   * over its own); returns true when it is time to act (then not again for
   * MERGE_AFTER_MS).
   */
  observe(foreignWinnerInSight: boolean, nowMs: number): boolean {
    if (!foreignWinnerInSight) {
      this.#sinceMs = undefined
      return false
    }
    this.#sinceMs ??= nowMs
    if (nowMs - this.#sinceMs < MERGE_AFTER_MS || nowMs - this.#lastActionMs < MERGE_AFTER_MS) {
      return false
    }
    this.#lastActionMs = nowMs
    return true
  }

  /** When observe() should be called again to act, if a winner is in sight. */
  nextDeadlineMs(): number | undefined {
    if (this.#sinceMs === undefined) return undefined
    return Math.max(this.#sinceMs, this.#lastActionMs) + MERGE_AFTER_MS
  }
}
