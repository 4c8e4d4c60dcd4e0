/**
 * Payloads of the overlay's own protocols inside `routed` messages
 * (docs/wire-overlay.md): `control` (why a message was not delivered) and
 * `echo` (ping). The only encoder and decoder of both.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { decodeName, encodeName, PUBLIC_KEY_BYTES } from '../identity/name.ts'
import type { Address } from './address.ts'
import { readAddress, writeAddress } from './address-codec.ts'
import { type Contact, readContact, writeContact } from './messages.ts'
import type { Undeliverable } from './node-types.ts'

/** How much of an undelivered payload an error message echoes back (enough for request ids). */
export const ERROR_ECHO_BYTES = 256

const ERROR_CODE: Record<Undeliverable, number> = {
  'not-joined': 1,
  'no-route': 2,
  'hop-limit': 3,
  'wrong-node': 4,
  timeout: 5,
  'link-busy': 6,
}

export interface ControlError {
  readonly reason: Undeliverable
  readonly proto: number
  readonly dest: Address
  /** The start of the payload that was not delivered. */
  readonly payload: Uint8Array
}

export function encodeControlError(e: ControlError): Uint8Array {
  const w = new ByteWriter(32 + Math.min(e.payload.length, ERROR_ECHO_BYTES))
  w.u8(ERROR_CODE[e.reason]).u8(e.proto)
  writeAddress(w, e.dest)
  w.bytes(e.payload.subarray(0, ERROR_ECHO_BYTES))
  return w.finish()
}

export function decodeControlError(bytes: Uint8Array): Decoded<ControlError, string> {
  const r = new ByteReader(bytes)
  const code = r.u8()
  const proto = r.u8()
  if (code === undefined || proto === undefined) return fail('truncated', 'control error')
  const reason = (Object.keys(ERROR_CODE) as Undeliverable[]).find((k) => ERROR_CODE[k] === code)
  if (reason === undefined) return fail('bad-field', `error code ${code}`)
  const dest = readAddress(r)
  if (!dest.ok) return fail(dest.code === 'truncated' ? 'truncated' : 'bad-address', dest.detail)
  const payload = r.bytes(r.remaining) as Uint8Array
  if (payload.length > ERROR_ECHO_BYTES) return fail('bad-field', 'echoed payload too long')
  return ok({ reason, proto, dest: dest.value, payload })
}

export const ECHO_KIND = { request: 1, reply: 2, wrongNode: 3 } as const

export type Echo =
  | { readonly kind: 'request'; readonly id: number; readonly name: string }
  | { readonly kind: 'reply' | 'wrong-node'; readonly id: number; readonly forwardHops: number }

export function encodeEcho(e: Echo): Uint8Array {
  const w = new ByteWriter(48)
  if (e.kind === 'request') {
    w.u8(ECHO_KIND.request).varint(e.id)
    const key = decodeName(e.name)
    if (!key.ok) throw new RangeError(`not a name: ${e.name}`)
    w.bytes(key.value)
  } else {
    w.u8(e.kind === 'reply' ? ECHO_KIND.reply : ECHO_KIND.wrongNode)
      .varint(e.id)
      .u8(e.forwardHops)
  }
  return w.finish()
}

export function decodeEcho(bytes: Uint8Array): Decoded<Echo, string> {
  const r = new ByteReader(bytes)
  const kind = r.u8()
  const id = r.varint()
  if (kind === undefined || id === undefined) return fail('truncated', 'echo')
  let echo: Echo
  if (kind === ECHO_KIND.request) {
    const key = r.bytes(PUBLIC_KEY_BYTES)
    if (key === undefined) return fail('truncated', 'echo name')
    echo = { kind: 'request', id, name: encodeName(key) }
  } else if (kind === ECHO_KIND.reply || kind === ECHO_KIND.wrongNode) {
    const forwardHops = r.u8()
    if (forwardHops === undefined) return fail('truncated', 'echo hops')
    echo = { kind: kind === ECHO_KIND.reply ? 'reply' : 'wrong-node', id, forwardHops }
  } else {
    return fail('bad-field', `echo kind ${kind}`)
  }
  if (r.remaining > 0) return fail('trailing-bytes', 'after echo')
  return ok(echo)
}

/**
 * A merge hint (PROTO.merge), from a node of a losing tree to its root: a
 * member of the winning tree to re-join through.
 */
export function encodeMergeHint(c: Contact): Uint8Array {
  const w = new ByteWriter(64)
  writeContact(w, c)
  return w.finish()
}

export function decodeMergeHint(bytes: Uint8Array): Decoded<Contact, string> {
  const r = new ByteReader(bytes)
  const contact = readContact(r)
  if (!contact.ok) return contact
  if (r.remaining > 0) return fail('trailing-bytes', 'after merge hint')
  return contact
}
