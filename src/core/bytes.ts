/**
 * Cursor-based byte reading and writing shared by every codec, so that no
 * codec sums offsets by hand. Readers never throw on bad input: they return
 * `undefined` and the codec turns that into a coded decode error.
 */

/** Largest value an unsigned LEB128 varint may carry here (fits a JS number exactly). */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER
export const MAX_VARINT_BYTES = 8

/** How many bytes, given whole or in parts (their concatenation). */
export function bytesLength(bytes: Uint8Array | readonly Uint8Array[]): number {
  if (bytes instanceof Uint8Array) return bytes.length
  let length = 0
  for (const p of bytes) length += p.length
  return length
}

/** The parts, one after another, in one new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(bytesLength(parts))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * `n` bytes not zeroed first, as a plain Uint8Array (a Buffer would compare unequal to
 * the Uint8Arrays decoders hand out): for memory about to be overwritten whole.
 */
export function allocUninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n)
  return new Uint8Array(b.buffer, b.byteOffset, n)
}

export class ByteWriter {
  #buf: Uint8Array
  #len = 0

  constructor(initialCapacity = 64) {
    this.#buf = new Uint8Array(initialCapacity)
  }

  /**
   * A writer for at most `bound` bytes, on memory not zeroed first (large records:
   * zeroing bytes about to be overwritten costs as much as writing them). Use with
   * finishView, which zeroes the slack so that no stale memory is ever reachable.
   */
  static bounded(bound: number): ByteWriter {
    const w = new ByteWriter(0)
    w.#buf = allocUninitialized(bound)
    return w
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    let cap = this.#buf.length * 2
    while (cap < this.#len + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }

  u8(value: number): this {
    this.#reserve(1)
    this.#buf[this.#len++] = value & 0xff
    return this
  }

  bytes(value: Uint8Array): this {
    this.#reserve(value.length)
    this.#buf.set(value, this.#len)
    this.#len += value.length
    return this
  }

  /** Unsigned LEB128, for counts and lengths. */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`varint out of range: ${value}`)
    }
    let v = value
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    return this.u8(v)
  }

  /** How many bytes were written. */
  get length(): number {
    return this.#len
  }

  /**
   * The bytes written from `start` on, as a view (no copy). Valid for good: a writer that
   * grows later moves on to a new buffer and leaves this one as it was.
   */
  viewFrom(start: number): Uint8Array {
    return this.#buf.subarray(start, this.#len)
  }

  /** The bytes written. A writer sized exactly hands over its buffer without a copy. */
  finish(): Uint8Array {
    return this.#len === this.#buf.length ? this.#buf : this.#buf.slice(0, this.#len)
  }

  /**
   * The bytes written, as a view of the writer's buffer (no copy): for a writer
   * created with a tight upper bound of what it will hold, whose slack is small.
   */
  finishView(): Uint8Array {
    this.#buf.fill(0, this.#len)
    return this.#buf.subarray(0, this.#len)
  }
}

export class ByteReader {
  readonly #buf: Uint8Array
  #pos = 0

  constructor(buf: Uint8Array) {
    this.#buf = buf
  }

  get remaining(): number {
    return this.#buf.length - this.#pos
  }

  u8(): number | undefined {
    if (this.#pos >= this.#buf.length) return undefined
    return this.#buf[this.#pos++]
  }

  bytes(n: number): Uint8Array | undefined {
    if (n < 0 || this.#pos + n > this.#buf.length) return undefined
    const out = this.#buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }

  /** Unsigned LEB128; `undefined` when truncated, overlong or non-minimal. */
  varint(): number | undefined {
    let value = 0
    let scale = 1
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8()
      if (b === undefined) return undefined
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        // A trailing zero byte after the first would be a second encoding of the same value.
        if (b === 0 && i > 0) return undefined
        return value <= MAX_VARINT ? value : undefined
      }
      scale *= 0x80
    }
    return undefined
  }
}
