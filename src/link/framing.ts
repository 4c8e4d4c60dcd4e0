/**
 * Framing of a link's byte stream (docs/wire-link.md, "Frames"): every message — a
 * Noise handshake message, then transport records — travels as a plain frame
 *
 *   u16 length ‖ length bytes                       1 ≤ length ≤ maxFrameBytes
 *
 * or, once the handshake is done, as a split frame: a Noise message followed by a
 * tail that travels outside it, in the clear, authenticated as that message's
 * associated data (the tail is a session record's ciphertext, sealed end to end
 * already: the link does not encrypt it a second time)
 *
 *   u16 0 ‖ u16 length ‖ u32 tailLength ‖ length bytes ‖ tailLength bytes
 *                                                    1 ≤ tailLength ≤ maxTailBytes
 *
 * The decoder is sans-I/O: feed it whatever chunks the socket delivers; it
 * returns the complete frames and never buffers more than one frame.
 */
import { allocUninitialized } from '../core/bytes.ts'
import type { Decoded } from '../core/result.ts'
import { fail, ok } from '../core/result.ts'

/** Noise's largest message, so the largest frame the format can carry. */
export const MAX_FRAME_BYTES = 65_535
/** The largest tail a split frame may declare. */
export const MAX_TAIL_BYTES = 16 * 1024 * 1024
const HEADER_BYTES = 2
const SPLIT_HEADER_BYTES = 8

export type FrameError = 'empty-frame' | 'frame-too-large' | 'tail-too-large'

/**
 * One frame: `bytes` is the Noise message followed by its tail, contiguous, and
 * `tail` the tail's length (0 for a plain frame). The caller may write into bytes.
 * A `borrowed` frame was gathered across chunks into the decoder's own memory, which
 * the next push may write over: use it, or copy what must outlive that, before then.
 */
export interface Frame {
  readonly bytes: Uint8Array
  readonly tail: number
  readonly borrowed: boolean
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > MAX_FRAME_BYTES) {
    throw new RangeError(`a frame carries 1..${MAX_FRAME_BYTES} bytes, got ${length}`)
  }
}

/** The 2-byte header of a frame of `length` bytes (written before the body, without a copy). */
export function frameHeader(length: number): Uint8Array {
  checkLength(length)
  return Uint8Array.of(length >>> 8, length & 0xff)
}

/** The 8-byte header of a split frame: a `length`-byte message, then a `tail`-byte tail. */
export function splitFrameHeader(length: number, tail: number): Uint8Array {
  checkLength(length)
  if (!Number.isInteger(tail) || tail < 1 || tail > MAX_TAIL_BYTES) {
    throw new RangeError(`a split frame's tail is 1..${MAX_TAIL_BYTES} bytes, got ${tail}`)
  }
  const out = new Uint8Array(SPLIT_HEADER_BYTES)
  const view = new DataView(out.buffer)
  view.setUint16(2, length)
  view.setUint32(4, tail)
  return out
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const header = frameHeader(payload.length)
  const out = new Uint8Array(HEADER_BYTES + payload.length)
  out.set(header)
  out.set(payload, HEADER_BYTES)
  return out
}

/** A gathering buffer holds at least this much: a session record's frame, and then some. */
const SCRATCH_MIN_BYTES = 128 * 1024

export class FrameDecoder {
  #maxFrameBytes: number
  #maxTailBytes: number
  /** Up to a split frame's header; its first 2 bytes are a plain frame's whole header. */
  #header = new Uint8Array(SPLIT_HEADER_BYTES)
  #headerFill = 0
  #body: Uint8Array | undefined
  #bodyFill = 0
  #tail = 0
  /**
   * Split frames (bulk: a session record's sealed tail, 60 KB) straddle socket reads
   * almost always; they are gathered into these two buffers in turn instead of a new one
   * each. A push completes at most one gathered frame (the one it continues) and starts
   * at most one (its last), so the two never share a buffer, and the frame a push
   * returns is intact until the next push.
   */
  readonly #scratch: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined]
  #turn = 0
  #borrowed = false
  #failed: Decoded<never, FrameError> | undefined

  /**
   * @param maxFrameBytes the largest frame (Noise message) this side accepts (≤ 65,535).
   * @param maxTailBytes the largest split-frame tail it accepts (0: no split frames).
   */
  constructor(maxFrameBytes = MAX_FRAME_BYTES, maxTailBytes = 0) {
    this.#maxFrameBytes = 0
    this.#maxTailBytes = 0
    this.setLimits(maxFrameBytes, maxTailBytes)
  }

  /**
   * Changes the largest frame and tail accepted from the next frame header on (a
   * link accepts only handshake-sized plain frames until its handshake is done).
   */
  setLimits(maxFrameBytes: number, maxTailBytes: number): void {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be in 1..${MAX_FRAME_BYTES}`)
    }
    if (!Number.isInteger(maxTailBytes) || maxTailBytes < 0 || maxTailBytes > MAX_TAIL_BYTES) {
      throw new RangeError(`maxTailBytes must be in 0..${MAX_TAIL_BYTES}`)
    }
    this.#maxFrameBytes = maxFrameBytes
    this.#maxTailBytes = maxTailBytes
  }

  /** Bytes held for an incomplete frame (bounded by header + maxFrameBytes + maxTailBytes). */
  get buffered(): number {
    return this.#headerFill + this.#bodyFill
  }

  /**
   * Consumes a chunk; returns the frames it completed, or the reason the stream
   * is bad. After an error the decoder stays failed: the link must be closed.
   */
  push(chunk: Uint8Array): Decoded<Frame[], FrameError> {
    if (this.#failed !== undefined) return this.#failed
    const frames: Frame[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (this.#body === undefined) {
        pos = this.#readHeader(chunk, pos)
        const declared = this.#declared()
        if (declared === undefined) continue
        if ('ok' in declared) return declared
        this.#headerFill = 0
        const size = declared.length + declared.tail
        if (chunk.length - pos >= size) {
          // The whole frame is in this chunk: hand out a view, not a copy (the
          // chunk is the decoder's caller's to give away, as a socket's are).
          const bytes = chunk.subarray(pos, pos + size)
          frames.push({ bytes, tail: declared.tail, borrowed: false })
          pos += size
          continue
        }
        this.#body = declared.tail > 0 ? this.#scratchOf(size) : allocUninitialized(size)
        this.#borrowed = declared.tail > 0
        this.#bodyFill = 0
        this.#tail = declared.tail
      }
      const body: Uint8Array = this.#body
      const take = Math.min(body.length - this.#bodyFill, chunk.length - pos)
      body.set(chunk.subarray(pos, pos + take), this.#bodyFill)
      this.#bodyFill += take
      pos += take
      if (this.#bodyFill === body.length) {
        frames.push({ bytes: body, tail: this.#tail, borrowed: this.#borrowed })
        this.#body = undefined
        this.#bodyFill = 0
      }
    }
    return ok(frames)
  }

  /** The next scratch buffer, `size` bytes of it (not zeroed: all are written before use). */
  #scratchOf(size: number): Uint8Array {
    const turn = this.#turn
    this.#turn = 1 - turn
    let buffer = this.#scratch[turn]
    if (buffer === undefined || buffer.length < size) {
      buffer = allocUninitialized(Math.max(size, SCRATCH_MIN_BYTES))
      this.#scratch[turn] = buffer
    }
    return buffer.subarray(0, size)
  }

  /** Takes header bytes from `chunk` at `pos`, as many as the header still lacks; the new pos. */
  #readHeader(chunk: Uint8Array, pos: number): number {
    const h = this.#header
    const split = this.#headerFill >= HEADER_BYTES && h[0] === 0 && h[1] === 0
    const want = split ? SPLIT_HEADER_BYTES : HEADER_BYTES
    const take = Math.min(want - this.#headerFill, chunk.length - pos)
    h.set(chunk.subarray(pos, pos + take), this.#headerFill)
    this.#headerFill += take
    return pos + take
  }

  /** The frame a complete header declares; undefined while incomplete; a failure if bad. */
  #declared(): { length: number; tail: number } | Decoded<never, FrameError> | undefined {
    const h = this.#header
    const byte = (i: number): number => h[i] as number
    if (this.#headerFill < HEADER_BYTES) return undefined
    const split = byte(0) === 0 && byte(1) === 0
    if (split && this.#maxTailBytes === 0) return this.#fail('empty-frame', 'zero-length frame')
    if (split && this.#headerFill < SPLIT_HEADER_BYTES) return undefined
    const length = split ? (byte(2) << 8) | byte(3) : (byte(0) << 8) | byte(1)
    const tail = split ? new DataView(h.buffer).getUint32(4) : 0
    if (length === 0) return this.#fail('empty-frame', 'zero-length frame')
    if (length > this.#maxFrameBytes) {
      return this.#fail('frame-too-large', `frame of ${length} bytes > ${this.#maxFrameBytes}`)
    }
    if (split && (tail === 0 || tail > this.#maxTailBytes)) {
      return this.#fail('tail-too-large', `tail of ${tail} bytes, 1..${this.#maxTailBytes}`)
    }
    return { length, tail }
  }

  #fail(code: FrameError, detail: string): Decoded<never, FrameError> {
    this.#failed = fail(code, detail)
    this.#body = undefined
    this.#header = new Uint8Array(SPLIT_HEADER_BYTES)
    return this.#failed
  }
}
