/**
 * Records this node looked up, kept briefly so that the next session to the
 * same name skips the DHT (docs/wire-dht.md, "Lookup cache"). An entry lives
 * until the record expires or for maxTtlMs, whichever comes first: the short
 * bound limits how long a node that moved is sought at its old address. At
 * most maxEntries names, least recently used evicted first. Sans-I/O: every
 * call takes the current time.
 *
 * The cache trusts its caller: `set` takes records already verified
 * (`verifyNameRecord`), as a lookup returns them.
 */
import { canonicalName } from '../identity/name.ts'
import { compareNameRecords, type NameRecord } from './name-record.ts'

/** Names a cache holds unless configured otherwise. */
export const DEFAULT_CACHE_ENTRIES = 10_000
/** Longest an entry lives unless configured otherwise. */
export const DEFAULT_CACHE_TTL_MS = 30_000

export interface LookupCacheInit {
  /** Most names held; default DEFAULT_CACHE_ENTRIES. */
  readonly maxEntries?: number
  /** Longest an entry lives, whatever the record's expiry; default DEFAULT_CACHE_TTL_MS. */
  readonly maxTtlMs?: number
}

interface Entry {
  readonly record: NameRecord
  readonly cachedUntilMs: number
}

export class LookupCache {
  readonly #maxEntries: number
  readonly #maxTtlMs: number
  /** Insertion order is recency order: the first key is the least recently used. */
  readonly #entries = new Map<string, Entry>()

  constructor(init: LookupCacheInit = {}) {
    const maxEntries = init.maxEntries ?? DEFAULT_CACHE_ENTRIES
    const maxTtlMs = init.maxTtlMs ?? DEFAULT_CACHE_TTL_MS
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`)
    }
    if (!Number.isSafeInteger(maxTtlMs) || maxTtlMs < 0) {
      throw new RangeError(`maxTtlMs must be an integer ≥ 0, got ${maxTtlMs}`)
    }
    this.#maxEntries = maxEntries
    this.#maxTtlMs = maxTtlMs
  }

  /** Entries held, including lapsed ones not yet dropped by `get`, `set` or `prune`. */
  get size(): number {
    return this.#entries.size
  }

  /** The cached record for `name` if its entry is live at `nowMs`; marks it recently used. */
  get(name: string, nowMs: number): NameRecord | undefined {
    const key = this.#key(name)
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.cachedUntilMs <= nowMs) return undefined
    this.#entries.set(key, entry)
    return entry.record
  }

  /**
   * Caches a verified record. A live entry with a newer record of the name
   * (higher seq, or the same seq expiring later) is kept; then the call
   * returns false. An equal record renews the entry's lifetime.
   */
  set(record: NameRecord, nowMs: number): boolean {
    const cachedUntilMs = Math.min(record.expiresAtMs, nowMs + this.#maxTtlMs)
    if (cachedUntilMs <= nowMs) return false
    const held = this.#entries.get(record.name)
    if (held !== undefined) {
      if (held.cachedUntilMs > nowMs && compareNameRecords(record, held.record) < 0) return false
      this.#entries.delete(record.name)
    } else if (this.#entries.size >= this.#maxEntries) {
      // Evicting the LRU entry is O(1); sweeping for lapsed ones on every insert would not be.
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
    this.#entries.set(record.name, { record, cachedUntilMs })
    return true
  }

  /** Forgets `name`, e.g. when a session to the cached address failed. */
  invalidate(name: string): boolean {
    return this.#entries.delete(this.#key(name))
  }

  /** Drops every lapsed entry; returns how many. O(size): for a driver's occasional sweep. */
  prune(nowMs: number): number {
    let dropped = 0
    for (const [name, entry] of this.#entries) {
      if (entry.cachedUntilMs <= nowMs) {
        this.#entries.delete(name)
        dropped++
      }
    }
    return dropped
  }

  #key(name: string): string {
    return this.#entries.has(name) ? name : (canonicalName(name) ?? name)
  }
}
