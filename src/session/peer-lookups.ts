/**
 * Which peer names the manager is looking up, so that lookups stay bounded: one in flight
 * per name (for at most `lookupTimeoutMs`: a lost answer does not block the name for
 * ever), and fresh ones asked by probes and hints at most every `relookupIntervalMs`.
 */
import type { SessionManagerSettings } from './session-manager-types.ts'

export class PeerLookups {
  readonly #settings: SessionManagerSettings
  readonly #names = new Map<string, { pendingSinceMs: number | undefined; freshAtMs: number }>()

  constructor(settings: SessionManagerSettings) {
    this.#settings = settings
  }

  /** Whether to ask for a lookup of `name` now; if so it is counted as in flight. */
  request(name: string, fresh: boolean, nowMs: number, rateLimited: boolean): boolean {
    const entry = this.#names.get(name) ?? {
      pendingSinceMs: undefined,
      freshAtMs: Number.NEGATIVE_INFINITY,
    }
    this.#names.set(name, entry)
    const since = entry.pendingSinceMs
    if (since !== undefined && nowMs - since < this.#settings.lookupTimeoutMs) return false
    if (rateLimited && nowMs - entry.freshAtMs < this.#settings.relookupIntervalMs) return false
    entry.pendingSinceMs = nowMs
    if (fresh) entry.freshAtMs = nowMs
    return true
  }

  /** An answer for `name` came. */
  answered(name: string): void {
    const entry = this.#names.get(name)
    if (entry !== undefined) entry.pendingSinceMs = undefined
  }

  /** No session needs `name` any more. */
  forget(name: string): void {
    this.#names.delete(name)
  }
}
