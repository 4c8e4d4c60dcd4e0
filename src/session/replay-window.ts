/**
 * A sliding replay window over 64-bit sequence numbers (RFC 6479's bitmap, as WireGuard
 * keeps one per key): the highest accepted seq and one bit for each of the `sizeBits` seqs
 * at and below it. A seq above the top is new; one inside the window is new unless its bit
 * is set; one below the window is too old to tell, so it is refused.
 *
 * Contract: `check` before authenticating and `accept` only after, so that a forged record
 * never moves the window (a forged high seq would otherwise push honest records out of it).
 */

/** Tuning: the default window, as in WireGuard (about 8,000 records of reordering). */
export const DEFAULT_REPLAY_WINDOW_BITS = 8192

export type ReplayError = 'replayed' | 'too-old'
export type ReplayVerdict = 'new' | ReplayError

export class ReplayWindow {
  readonly #size: bigint
  readonly #bits: Uint32Array
  #top = -1n // nothing accepted yet

  /** `sizeBits`: a positive multiple of 32. Throws RangeError otherwise. */
  constructor(sizeBits = DEFAULT_REPLAY_WINDOW_BITS) {
    if (!Number.isInteger(sizeBits) || sizeBits <= 0 || sizeBits % 32 !== 0) {
      throw new RangeError(`a replay window is a positive multiple of 32 bits, got ${sizeBits}`)
    }
    this.#size = BigInt(sizeBits)
    this.#bits = new Uint32Array(sizeBits / 32)
  }

  /** The highest accepted seq, or -1 before the first. */
  get top(): bigint {
    return this.#top
  }

  /** Whether `seq` would be accepted; changes nothing. */
  check(seq: bigint): ReplayVerdict {
    if (seq > this.#top) return 'new'
    if (this.#top - seq >= this.#size) return 'too-old'
    return this.#isSet(seq) ? 'replayed' : 'new'
  }

  /** Records `seq` as seen, sliding the window up if it is the new top; the verdict first. */
  accept(seq: bigint): ReplayVerdict {
    const verdict = this.check(seq)
    if (verdict !== 'new') return verdict
    if (seq > this.#top) this.#slideTo(seq)
    const i = this.#index(seq)
    this.#bits[i >>> 5] = (this.#bits[i >>> 5] as number) | (1 << (i & 31))
    return verdict
  }

  /** Clears the bits of the seqs the window now covers for the first time. */
  #slideTo(seq: bigint): void {
    const gap = seq - this.#top
    if (this.#top < 0n || gap >= this.#size) {
      this.#bits.fill(0)
    } else {
      for (let s = this.#top + 1n; s <= seq; s++) {
        const i = this.#index(s)
        this.#bits[i >>> 5] = (this.#bits[i >>> 5] as number) & ~(1 << (i & 31))
      }
    }
    this.#top = seq
  }

  #isSet(seq: bigint): boolean {
    const i = this.#index(seq)
    return (((this.#bits[i >>> 5] as number) >>> (i & 31)) & 1) === 1
  }

  #index(seq: bigint): number {
    return Number(seq % this.#size)
  }
}
