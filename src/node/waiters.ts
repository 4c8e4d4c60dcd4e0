/**
 * Promises waiting for an answer with a numeric id (a lookup, a ping): the
 * state machines answer by events, the control handlers await promises.
 */
export class Waiters<T> {
  readonly #pending = new Map<number, { resolve: (v: T) => void; reject: (e: Error) => void }>()

  /** A promise for the answer with this id. */
  wait(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
  }

  /** Settles the waiter for `id`, if any; whether there was one. */
  resolve(id: number, value: T): boolean {
    const w = this.#pending.get(id)
    if (w === undefined) return false
    this.#pending.delete(id)
    w.resolve(value)
    return true
  }

  rejectAll(error: Error): void {
    for (const w of this.#pending.values()) w.reject(error)
    this.#pending.clear()
  }

  get size(): number {
    return this.#pending.size
  }
}
