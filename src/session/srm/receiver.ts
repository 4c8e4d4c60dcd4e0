/**
 * The receiving half of the session's sequence space: a reorder buffer bounded by the
 * window this side advertises, and the acknowledgement scheme of MUSeS Algorithm 1 —
 * one cumulative ACK per `ackEveryRecords` reliable records, or `ackDelayMs` after the
 * first unacknowledged one, whichever comes first. A gap or a duplicate is acknowledged
 * at once, so that the sender learns of a loss (SACK) or of a spurious resend quickly.
 */
import type { ControlFrame, ReliableFrame, SackRange } from './srm-frames.ts'
import { MAX_SACK_RANGES } from './srm-frames.ts'

/** A record this far above the cumulative point is dropped whatever its size. */
export const MAX_REORDER_RECORDS = 8192

export type ReceiverInit = {
  readonly ackEveryRecords: number
  readonly ackDelayMs: number
  readonly reorderWindowBytes: number
}

export type Arrival =
  /** In order (with whatever the reorder buffer now releases): frames to process, in order. */
  | { readonly kind: 'deliver'; readonly records: readonly (readonly ReliableFrame[])[] }
  | { readonly kind: 'buffered' }
  | { readonly kind: 'duplicate' }
  /** Above the reorder window: dropped; the sender resends it later. */
  | { readonly kind: 'dropped' }

type Held = { readonly frames: readonly ReliableFrame[]; readonly size: number }

export class Receiver {
  readonly #init: ReceiverInit
  #cumulative = 0
  readonly #held = new Map<number, Held>()
  #heldBytes = 0
  #unacked = 0
  #firstUnackedAtMs: number | undefined
  #ackNow = false

  constructor(init: ReceiverInit) {
    this.#init = init
  }

  /** The highest sequence number received in order. */
  get cumulative(): number {
    return this.#cumulative
  }

  /** Bytes held above a gap (bounded by `reorderWindowBytes`). */
  get heldBytes(): number {
    return this.#heldBytes
  }

  /** Files one reliable record of `size` encoded bytes. */
  accept(seq: number, frames: readonly ReliableFrame[], size: number, nowMs: number): Arrival {
    this.#firstUnackedAtMs ??= nowMs
    this.#unacked++
    if (this.#unacked >= this.#init.ackEveryRecords) this.#ackNow = true
    if (seq <= this.#cumulative || this.#held.has(seq)) {
      this.#ackNow = true
      return { kind: 'duplicate' }
    }
    if (seq > this.#cumulative + 1) {
      this.#ackNow = true
      const fits = this.#heldBytes + size <= this.#init.reorderWindowBytes
      if (!fits || seq - this.#cumulative > MAX_REORDER_RECORDS) return { kind: 'dropped' }
      this.#held.set(seq, { frames, size })
      this.#heldBytes += size
      return { kind: 'buffered' }
    }
    const records = [frames]
    this.#cumulative = seq
    for (let next = this.#held.get(seq + 1); next; next = this.#held.get(this.#cumulative + 1)) {
      this.#held.delete(this.#cumulative + 1)
      this.#heldBytes -= next.size
      this.#cumulative++
      records.push(next.frames)
    }
    return { kind: 'deliver', records }
  }

  /** When an ACK becomes due, or undefined when none is pending. */
  ackDeadlineMs(): number | undefined {
    // accept() sets the first arrival before it may set #ackNow.
    if (this.#firstUnackedAtMs === undefined) return undefined
    return this.#ackNow ? this.#firstUnackedAtMs : this.#firstUnackedAtMs + this.#init.ackDelayMs
  }

  /** The ACK frame if one is due at `nowMs`. */
  takeAck(nowMs: number): ControlFrame | undefined {
    const due = this.ackDeadlineMs()
    if (due === undefined || nowMs < due) return undefined
    this.#ackNow = false
    this.#unacked = 0
    this.#firstUnackedAtMs = undefined
    return {
      type: 'ack',
      cumulative: this.#cumulative,
      windowBytes: this.#init.reorderWindowBytes,
      ranges: this.#ranges(),
    }
  }

  #ranges(): SackRange[] {
    const seqs = [...this.#held.keys()].sort((a, b) => a - b)
    const ranges: SackRange[] = []
    for (const s of seqs) {
      const last = ranges.at(-1)
      if (last && last.end + 1 === s) ranges[ranges.length - 1] = { start: last.start, end: s }
      else if (ranges.length === MAX_SACK_RANGES) break
      else ranges.push({ start: s, end: s })
    }
    return ranges
  }
}
