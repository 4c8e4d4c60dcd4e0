/**
 * The joiner's side of a join: the members still to ask, the one being asked
 * (with its deadline), and the back-off between rounds when every member
 * refused or was unreachable. Pure bookkeeping; overlay-node.ts does the talking.
 *
 * Dials race as in Happy Eyeballs (RFC 8305): a member whose dial has not opened within
 * `joinStaggerMs` keeps dialing while the next member is dialed beside it, and the first
 * link to open is the one asked; the other dials are dropped. A stale endpoint on a LAN
 * fails only when ARP gives up (about 3 s), one on the Internet later still: without the
 * race a re-join waits that long behind every dead member listed before a live one.
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
  /** Dialed and not open yet: when the next member is dialed beside it; else undefined. */
  staggerAtMs: number | undefined
}

/** Redirects followed in one round before starting over (a loop guard). */
const MAX_REDIRECTS = 32
/**
 * Dials of earlier members still racing beside the current attempt, at most; the oldest
 * makes room for the next (it has had this many staggers to answer: 1.75 s by default).
 */
export const MAX_RACING_DIALS = 7

export class JoinCandidates {
  readonly #o: OverlayOptions
  /** Drops a dial that lost the race or outlived the join (overlay-node closes its link). */
  readonly #dropDial: (link: LinkId) => void
  #active = false
  #queue: Candidate[] = []
  #attempt: Attempt | undefined
  /** Earlier attempts' dials, not open yet, racing the current attempt (oldest first). */
  #racing: Attempt[] = []
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

  constructor(options: OverlayOptions, dropDial: (link: LinkId) => void) {
    this.#o = options
    this.#dropDial = dropDial
    this.#backoffMs = options.retryMinMs
  }

  start(candidates: Candidate[], climb: number): void {
    this.#dropRacing()
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
    this.#dropRacing()
    this.#active = false
    this.#queue = []
    this.#attempt = undefined
    this.#retryAtMs = undefined
  }

  /**
   * The next member to ask, or undefined: then the newest racing dial becomes the attempt
   * if there is one, else a retry is scheduled.
   */
  next(nowMs: number): Candidate | undefined {
    if (!this.#active || this.#attempt !== undefined) return undefined
    const c = this.#queue.shift()
    if (c === undefined && this.#racing.length > 0) {
      this.#attempt = this.#racing.pop()
      return undefined
    }
    if (c === undefined && this.#retryAtMs === undefined) {
      const jitter = 0.75 + (0.5 * ((nowMs * 7919) % 1000)) / 1000
      this.#retryAtMs = nowMs + this.#backoffMs * jitter
      this.#backoffMs = Math.min(this.#o.retryMaxMs, this.#backoffMs * 2)
    }
    return c
  }

  attempting(link: LinkId, dialed: boolean, nowMs: number): void {
    this.#attempt = {
      link,
      dialed,
      deadlineMs: nowMs + this.#o.joinTimeoutMs,
      staggerAtMs: dialed ? nowMs + this.#o.joinStaggerMs : undefined,
    }
  }

  /**
   * A link this join dialed is open: whether to ask it. The attempt's own link is asked,
   * and the dials racing it are dropped. A racing dial that opens first becomes the
   * attempt when the attempt is still dialing (that dial is dropped); when the attempt
   * has asked its member already, the racer lost and is dropped.
   */
  opened(link: LinkId): boolean {
    const attempt = this.#attempt
    const racer = this.#racing.find((r) => r.link === link)
    if (attempt?.link === link) {
      attempt.staggerAtMs = undefined
      this.#dropRacing()
      return true
    }
    if (racer === undefined) return false
    this.#racing = this.#racing.filter((r) => r !== racer)
    if (attempt !== undefined && attempt.staggerAtMs === undefined) {
      this.#dropDial(link)
      return false
    }
    if (attempt !== undefined) this.#dropDial(attempt.link)
    racer.staggerAtMs = undefined
    this.#attempt = racer
    this.#dropRacing()
    return true
  }

  /** A racing dial failed: it no longer races. */
  forgetRacer(link: LinkId): void {
    this.#racing = this.#racing.filter((r) => r.link !== link)
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
    return this.#attempt === undefined && this.#queue.length === 0 && this.#racing.length === 0
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

  /**
   * A member refused: it is alive, whatever its reason. Only a lower sibling's refusal
   * holds back a child of the root from promoting itself: a lone one also asks members
   * cut off like itself, whose refusals say nothing of the root.
   */
  refused(byLowerSibling: boolean): void {
    if (byLowerSibling) this.heardFromLower = true
  }

  /**
   * 'timeout' when the current attempt ran out, 'stagger' when its dial has been slow
   * long enough that the next member is dialed beside it (call stagger(), then ask the
   * next), 'retry' when a back-off ended. Racing dials past their deadline are dropped.
   */
  tick(nowMs: number): 'timeout' | 'stagger' | 'retry' | undefined {
    if (!this.#active) return undefined
    const expired = this.#racing.filter((r) => nowMs >= r.deadlineMs)
    this.#racing = this.#racing.filter((r) => nowMs < r.deadlineMs)
    for (const r of expired) this.#dropDial(r.link)
    if (this.#attempt && nowMs >= this.#attempt.deadlineMs) return 'timeout'
    const staggerAt = this.#staggerAtMs()
    if (staggerAt !== undefined && nowMs >= staggerAt) return 'stagger'
    if (this.#attempt === undefined && this.#retryAtMs !== undefined && nowMs >= this.#retryAtMs) {
      return 'retry'
    }
    return undefined
  }

  /** The attempt's dial goes on racing; the caller asks the next member. */
  stagger(): void {
    const attempt = this.#attempt
    if (attempt === undefined || attempt.staggerAtMs === undefined) return
    const oldest = this.#racing.length >= MAX_RACING_DIALS ? this.#racing.shift() : undefined
    if (oldest !== undefined) this.#dropDial(oldest.link)
    this.#racing.push(attempt)
    this.#attempt = undefined
  }

  nextDeadlineMs(): number | undefined {
    if (!this.#active) return undefined
    let next = this.#attempt?.deadlineMs ?? this.#retryAtMs
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    consider(this.#staggerAtMs())
    for (const r of this.#racing) consider(r.deadlineMs)
    return next
  }

  /** When the attempt's slow dial is joined by the next one, if there is a next one. */
  #staggerAtMs(): number | undefined {
    return this.#queue.length > 0 ? this.#attempt?.staggerAtMs : undefined
  }

  #dropRacing(): void {
    const racing = this.#racing
    this.#racing = []
    for (const r of racing) this.#dropDial(r.link)
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
