/**
 * The joiner's side of a join: the members still to ask, the one being asked
 * (with its deadline), and the back-off between rounds when every member
 * refused or was unreachable. Pure bookkeeping; overlay-node.ts does the talking.
 */
import type { LinkId, OverlayOptions } from './node-types.ts'

/** A member to ask: over an open link if there is one, else by dialing its endpoint. */
export interface Candidate {
  readonly name: string | undefined
  readonly endpoint: string
  readonly link: LinkId | undefined
}

export interface Attempt {
  readonly link: LinkId
  /** Whether the link was dialed for this attempt (and is closed when it ends). */
  readonly dialed: boolean
  readonly deadlineMs: number
}

/** Redirects followed in one round before starting over (a loop guard). */
const MAX_REDIRECTS = 32

export class JoinCandidates {
  readonly #o: OverlayOptions
  #active = false
  #queue: Candidate[] = []
  #attempt: Attempt | undefined
  #retryAtMs: number | undefined
  #backoffMs: number
  #redirects = 0
  /** Levels a request climbs before it descends; redirects set it. */
  climb = 0
  /**
   * Some member answered this round (a refusal or a redirect is an answer): for
   * a child of the dead root asking its lower siblings, one of them is alive, so
   * it must not make itself the root.
   */
  heardFromLower = false

  constructor(options: OverlayOptions) {
    this.#o = options
    this.#backoffMs = options.retryMinMs
  }

  start(candidates: Candidate[], climb: number): void {
    this.#active = true
    this.#queue = dedupe(candidates)
    this.#attempt = undefined
    this.#retryAtMs = undefined
    this.#backoffMs = this.#o.retryMinMs
    this.#redirects = 0
    this.climb = climb
    this.heardFromLower = false
  }

  /** A new round after a back-off. */
  refill(candidates: Candidate[]): void {
    this.#queue = dedupe(candidates)
    this.#retryAtMs = undefined
    this.#redirects = 0
    this.heardFromLower = false
  }

  stop(): void {
    this.#active = false
    this.#queue = []
    this.#attempt = undefined
    this.#retryAtMs = undefined
  }

  /** The next member to ask, or undefined (then a retry is scheduled). */
  next(nowMs: number): Candidate | undefined {
    if (!this.#active || this.#attempt !== undefined) return undefined
    const c = this.#queue.shift()
    if (c === undefined && this.#retryAtMs === undefined) {
      const jitter = 0.75 + (0.5 * ((nowMs * 7919) % 1000)) / 1000
      this.#retryAtMs = nowMs + this.#backoffMs * jitter
      this.#backoffMs = Math.min(this.#o.retryMaxMs, this.#backoffMs * 2)
    }
    return c
  }

  attempting(link: LinkId, dialed: boolean, nowMs: number): void {
    this.#attempt = { link, dialed, deadlineMs: nowMs + this.#o.joinTimeoutMs }
  }

  /** The link of the attempt in flight, if any. */
  get attemptLink(): LinkId | undefined {
    return this.#attempt?.link
  }

  isAttempt(link: LinkId): boolean {
    return this.#attempt?.link === link
  }

  /** Ends the current attempt, returning it. */
  clear(): Attempt | undefined {
    const a = this.#attempt
    this.#attempt = undefined
    return a
  }

  /** Whether this round has nobody left to ask and nothing in flight. */
  exhausted(): boolean {
    return this.#attempt === undefined && this.#queue.length === 0
  }

  redirect(
    contacts: readonly Candidate[] | readonly { name: string; endpoint: string }[],
    climb: number,
  ): void {
    this.heardFromLower = true
    if (++this.#redirects > MAX_REDIRECTS) {
      this.#queue = []
      return
    }
    this.climb = climb
    const first = contacts.map((c) => ({ name: c.name, endpoint: c.endpoint, link: undefined }))
    this.#queue = dedupe([...first, ...this.#queue])
  }

  /** A member refused: it is alive, whatever its reason. */
  refused(): void {
    this.heardFromLower = true
  }

  /** 'timeout' when the current attempt ran out, 'retry' when a back-off ended. */
  tick(nowMs: number): 'timeout' | 'retry' | undefined {
    if (!this.#active) return undefined
    if (this.#attempt && nowMs >= this.#attempt.deadlineMs) return 'timeout'
    if (this.#attempt === undefined && this.#retryAtMs !== undefined && nowMs >= this.#retryAtMs) {
      return 'retry'
    }
    return undefined
  }

  nextDeadlineMs(): number | undefined {
    if (!this.#active) return undefined
    return this.#attempt?.deadlineMs ?? this.#retryAtMs
  }
}

function dedupe(candidates: Candidate[]): Candidate[] {
  const seen = new Set<string>()
  return candidates.filter((c) => {
    const key = c.name ?? c.endpoint
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
