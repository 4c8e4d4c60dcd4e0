/**
 * Session records on the wire (docs/wire-session.md): the only encoder and decoder. A record
 * is the payload of an overlay `routed` message with proto PROTO.session; the routing header
 * is the overlay's and stays outside.
 *
 *   record = header ‖ body
 *   header = version u8 ‖ type u8 ‖ flags u8 ‖ key epoch u32 ‖ session id (16) ‖ seq u64
 *            ‖ stream id varint ‖ source key (32) ‖ destination key (32) ‖ body length u16
 *   body   = a Noise handshake message (hello, hello-reply), or ciphertext ‖ tag (the rest)
 *
 * The header is the associated data of a sealed body, byte for byte. Integers are
 * big-endian. Decoding never throws and checks every length exactly.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { PUBLIC_KEY_BYTES } from '../identity/name.ts'
import { MAX_EARLY_OPEN_BYTES } from './srm/srm-frames.ts'

// Specification constants.

export const SESSION_VERSION = 1
/** Type numbers; 0 is never a type, so an all-zero buffer is never a record. */
export const RECORD_TYPE = {
  hello: 1,
  'hello-reply': 2,
  data: 3,
  ack: 4,
  rehello: 5,
  'rehello-reply': 6,
  close: 7,
  reset: 8,
} as const
export type RecordType = keyof typeof RECORD_TYPE
/** The types that carry a Noise handshake message rather than a sealed body. */
export type HandshakeType = 'hello' | 'hello-reply'
export type SealedType = Exclude<RecordType, HandshakeType>

export const SESSION_ID_BYTES = 16
export const PARTIAL_ID_BYTES = 8
/** The AEAD tag at the end of every sealed body. */
export const TAG_BYTES = 16
/** The body length is a u16: a record body fits one Noise-sized message. */
export const MAX_BODY_BYTES = 65_535
export const MAX_PAYLOAD_BYTES = MAX_BODY_BYTES - TAG_BYTES
/** Fixed header bytes; the stream id varint adds 1 to 8. */
export const FIXED_HEADER_BYTES = 3 + 4 + SESSION_ID_BYTES + 8 + 2 * PUBLIC_KEY_BYTES + 2
export const MAX_EPOCH = 0xffff_ffff
/** The largest u64; never a record's seq, because REKEY uses nonce 2^64 − 1 (Noise §5.1). */
export const MAX_SEQ = 2n ** 64n - 2n
/** Noise IK message 1 with an 8-byte payload: e (32), s (32 + 16), payload (8 + 16). */
export const HELLO_BODY_BYTES = 32 + 48 + PARTIAL_ID_BYTES + TAG_BYTES
/** A hello whose payload carries early stream opens after the partial id, at its longest. */
export const MAX_HELLO_BODY_BYTES = HELLO_BODY_BYTES + MAX_EARLY_OPEN_BYTES
/** Noise IK message 2 with an 8-byte payload: e (32), payload (8 + 16). */
export const HELLO_REPLY_BODY_BYTES = 32 + PARTIAL_ID_BYTES + TAG_BYTES

const TYPE_BY_NUMBER: ReadonlyMap<number, RecordType> = new Map(
  Object.entries(RECORD_TYPE).map(([name, n]) => [n, name as RecordType]),
)

/** The persistent header fields; `source` and `destination` are 32-byte name keys. */
export interface RecordHeader {
  readonly type: RecordType
  readonly flags: number
  readonly epoch: number
  readonly sessionId: Uint8Array
  readonly seq: bigint
  readonly streamId: number
  readonly source: Uint8Array
  readonly destination: Uint8Array
}

/** A decoded record. `headerBytes` and `body` are views of the input, not copies. */
export interface SessionRecord {
  readonly header: RecordHeader
  /** The exact header bytes: the associated data of a sealed body. */
  readonly headerBytes: Uint8Array
  readonly body: Uint8Array
}

export type RecordDecodeError =
  | 'truncated'
  | 'bad-version'
  | 'unknown-type'
  | 'bad-stream-id'
  | 'bad-length'
  | 'bad-field'

export function isHandshakeType(type: RecordType): type is HandshakeType {
  return type === 'hello' || type === 'hello-reply'
}

/** The header bytes for a body of `bodyBytes`; throws RangeError on a field out of range. */
export function encodeHeader(h: RecordHeader, bodyBytes: number): Uint8Array {
  checkField('flags', h.flags, 0xff)
  checkField('epoch', h.epoch, MAX_EPOCH)
  checkField('body length', bodyBytes, MAX_BODY_BYTES)
  if (h.seq < 0n || h.seq > MAX_SEQ) throw new RangeError(`seq out of range: ${h.seq}`)
  if (h.sessionId.length !== SESSION_ID_BYTES) throw new RangeError('a session id is 16 bytes')
  if (h.source.length !== PUBLIC_KEY_BYTES || h.destination.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError('a name key is 32 bytes')
  }
  const fixed = new Uint8Array(4 + 8)
  const view = new DataView(fixed.buffer)
  view.setUint32(0, h.epoch)
  view.setBigUint64(4, h.seq)
  const length = Uint8Array.of(bodyBytes >>> 8, bodyBytes & 0xff)
  return new ByteWriter(FIXED_HEADER_BYTES + 8)
    .u8(SESSION_VERSION)
    .u8(RECORD_TYPE[h.type])
    .u8(h.flags)
    .bytes(fixed.subarray(0, 4))
    .bytes(h.sessionId)
    .bytes(fixed.subarray(4))
    .varint(h.streamId)
    .bytes(h.source)
    .bytes(h.destination)
    .bytes(length)
    .finish()
}

/** header ‖ body, in one allocation. */
export function encodeRecord(h: RecordHeader, body: Uint8Array): Uint8Array {
  const header = encodeHeader(h, body.length)
  const out = new Uint8Array(header.length + body.length)
  out.set(header)
  out.set(body, header.length)
  return out
}

export function decodeRecord(bytes: Uint8Array): Decoded<SessionRecord, RecordDecodeError> {
  const decoded = decodeRecordHeader(bytes)
  if (!decoded.ok) return decoded
  const { header, headerBytes, bodyBytes } = decoded.value
  const remaining = bytes.length - headerBytes.length
  if (remaining !== bodyBytes) {
    return fail('bad-length', `body length ${bodyBytes}, ${remaining} bytes follow`)
  }
  const checked = checkBody(header, bodyBytes)
  if (!checked.ok) return checked
  return ok({ header, headerBytes, body: bytes.subarray(headerBytes.length) })
}

/**
 * A record's header alone, whatever follows it (a body, part of one, nothing): for a
 * record that comes back undeliverable, of which the overlay may echo only the start.
 */
export function decodeRecordHeader(
  bytes: Uint8Array,
): Decoded<
  { header: RecordHeader; headerBytes: Uint8Array; bodyBytes: number },
  RecordDecodeError
> {
  const r = new ByteReader(bytes)
  const version = r.u8()
  const typeNumber = r.u8()
  const flags = r.u8()
  const fixed = r.bytes(4 + SESSION_ID_BYTES + 8)
  if (fixed === undefined) return fail('truncated', `${bytes.length} bytes: no room for a header`)
  if (version !== SESSION_VERSION) return fail('bad-version', `version ${version}`)
  const type = TYPE_BY_NUMBER.get(typeNumber as number)
  if (type === undefined) return fail('unknown-type', `type ${typeNumber}`)
  const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength)
  const epoch = view.getUint32(0)
  const sessionId = fixed.subarray(4, 4 + SESSION_ID_BYTES)
  const seq = view.getBigUint64(4 + SESSION_ID_BYTES)
  const streamId = r.varint()
  if (streamId === undefined) return fail('bad-stream-id', 'truncated or non-minimal varint')
  const names = r.bytes(2 * PUBLIC_KEY_BYTES + 2)
  if (names === undefined) return fail('truncated', `${bytes.length} bytes: header cut short`)
  const headerBytes = bytes.subarray(0, bytes.length - r.remaining)
  const bodyBytes = ((names[64] as number) << 8) | (names[65] as number)
  const header: RecordHeader = {
    type,
    flags: flags as number,
    epoch,
    sessionId,
    seq,
    streamId,
    source: names.subarray(0, PUBLIC_KEY_BYTES),
    destination: names.subarray(PUBLIC_KEY_BYTES, 2 * PUBLIC_KEY_BYTES),
  }
  return ok({ header, headerBytes, bodyBytes })
}

/** The session id of anything that decodes as a record, for finding its session. */
export function peekSessionId(bytes: Uint8Array): Uint8Array | undefined {
  const decoded = decodeRecordHeader(bytes)
  return decoded.ok ? decoded.value.header.sessionId : undefined
}

/**
 * Body lengths (exact but for a hello's early opens); handshake records have no epoch,
 * seq, stream or flags to speak of.
 */
function checkBody(h: RecordHeader, bodyBytes: number): Decoded<undefined, RecordDecodeError> {
  if (h.type === 'hello' || h.type === 'hello-reply') {
    const [min, max] =
      h.type === 'hello'
        ? [HELLO_BODY_BYTES, MAX_HELLO_BODY_BYTES]
        : [HELLO_REPLY_BODY_BYTES, HELLO_REPLY_BODY_BYTES]
    if (bodyBytes < min || bodyBytes > max) {
      const range = min === max ? `${min}` : `${min}..${max}`
      return fail('bad-length', `a ${h.type} body is ${range} bytes, got ${bodyBytes}`)
    }
    if (h.flags !== 0 || h.epoch !== 0 || h.seq !== 0n || h.streamId !== 0) {
      return fail('bad-field', `${h.type}: flags, epoch, seq and stream id must be 0`)
    }
  } else if (bodyBytes < TAG_BYTES) {
    return fail('bad-length', `a sealed body is at least ${TAG_BYTES} bytes, got ${bodyBytes}`)
  }
  return ok(undefined)
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} out of range: ${value}`)
  }
}
