/**
 * The link's handshake constants and the records inside its Noise transport
 * messages (docs/wire-link.md, "Records"): the only encoder and decoder.
 *
 *   record = type (u8) ‖ body
 *
 *   1 auth       name (52 ASCII bytes) ‖ Ed25519 signature (64)
 *   2 data       opaque payload for the overlay above (0 or more bytes)
 *   3 keepalive  empty
 *   4 close      close code (u8)
 *
 * Every body has an exact length (data: whatever is left). Decoding never
 * throws: anything else is a coded `RecordError`.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import type { SuiteName } from '../core/noise/index.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { canonicalName, NAME_LENGTH } from '../identity/name.ts'

// Specification constants.

/** The link's Noise handshake: XX, so neither side needs the other's key in advance. */
export const LINK_PATTERN = 'XX'
export const LINK_SUITE: SuiteName = '25519_ChaChaPoly_BLAKE2s'
/** Bound into the handshake hash: both sides must speak this version. */
export const LINK_PROLOGUE = new TextEncoder().encode('semos/link/v1')
/** Prefixed to the handshake hash in the `auth` signature. */
export const AUTH_CONTEXT = new TextEncoder().encode('semos/link/v1/auth')
export const SIGNATURE_BYTES = 64
/** ChaChaPoly's tag on every transport message. */
export const TAG_BYTES = 16
/**
 * How much of a split frame's tail the link authenticates: its last 16 bytes, the tag of
 * the end-to-end AEAD that sealed it, which authenticates the rest (docs/wire-link.md).
 */
export const TAIL_AUTH_BYTES = 16

export const RECORD_TYPE = { auth: 1, data: 2, keepalive: 3, close: 4 } as const

/** The u8 in a `close` record: why the sender closes. Unknown codes are still a close. */
export const CLOSE_CODE = { normal: 0, shutdown: 1, duplicate: 2, error: 3, timeout: 4 } as const
export type CloseCode = keyof typeof CLOSE_CODE

export type LinkRecord =
  | { readonly type: 'auth'; readonly name: string; readonly signature: Uint8Array }
  | { readonly type: 'data'; readonly payload: Uint8Array }
  | { readonly type: 'keepalive' }
  | { readonly type: 'close'; readonly code: number }

export type RecordError = 'empty-record' | 'unknown-type' | 'bad-length' | 'bad-name'

/** What the `auth` record signs: AUTH_CONTEXT ‖ the final handshake hash. */
export function authMessage(handshakeHash: Uint8Array): Uint8Array {
  return new ByteWriter(AUTH_CONTEXT.length + handshakeHash.length)
    .bytes(AUTH_CONTEXT)
    .bytes(handshakeHash)
    .finish()
}

/** A name as 52 ASCII bytes (the handshake payload and the start of `auth`). */
export function encodeNameBytes(name: string): Uint8Array {
  const canonical = canonicalName(name)
  if (canonical === undefined) throw new RangeError(`not a name: ${name}`)
  return new TextEncoder().encode(canonical)
}

/** The canonical (lowercase) name in 52 bytes, or why they are not one. */
export function decodeNameBytes(bytes: Uint8Array): Decoded<string, RecordError> {
  if (bytes.length !== NAME_LENGTH) {
    return fail('bad-length', `a name is ${NAME_LENGTH} bytes, got ${bytes.length}`)
  }
  // latin1 maps each byte to one character, so any byte outside a-z, 2-7 is rejected below.
  const name = canonicalName(Buffer.from(bytes).toString('latin1'))
  return name === undefined ? fail('bad-name', 'not a valid name') : ok(name)
}

export function encodeRecord(record: LinkRecord): Uint8Array {
  switch (record.type) {
    case 'auth':
      if (record.signature.length !== SIGNATURE_BYTES) {
        throw new RangeError(`a signature is ${SIGNATURE_BYTES} bytes`)
      }
      return new ByteWriter(1 + NAME_LENGTH + SIGNATURE_BYTES)
        .u8(RECORD_TYPE.auth)
        .bytes(encodeNameBytes(record.name))
        .bytes(record.signature)
        .finish()
    case 'data': {
      // The data path: one allocation, one copy.
      const out = new Uint8Array(1 + record.payload.length)
      out[0] = RECORD_TYPE.data
      out.set(record.payload, 1)
      return out
    }
    case 'keepalive':
      return Uint8Array.of(RECORD_TYPE.keepalive)
    case 'close':
      if (!Number.isInteger(record.code) || record.code < 0 || record.code > 0xff) {
        throw new RangeError(`a close code is a u8, got ${record.code}`)
      }
      return Uint8Array.of(RECORD_TYPE.close, record.code)
    default:
      return assertNever(record)
  }
}

export function decodeRecord(bytes: Uint8Array): Decoded<LinkRecord, RecordError> {
  const r = new ByteReader(bytes)
  const type = r.u8()
  if (type === undefined) return fail('empty-record', 'a record has at least its type byte')
  const bodyLength = r.remaining
  switch (type) {
    case RECORD_TYPE.auth: {
      if (bodyLength !== NAME_LENGTH + SIGNATURE_BYTES) {
        return fail('bad-length', `auth body is ${NAME_LENGTH + SIGNATURE_BYTES} bytes`)
      }
      const name = decodeNameBytes(r.bytes(NAME_LENGTH) as Uint8Array)
      if (!name.ok) return name
      const signature = Uint8Array.from(r.bytes(SIGNATURE_BYTES) as Uint8Array)
      return ok({ type: 'auth', name: name.value, signature })
    }
    case RECORD_TYPE.data: {
      // A view: the decrypted record is a fresh buffer that nobody else holds.
      const body = r.bytes(bodyLength) as Uint8Array
      return ok({
        type: 'data',
        payload: new Uint8Array(body.buffer, body.byteOffset, body.length),
      })
    }
    case RECORD_TYPE.keepalive:
      if (bodyLength !== 0) return fail('bad-length', 'keepalive has an empty body')
      return ok({ type: 'keepalive' })
    case RECORD_TYPE.close:
      if (bodyLength !== 1) return fail('bad-length', 'close body is one byte')
      return ok({ type: 'close', code: r.u8() as number })
    default:
      return fail('unknown-type', `record type ${type}`)
  }
}

/** A close code's name, or its number when this version does not know it. */
export function closeCodeName(code: number): string {
  const known = Object.entries(CLOSE_CODE).find(([, v]) => v === code)
  return known === undefined ? `code ${code}` : `${known[0]} (${code})`
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`)
}
