/**
 * The name records this node holds as an owner or replica for other nodes
 * (docs/wire-dht.md, "Record store"). Sans-I/O: every call takes the current
 * time, and `nextExpiryMs` tells a driver when `expire` has work to do.
 *
 * `put` in order:
 *   1. an expired held record counts as absent;
 *   2. a record identical to the held one is `same` (no signature check: it
 *      was checked when stored);
 *   3. `verifyNameRecord`: `expired`, `too-far-future`, `bad-signature`;
 *   4. against the held record, by (seq, expiry): older or tied is `stale-seq`;
 *   5. a new name at capacity evicts the record that expires soonest, if that
 *      one expires before the newcomer; otherwise `full`.
 * Every rejection is counted in `counters` under its code.
 */
import { canonicalName } from '../identity/name.ts'
import {
  compareNameRecords,
  type NameRecord,
  sameNameRecord,
  type VerifyOptions,
  verifyNameRecord,
} from './name-record.ts'

/** Records a store holds unless configured otherwise. */
export const DEFAULT_MAX_RECORDS = 100_000

export type PutRejection = 'bad-signature' | 'expired' | 'too-far-future' | 'stale-seq' | 'full'
export type PutOutcome = 'stored' | 'replaced' | 'same' | PutRejection

export interface RecordStoreInit extends VerifyOptions {
  /** Most records held at once; default DEFAULT_MAX_RECORDS. */
  readonly maxRecords?: number
}

interface Slot {
  record: NameRecord
  /** Position in the expiry heap, kept current by the heap. */
  heapIndex: number
}

export class RecordStore {
  /** Rejected puts by reason, for metrics: bad remote input is dropped and counted. */
  readonly counters: Readonly<Record<PutRejection, number>>
  readonly #counters: Record<PutRejection, number>
  readonly #maxRecords: number
  readonly #verify: VerifyOptions
  readonly #byName = new Map<string, Slot>()
  /** Min-heap on expiry: finds the next record to expire or evict in O(1). */
  readonly #heap: Slot[] = []

  constructor(init: RecordStoreInit = {}) {
    const maxRecords = init.maxRecords ?? DEFAULT_MAX_RECORDS
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
      throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`)
    }
    this.#maxRecords = maxRecords
    this.#verify = { maxClockSkewMs: init.maxClockSkewMs, maxLifetimeMs: init.maxLifetimeMs }
    this.#counters = {
      'bad-signature': 0,
      expired: 0,
      'too-far-future': 0,
      'stale-seq': 0,
      full: 0,
    }
    this.counters = this.#counters
  }

  /** The most records this store holds (maxRecords). */
  get capacity(): number {
    return this.#maxRecords
  }

  get size(): number {
    return this.#byName.size
  }

  /** Offers a record received from the network; see the file comment for the rules. */
  put(record: NameRecord, nowMs: number): PutOutcome {
    let held = this.#byName.get(record.name)
    if (held !== undefined && held.record.expiresAtMs <= nowMs) {
      this.#remove(held)
      held = undefined
    }
    if (held !== undefined && sameNameRecord(held.record, record)) return 'same'
    const verified = verifyNameRecord(record, nowMs, this.#verify)
    if (!verified.ok) return this.#reject(verified.code)
    if (held !== undefined) {
      if (compareNameRecords(record, held.record) <= 0) return this.#reject('stale-seq')
      held.record = record
      this.#fix(held.heapIndex)
      return 'replaced'
    }
    if (this.#byName.size >= this.#maxRecords) {
      this.expire(nowMs)
      const soonest = this.#heap[0]
      if (this.#byName.size >= this.#maxRecords) {
        if (soonest === undefined || soonest.record.expiresAtMs >= record.expiresAtMs) {
          return this.#reject('full')
        }
        this.#remove(soonest)
      }
    }
    const slot: Slot = { record, heapIndex: this.#heap.length }
    this.#byName.set(record.name, slot)
    this.#heap.push(slot)
    this.#up(slot.heapIndex)
    return 'stored'
  }

  /** The record held for `name` if it has not expired at `nowMs`. */
  get(name: string, nowMs: number): NameRecord | undefined {
    const record = this.#slot(name)?.record
    return record !== undefined && record.expiresAtMs > nowMs ? record : undefined
  }

  /** Drops every record expired at `nowMs`; returns how many. */
  expire(nowMs: number): number {
    let dropped = 0
    for (let top = this.#heap[0]; top !== undefined && top.record.expiresAtMs <= nowMs; ) {
      this.#remove(top)
      dropped++
      top = this.#heap[0]
    }
    return dropped
  }

  /** When the soonest record expires (call `expire` then), or undefined when empty. */
  nextExpiryMs(): number | undefined {
    return this.#heap[0]?.record.expiresAtMs
  }

  /** Forgets `name`'s record, e.g. after handing it over to a new owner. */
  delete(name: string): boolean {
    const slot = this.#slot(name)
    if (slot === undefined) return false
    this.#remove(slot)
    return true
  }

  /** Every held record, expired ones included until `expire` runs; in no particular order. */
  *entries(): IterableIterator<NameRecord> {
    for (const slot of this.#byName.values()) yield slot.record
  }

  /** Records are keyed by canonical name; a caller may spell one in upper case. */
  #slot(name: string): Slot | undefined {
    return this.#byName.get(name) ?? this.#byName.get(canonicalName(name) ?? '')
  }

  #reject(code: PutRejection): PutRejection {
    this.#counters[code]++
    return code
  }

  #remove(slot: Slot): void {
    this.#byName.delete(slot.record.name)
    const last = this.#heap.pop() as Slot
    if (last === slot) return
    this.#heap[slot.heapIndex] = last
    last.heapIndex = slot.heapIndex
    this.#fix(last.heapIndex)
  }

  #fix(i: number): void {
    if (!this.#up(i)) this.#down(i)
  }

  /** Sifts up; true if the slot moved. */
  #up(i: number): boolean {
    const heap = this.#heap
    const start = i
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (expiryOf(heap, parent) <= expiryOf(heap, i)) break
      this.#swap(i, parent)
      i = parent
    }
    return i !== start
  }

  #down(i: number): void {
    const heap = this.#heap
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let min = i
      if (left < heap.length && expiryOf(heap, left) < expiryOf(heap, min)) min = left
      if (right < heap.length && expiryOf(heap, right) < expiryOf(heap, min)) min = right
      if (min === i) return
      this.#swap(i, min)
      i = min
    }
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i] as Slot
    const b = this.#heap[j] as Slot
    this.#heap[i] = b
    this.#heap[j] = a
    a.heapIndex = j
    b.heapIndex = i
  }
}

function expiryOf(heap: readonly Slot[], i: number): number {
  return (heap[i] as Slot).record.expiresAtMs
}
