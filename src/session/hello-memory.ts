/**
 * The responder's memory of recent hellos and the replies it gave, bounded (least recently
 * stored dropped first). A hello repeated byte for byte — the initiator's retry after a
 * lost reply — gets the same reply again instead of a second session; a replayed hello
 * gets a reply nobody without the initiator's ephemeral key can use.
 */
export class HelloMemory {
  readonly #max: number
  readonly #entries = new Map<string, { readonly hello: Uint8Array; readonly reply: Uint8Array }>()

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** The reply given to exactly these hello bytes, if remembered. */
  replyTo(hello: Uint8Array): Uint8Array | undefined {
    const entry = this.#entries.get(keyOf(hello))
    if (entry === undefined || Buffer.compare(entry.hello, hello) !== 0) return undefined
    return entry.reply
  }

  remember(hello: Uint8Array, reply: Uint8Array): void {
    const key = keyOf(hello)
    this.#entries.delete(key)
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, { hello: Uint8Array.from(hello), reply })
  }
}

/** The hello's first 64 bytes: header fields, session id (the partial id) and source key. */
function keyOf(hello: Uint8Array): string {
  return Buffer.from(hello.subarray(0, 64)).toString('hex')
}
