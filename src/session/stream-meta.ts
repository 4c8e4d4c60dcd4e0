/**
 * The meta a stream opens with, as the session layer defines it: the listener's port.
 *
 *   meta = port u16 (big-endian)          exactly 2 bytes
 *
 * The SRM carries meta opaquely (≤ 1 KiB); a meta of any other length is not this format
 * and decodes to `undefined` (the layer above may define longer ones later).
 */
import { type Decoded, fail, ok } from '../core/result.ts'

export const STREAM_META_BYTES = 2
export const MAX_PORT = 0xffff

/** The 2-byte meta naming `port`; throws RangeError outside 0..65535. */
export function encodeStreamMeta(port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) {
    throw new RangeError(`port must be 0..${MAX_PORT}, got ${port}`)
  }
  return Uint8Array.of(port >>> 8, port & 0xff)
}

/** The port in a stream's meta; never throws. */
export function decodeStreamMeta(meta: Uint8Array): Decoded<number, 'bad-length'> {
  if (meta.length !== STREAM_META_BYTES) {
    return fail('bad-length', `stream meta is ${STREAM_META_BYTES} bytes, got ${meta.length}`)
  }
  return ok(((meta[0] as number) << 8) | (meta[1] as number))
}
