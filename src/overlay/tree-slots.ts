/**
 * A node's child slots: who holds each, what each child's subtree reported,
 * and slots kept in quarantine after their holder died, so that a dead node's
 * address is not handed to a stranger while records may still point at it
 * (its owner, coming back, gets it again).
 */
import type { LinkId } from './node-types.ts'

export type Slot =
  | { readonly kind: 'free' }
  | {
      readonly kind: 'held'
      readonly link: LinkId
      readonly name: string
      size: number
      minFree: number
    }
  | { readonly kind: 'quarantined'; readonly name: string; readonly untilMs: number }

const FREE: Slot = { kind: 'free' }

export class TreeSlots {
  #slots: Slot[] = []

  /** Clears every slot: a new address may give a different number of them. */
  reset(count: number): void {
    this.#slots = Array.from({ length: count }, () => FREE)
  }

  /** Resizes keeping holders (a root child promoted to root gains one slot). */
  resize(count: number): void {
    while (this.#slots.length < count) this.#slots.push(FREE)
    this.#slots.length = count
  }

  get count(): number {
    return this.#slots.length
  }

  at(slot: number): Slot {
    return this.#slots[slot] ?? FREE
  }

  /** The slot a joiner named `name` may take: its own quarantined slot, else the lowest free. */
  freeSlotFor(name: string, nowMs: number): number | undefined {
    let free: number | undefined
    for (let i = 0; i < this.#slots.length; i++) {
      const s = this.#slots[i] as Slot
      if (s.kind === 'quarantined' && s.name === name) return i
      if (free === undefined && this.#isFree(s, nowMs)) free = i
    }
    return free
  }

  hasFree(nowMs: number): boolean {
    return this.#slots.some((s) => this.#isFree(s, nowMs))
  }

  hold(slot: number, link: LinkId, name: string): void {
    this.#slots[slot] = { kind: 'held', link, name, size: 1, minFree: 0 }
  }

  /** Frees a link's slot: at once on a graceful leave, else into quarantine. */
  release(link: LinkId, quarantineUntilMs: number | undefined): number | undefined {
    const slot = this.slotOf(link)
    if (slot === undefined) return undefined
    const held = this.#slots[slot] as Extract<Slot, { kind: 'held' }>
    this.#slots[slot] =
      quarantineUntilMs === undefined
        ? FREE
        : { kind: 'quarantined', name: held.name, untilMs: quarantineUntilMs }
    return slot
  }

  slotOf(link: LinkId): number | undefined {
    const i = this.#slots.findIndex((s) => s.kind === 'held' && s.link === link)
    return i < 0 ? undefined : i
  }

  /** Records a child's report; whether anything changed. */
  report(link: LinkId, size: number, minFree: number): boolean {
    const slot = this.slotOf(link)
    if (slot === undefined) return false
    const s = this.#slots[slot] as Extract<Slot, { kind: 'held' }>
    if (s.size === size && s.minFree === minFree) return false
    s.size = size
    s.minFree = minFree
    return true
  }

  *held(): Iterable<[number, Extract<Slot, { kind: 'held' }>]> {
    for (let i = 0; i < this.#slots.length; i++) {
      const s = this.#slots[i] as Slot
      if (s.kind === 'held') yield [i, s]
    }
  }

  /** Live nodes in this subtree, this node included. */
  subtreeSize(): number {
    let size = 1
    for (const [, s] of this.held()) size += s.size
    return size
  }

  /** Levels below this node to its subtree's shallowest free slot (0: one of its own). */
  minFree(nowMs: number, none: number): number {
    if (this.hasFree(nowMs)) return 0
    let best = none
    for (const [, s] of this.held()) if (s.minFree < none) best = Math.min(best, s.minFree + 1)
    return best
  }

  /** The held slot whose subtree has the shallowest free slot (ties: the smaller subtree). */
  bestDescent(none: number): Extract<Slot, { kind: 'held' }> | undefined {
    let best: Extract<Slot, { kind: 'held' }> | undefined
    for (const [, s] of this.held()) {
      if (s.minFree >= none) continue
      if (
        best === undefined ||
        s.minFree < best.minFree ||
        (s.minFree === best.minFree && s.size < best.size)
      )
        best = s
    }
    return best
  }

  /** Child subtree sizes per slot (0 where not held): the table the DHT walks. */
  table(): number[] {
    return this.#slots.map((s) => (s.kind === 'held' ? s.size : 0))
  }

  /** Ends quarantines that have run out; whether any did. */
  expire(nowMs: number): boolean {
    let changed = false
    for (let i = 0; i < this.#slots.length; i++) {
      const s = this.#slots[i] as Slot
      if (s.kind === 'quarantined' && s.untilMs <= nowMs) {
        this.#slots[i] = FREE
        changed = true
      }
    }
    return changed
  }

  nextQuarantineEndMs(): number | undefined {
    let next: number | undefined
    for (const s of this.#slots) {
      if (s.kind === 'quarantined' && (next === undefined || s.untilMs < next)) next = s.untilMs
    }
    return next
  }

  #isFree(s: Slot, nowMs: number): boolean {
    return s.kind === 'free' || (s.kind === 'quarantined' && s.untilMs <= nowMs)
  }
}
