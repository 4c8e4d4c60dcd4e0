/**
 * Framing of a link's byte stream (docs/wire-link.md): every message — a Noise
 * handshake message, then transport records — travels as
 *
 *   u16 big-endian length ‖ length bytes
 *
 * with 1 ≤ length ≤ maxFrameBytes (at most 65,535, Noise's message limit).
 * The decoder is sans-I/O: feed it whatever chunks the socket delivers; it
 * returns the complete frames and never buffers more than one frame.
 */
import type { Decoded } from '../core/result.ts'
import { fail, ok } from '../core/result.ts'

/** Noise's largest message, so the largest frame the format can carry. */
export const MAX_FRAME_BYTES = 65_535
const HEADER_BYTES = 2

export type FrameError = 'empty-frame' | 'frame-too-large'

/** The 2-byte header of a frame of `length` bytes (written before the body, without a copy). */
export function frameHeader(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > MAX_FRAME_BYTES) {
    throw new RangeError(`a frame carries 1..${MAX_FRAME_BYTES} bytes, got ${length}`)
  }
  return Uint8Array.of(length >>> 8, length & 0xff)
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length === 0 || payload.length > MAX_FRAME_BYTES) {
    throw new RangeError(`a frame carries 1..${MAX_FRAME_BYTES} bytes, got ${payload.length}`)
  }
  const out = new Uint8Array(HEADER_BYTES + payload.length)
  out[0] = payload.length >>> 8
  out[1] = payload.length & 0xff
  out.set(payload, HEADER_BYTES)
  return out
}

export class FrameDecoder {
  #maxFrameBytes: number
  #header = new Uint8Array(HEADER_BYTES)
  #headerFill = 0
  #body: Uint8Array | undefined
  #bodyFill = 0
  #failed: Decoded<never, FrameError> | undefined

  /** @param maxFrameBytes the largest frame this side accepts (≤ 65,535). */
  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be in 1..${MAX_FRAME_BYTES}`)
    }
    this.#maxFrameBytes = maxFrameBytes
  }

  /**
   * Changes the largest frame accepted from the next frame header on (a link
   * accepts only handshake-sized frames until its handshake is done).
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be in 1..${MAX_FRAME_BYTES}`)
    }
    this.#maxFrameBytes = maxFrameBytes
  }

  /** Bytes held for an incomplete frame (bounded by header + maxFrameBytes). */
  get buffered(): number {
    return this.#headerFill + this.#bodyFill
  }

  /**
   * Consumes a chunk; returns the frames it completed, or the reason the stream
   * is bad. After an error the decoder stays failed: the link must be closed.
   */
  push(chunk: Uint8Array): Decoded<Uint8Array[], FrameError> {
    if (this.#failed !== undefined) return this.#failed
    const frames: Uint8Array[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (this.#body === undefined) {
        const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - pos)
        this.#header.set(chunk.subarray(pos, pos + take), this.#headerFill)
        this.#headerFill += take
        pos += take
        if (this.#headerFill < HEADER_BYTES) break
        const length = ((this.#header[0] as number) << 8) | (this.#header[1] as number)
        if (length === 0) return this.#fail('empty-frame', 'zero-length frame')
        if (length > this.#maxFrameBytes) {
          return this.#fail('frame-too-large', `frame of ${length} bytes > ${this.#maxFrameBytes}`)
        }
        this.#headerFill = 0
        if (chunk.length - pos >= length) {
          // The whole frame is in this chunk: hand out a view, not a copy (the
          // chunk is the decoder's caller's to give away, as a socket's are).
          frames.push(chunk.subarray(pos, pos + length))
          pos += length
          continue
        }
        this.#body = new Uint8Array(length)
        this.#bodyFill = 0
      }
      const body: Uint8Array = this.#body
      const take = Math.min(body.length - this.#bodyFill, chunk.length - pos)
      body.set(chunk.subarray(pos, pos + take), this.#bodyFill)
      this.#bodyFill += take
      pos += take
      if (this.#bodyFill === body.length) {
        frames.push(body)
        this.#body = undefined
        this.#bodyFill = 0
      }
    }
    return ok(frames)
  }

  #fail(code: FrameError, detail: string): Decoded<never, FrameError> {
    this.#failed = fail(code, detail)
    this.#body = undefined
    this.#header = new Uint8Array(HEADER_BYTES)
    return this.#failed
  }
}
