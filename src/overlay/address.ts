/**
 * Overlay addresses. The canonical form of an address is the tree path from the
 * root: the overlay's degree q and one child-slot index per level. Coordinates in
 * the Poincaré disk are derived from the path (see `geometry.ts`) at whatever
 * precision a decision needs, so an address is exact at any depth and equality is
 * plain path equality.
 *
 * Slots: the root gives out slots 0..q-1; every other node gives out 0..q-2,
 * because one of its q directions points back to its parent.
 */

/** Smallest overlay degree: q = 3 gives ideal triangles, the smallest tiling. */
export const MIN_Q = 3
/** Largest overlay degree the encoding supports (slots fit in 6 bits). */
export const MAX_Q = 64

export class Address {
  /** The overlay's degree: directions around every node. */
  readonly q: number
  /** One child-slot index per level, root first. Never mutated. */
  readonly slots: Uint8Array
  /** A canonical string for use as a map key (one char for q, one per level). */
  readonly key: string
  #dirs: Uint8Array | undefined

  private constructor(q: number, slots: Uint8Array) {
    this.q = q
    this.slots = slots
    this.key = String.fromCharCode(q, ...slots)
  }

  /** The root's address of an overlay of degree q. */
  static root(q: number): Address {
    assertQ(q)
    return new Address(q, new Uint8Array(0))
  }

  /**
   * An address from its slot path. Throws a RangeError on a slot out of range:
   * callers with untrusted bytes use the codec, which reports instead.
   */
  static fromSlots(q: number, slots: ArrayLike<number>): Address {
    assertQ(q)
    const copy = Uint8Array.from(slots)
    for (let level = 0; level < copy.length; level++) {
      const slot = copy[level] as number
      if (slot >= slotCount(q, level)) {
        throw new RangeError(`slot ${slot} out of range at level ${level} for q=${q}`)
      }
    }
    return new Address(q, copy)
  }

  get depth(): number {
    return this.slots.length
  }

  get isRoot(): boolean {
    return this.slots.length === 0
  }

  /** How many children this address can give out. */
  get childSlots(): number {
    return slotCount(this.q, this.slots.length)
  }

  child(slot: number): Address {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.childSlots) {
      throw new RangeError(`no child slot ${slot} at depth ${this.depth} for q=${this.q}`)
    }
    const slots = new Uint8Array(this.slots.length + 1)
    slots.set(this.slots)
    slots[this.slots.length] = slot
    return new Address(this.q, slots)
  }

  parent(): Address | undefined {
    if (this.isRoot) return undefined
    return new Address(this.q, this.slots.slice(0, -1))
  }

  /** The ancestor at `depth` (this address itself when depth equals its own). */
  ancestor(depth: number): Address {
    if (depth < 0 || depth > this.depth) throw new RangeError(`no ancestor at depth ${depth}`)
    return depth === this.depth ? this : new Address(this.q, this.slots.slice(0, depth))
  }

  /**
   * Direction, in the local frame of each level's node, of the edge from its
   * parent: dirs[k] indexes the generator that places level k. The node at level
   * k sees its parent in direction dirs[k], which is why its children skip it.
   */
  get dirs(): Uint8Array {
    if (this.#dirs === undefined) {
      const dirs = new Uint8Array(this.slots.length)
      let prev = -1
      for (let k = 0; k < this.slots.length; k++) {
        const slot = this.slots[k] as number
        prev = k === 0 ? slot : (prev + slot + 1) % this.q
        dirs[k] = prev
      }
      this.#dirs = dirs
    }
    return this.#dirs
  }

  /** Length of the longest common prefix: the depth of the lowest common ancestor. */
  commonDepth(other: Address): number {
    const n = Math.min(this.slots.length, other.slots.length)
    let i = 0
    while (i < n && this.slots[i] === other.slots[i]) i++
    return i
  }

  isAncestorOf(other: Address): boolean {
    return (
      this.q === other.q &&
      this.slots.length <= other.slots.length &&
      this.commonDepth(other) === this.slots.length
    )
  }

  equals(other: Address): boolean {
    return this.key === other.key
  }

  /** Hops between two addresses along the tree. */
  treeDistance(other: Address): number {
    return this.depth + other.depth - 2 * this.commonDepth(other)
  }

  /** Human-readable form, e.g. `q4:/2.0.1` (the root is `q4:/`). */
  toString(): string {
    return `q${this.q}:/${Array.from(this.slots).join('.')}`
  }
}

/** Child slots a node at `depth` gives out in an overlay of degree q. */
export function slotCount(q: number, depth: number): number {
  return depth === 0 ? q : q - 1
}

export function isValidQ(q: number): boolean {
  return Number.isInteger(q) && q >= MIN_Q && q <= MAX_Q
}

function assertQ(q: number): void {
  if (!isValidQ(q))
    throw new RangeError(`overlay degree q must be an integer in [${MIN_Q}, ${MAX_Q}], got ${q}`)
}
