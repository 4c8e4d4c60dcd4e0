/**
 * Virtual time for the simulator: a clock and a queue of scheduled events,
 * run in (time, scheduling order) order. Nothing here reads the wall clock,
 * so a run is a function of its seed.
 */
interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly run: () => void
}

export class VirtualClock {
  #now = 0
  #seq = 0
  readonly #heap: Scheduled[] = []

  /** Current virtual time, in milliseconds. */
  now(): number {
    return this.#now
  }

  get pending(): number {
    return this.#heap.length
  }

  /** Runs `run` at virtual time `now() + delayMs` (never in the past). */
  schedule(delayMs: number, run: () => void): void {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0, got ${delayMs}`)
    this.#push({ at: this.#now + delayMs, seq: this.#seq++, run })
  }

  /** Runs every event due at or before `timeMs`, then sets the clock to `timeMs`. */
  runUntil(timeMs: number): void {
    for (;;) {
      const next = this.#heap[0]
      if (next === undefined || next.at > timeMs) break
      this.#pop()
      this.#now = next.at
      next.run()
    }
    this.#now = Math.max(this.#now, timeMs)
  }

  /** Runs events until none is left; returns the time of the last one. */
  runAll(): number {
    while (this.#heap.length > 0) this.runUntil((this.#heap[0] as Scheduled).at)
    return this.#now
  }

  #push(e: Scheduled): void {
    const h = this.#heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i] as Scheduled, h[p] as Scheduled)) break
      ;[h[i], h[p]] = [h[p] as Scheduled, h[i] as Scheduled]
      i = p
    }
  }

  #pop(): void {
    const h = this.#heap
    const last = h.pop() as Scheduled
    if (h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l] as Scheduled, h[m] as Scheduled)) m = l
      if (r < h.length && before(h[r] as Scheduled, h[m] as Scheduled)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m] as Scheduled, h[i] as Scheduled]
      i = m
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
