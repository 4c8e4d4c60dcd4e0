/**
 * The session's life across outages: `active` → `suspended` when ACKs stop, → `active`
 * again on any sign of the peer, → `closed` only by the owner or the suspend limit.
 * While suspended, Re-Hello probes are due at once, then after `probeInitialMs`, doubling
 * up to `probeMaxMs`, so that a moved peer is found soon without flooding a dead path.
 */
import type { SrmState } from './srm-types.ts'

export type InterruptionInit = {
  readonly probeInitialMs: number
  readonly probeMaxMs: number
  readonly suspendLimitMs: number
}

export class Interruption {
  readonly #init: InterruptionInit
  #state: SrmState = 'active'
  #suspendedAtMs = 0
  #nextProbeAtMs = 0
  #probeIntervalMs = 0
  #probeId = 0

  constructor(init: InterruptionInit) {
    this.#init = init
  }

  get state(): SrmState {
    return this.#state
  }

  /** active → suspended; the first probe is due at `nowMs`. */
  suspend(nowMs: number): void {
    if (this.#state !== 'active') return
    this.#state = 'suspended'
    this.#suspendedAtMs = nowMs
    this.#nextProbeAtMs = nowMs
    this.#probeIntervalMs = this.#init.probeInitialMs
  }

  /** suspended → active; returns how long the session was suspended (0 if it was not). */
  resume(nowMs: number): number {
    if (this.#state !== 'suspended') return 0
    this.#state = 'active'
    return nowMs - this.#suspendedAtMs
  }

  close(): void {
    this.#state = 'closed'
  }

  /** A fresh probe id if one is due at `nowMs`, and the next one scheduled. */
  probeDue(nowMs: number): number | undefined {
    if (this.#state !== 'suspended' || nowMs < this.#nextProbeAtMs) return undefined
    this.#nextProbeAtMs = nowMs + this.#probeIntervalMs
    this.#probeIntervalMs = Math.min(this.#probeIntervalMs * 2, this.#init.probeMaxMs)
    return ++this.#probeId
  }

  /** Whether a suspension has outlived `suspendLimitMs`. */
  limitReached(nowMs: number): boolean {
    return this.#state === 'suspended' && nowMs - this.#suspendedAtMs >= this.#init.suspendLimitMs
  }

  /** The next probe or the suspend limit, whichever is first; undefined unless suspended. */
  deadlineMs(): number | undefined {
    if (this.#state !== 'suspended') return undefined
    return Math.min(this.#nextProbeAtMs, this.#suspendedAtMs + this.#init.suspendLimitMs)
  }
}
