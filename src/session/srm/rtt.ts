/**
 * Round-trip time and retransmission timeout, RFC 6298: SRTT and RTTVAR from samples
 * (α = 1/8, β = 1/4, K = 4), doubled on each timeout (§5.5), the backoff cleared by the
 * next sample. The floor is 200 ms rather than §2.4's 1 s: the session, not the
 * application's TCP, owns recovery, and a 1 s floor would make every loss cost a second.
 */

const ALPHA = 1 / 8
const BETA = 1 / 4
const K = 4
/** The clock granularity G of §2: our clock is the driver's milliseconds. */
const GRANULARITY_MS = 1

export type RttBounds = {
  readonly initialRtoMs: number
  readonly minRtoMs: number
  readonly maxRtoMs: number
}

export class RttEstimator {
  readonly #bounds: RttBounds
  #srttMs: number | undefined
  #rttvarMs = 0
  #backoff = 1

  constructor(bounds: RttBounds) {
    this.#bounds = bounds
  }

  /** The smoothed RTT, or undefined before the first sample. */
  get srttMs(): number | undefined {
    return this.#srttMs
  }

  /** The RTO without backoff: what a fresh path would get. */
  get baseRtoMs(): number {
    const raw =
      this.#srttMs === undefined
        ? this.#bounds.initialRtoMs
        : this.#srttMs + Math.max(GRANULARITY_MS, K * this.#rttvarMs)
    return clamp(raw, this.#bounds.minRtoMs, this.#bounds.maxRtoMs)
  }

  /** The RTO to arm the timer with now, backoff included. */
  get rtoMs(): number {
    return Math.min(this.baseRtoMs * this.#backoff, this.#bounds.maxRtoMs)
  }

  /** One RTT measurement, from a record sent exactly once (Karn). */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs)
    if (this.#srttMs === undefined) {
      this.#srttMs = r
      this.#rttvarMs = r / 2
    } else {
      this.#rttvarMs = (1 - BETA) * this.#rttvarMs + BETA * Math.abs(this.#srttMs - r)
      this.#srttMs = (1 - ALPHA) * this.#srttMs + ALPHA * r
    }
    this.#backoff = 1
  }

  /** The retransmission timer fired (§5.5). */
  backOff(): void {
    if (this.baseRtoMs * this.#backoff < this.#bounds.maxRtoMs) this.#backoff *= 2
  }

  /** A resumed path is a new path: forget the backoff, keep the estimate. */
  clearBackoff(): void {
    this.#backoff = 1
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi)
}
