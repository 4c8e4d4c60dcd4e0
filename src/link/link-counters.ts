/**
 * Counts of link outcomes by reason, shared by a listener and its links (and by
 * dialled links, if the caller passes the same instance), so that the daemon can
 * report that bad input was rejected, and how often, without logging every peer.
 */
import type { TcpLinkCloseReason } from './tcp-link-types.ts'

/**
 * What is counted: every link close by its reason, plus what a listener refuses
 * before a link exists (`handshake-limit`: too many links still handshaking) or
 * fails to accept (`accept-error`).
 */
export type LinkCountKey = TcpLinkCloseReason | 'handshake-limit' | 'accept-error'

export class LinkCounters {
  readonly #counts = new Map<LinkCountKey, number>()

  /** Adds one to `key`. */
  count(key: LinkCountKey): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
  }

  /** The count for `key` (0 if never counted). */
  get(key: LinkCountKey): number {
    return this.#counts.get(key) ?? 0
  }

  /** The sum over all keys. */
  get total(): number {
    let sum = 0
    for (const n of this.#counts.values()) sum += n
    return sum
  }

  /** A copy of the non-zero counts, keys sorted (stable for reports and JSON). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const key of [...this.#counts.keys()].sort()) out[key] = this.#counts.get(key) as number
    return out
  }
}
