/**
 * A progress line for long simulator runs: rewritten in place on a terminal,
 * a plain line every few seconds otherwise (CI logs), silent when quiet.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream
  readonly #quiet: boolean
  readonly #started = performance.now()
  #lastLine = 0
  #dirty = false

  constructor(stream: NodeJS.WriteStream, quiet: boolean) {
    this.#stream = stream
    this.#quiet = quiet
  }

  /** Reports `phase` at `done` of `total` (total 0 when unknown). */
  update(phase: string, done = 0, total = 0): void {
    if (this.#quiet) return
    const now = performance.now()
    const elapsed = ((now - this.#started) / 1000).toFixed(1)
    const pct = total > 0 ? ` ${done}/${total} (${((100 * done) / total).toFixed(0)}%)` : ''
    const line = `[${elapsed}s] ${phase}${pct}`
    if (this.#stream.isTTY) {
      this.#stream.write(`\r\x1b[2K${line}`)
      this.#dirty = true
    } else if (now - this.#lastLine > 5000 || done === 0) {
      this.#stream.write(`${line}\n`)
      this.#lastLine = now
    }
  }

  /** Ends the in-place line so that the next output starts clean. */
  done(): void {
    if (this.#dirty) this.#stream.write('\r\x1b[2K')
    this.#dirty = false
  }
}
