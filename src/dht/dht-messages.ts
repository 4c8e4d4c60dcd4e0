/**
 * The DHT's messages, carried as the payload of overlay `routed` messages with
 * protocol PROTO.dht (docs/wire-dht.md, "DHT messages"). The only encoder and
 * decoder of them.
 *
 * Requests (put, get) carry the origin's address, so that a node deeper on
 * the key's walk can answer the origin directly, and the replica index and
 * walk steps taken, so that every node on the way computes the same walk.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { PUBLIC_KEY_BYTES } from '../identity/name.ts'
import type { Address } from '../overlay/address.ts'
import { readAddress, writeAddress } from '../overlay/address-codec.ts'
import { type NameRecord, readNameRecord, writeNameRecord } from './name-record.ts'

export const DHT_TYPE = { put: 1, putAck: 2, get: 3, getReply: 4, backup: 5 } as const

/** What a replica did with a put (the store's outcome, or why it did not store). */
export const PUT_OUTCOME = [
  'stored',
  'replaced',
  'same',
  'bad-signature',
  'expired',
  'too-far-future',
  'stale-seq',
  'full',
] as const
export type PutAckOutcome = (typeof PUT_OUTCOME)[number]

export type DhtMessage =
  | {
      readonly type: 'put'
      readonly id: number
      readonly replica: number
      readonly steps: number
      readonly origin: Address
      readonly record: NameRecord
    }
  | { readonly type: 'put-ack'; readonly id: number; readonly outcome: PutAckOutcome }
  | {
      readonly type: 'get'
      readonly id: number
      readonly replica: number
      readonly steps: number
      readonly origin: Address
      /** The DHT key: the name's 32-byte public key. */
      readonly key: Uint8Array
    }
  /**
   * The owner's answer: the record, or none; `pending` (only with none) when its
   * tables changed lately, so that the record may still be on its way to it.
   */
  | {
      readonly type: 'get-reply'
      readonly id: number
      readonly record: NameRecord | undefined
      readonly pending: boolean
    }
  /** An owner's copy of a record it stores, kept by its parent in case the owner dies. */
  | {
      readonly type: 'backup'
      readonly id: number
      readonly replica: number
      readonly record: NameRecord
    }

export type DhtMessageError =
  | 'empty'
  | 'unknown-type'
  | 'truncated'
  | 'bad-field'
  | 'trailing-bytes'

export function encodeDhtMessage(m: DhtMessage): Uint8Array {
  const w = new ByteWriter(160)
  switch (m.type) {
    case 'put':
      w.u8(DHT_TYPE.put).varint(m.id).u8(m.replica).u8(m.steps)
      writeAddress(w, m.origin)
      writeNameRecord(w, m.record)
      break
    case 'put-ack':
      w.u8(DHT_TYPE.putAck).varint(m.id).u8(PUT_OUTCOME.indexOf(m.outcome))
      break
    case 'get':
      if (m.key.length !== PUBLIC_KEY_BYTES) throw new RangeError('a DHT key is 32 bytes')
      w.u8(DHT_TYPE.get).varint(m.id).u8(m.replica).u8(m.steps)
      writeAddress(w, m.origin)
      w.bytes(m.key)
      break
    case 'backup':
      w.u8(DHT_TYPE.backup).varint(m.id).u8(m.replica)
      writeNameRecord(w, m.record)
      break
    case 'get-reply':
      w.u8(DHT_TYPE.getReply)
        .varint(m.id)
        .u8(m.record !== undefined ? 1 : m.pending ? 2 : 0)
      if (m.record !== undefined) writeNameRecord(w, m.record)
      break
  }
  return w.finish()
}

export function decodeDhtMessage(bytes: Uint8Array): Decoded<DhtMessage, DhtMessageError> {
  const r = new ByteReader(bytes)
  const type = r.u8()
  if (type === undefined) return fail('empty', 'empty DHT message')
  const id = r.varint()
  if (id === undefined) return fail('truncated', 'request id')
  const m = decodeBody(type, id, r)
  if (m.ok && r.remaining > 0)
    return fail('trailing-bytes', `${r.remaining} bytes after ${m.value.type}`)
  return m
}

type Body = Decoded<DhtMessage, DhtMessageError>

/** One reader per message type (the decoder's dispatch table). */
const READERS: Record<number, (id: number, r: ByteReader) => Body> = {
  [DHT_TYPE.put]: (id, r) => readRequest('put', id, r),
  [DHT_TYPE.get]: (id, r) => readRequest('get', id, r),
  [DHT_TYPE.putAck]: (id, r) => {
    const code = r.u8()
    if (code === undefined) return fail('truncated', 'put-ack outcome')
    const outcome = PUT_OUTCOME[code]
    return outcome === undefined
      ? fail('bad-field', 'put-ack outcome')
      : ok({ type: 'put-ack', id, outcome })
  },
  [DHT_TYPE.getReply]: (id, r) => {
    const found = r.u8()
    if (found === undefined) return fail('truncated', 'get-reply flag')
    if (found > 2) return fail('bad-field', 'get-reply flag')
    if (found !== 1) return ok({ type: 'get-reply', id, record: undefined, pending: found === 2 })
    const record = readRecord(r)
    return record.ok ? ok({ type: 'get-reply', id, record: record.value, pending: false }) : record
  },
  [DHT_TYPE.backup]: (id, r) => {
    const replica = r.u8()
    if (replica === undefined) return fail('truncated', 'backup replica')
    const record = readRecord(r)
    return record.ok ? ok({ type: 'backup', id, replica, record: record.value }) : record
  },
}

function decodeBody(type: number, id: number, r: ByteReader): Body {
  const reader = READERS[type]
  return reader === undefined ? fail('unknown-type', `DHT message type ${type}`) : reader(id, r)
}

function readRequest(type: 'put' | 'get', id: number, r: ByteReader): Body {
  const replica = r.u8()
  const steps = r.u8()
  if (replica === undefined || steps === undefined) return fail('truncated', 'request header')
  const origin = readAddress(r)
  if (!origin.ok) return fail(embeddedCode(origin.code), `origin: ${origin.code}`)
  if (type === 'get') {
    const key = r.bytes(PUBLIC_KEY_BYTES)
    if (key === undefined) return fail('truncated', 'key')
    return ok({ type, id, replica, steps, origin: origin.value, key: Uint8Array.from(key) })
  }
  const record = readRecord(r)
  return record.ok
    ? ok({ type, id, replica, steps, origin: origin.value, record: record.value })
    : record
}

function readRecord(r: ByteReader): Decoded<NameRecord, DhtMessageError> {
  const record = readNameRecord(r)
  return record.ok
    ? record
    : fail(embeddedCode(record.code), `record: ${record.code}: ${record.detail}`)
}

/** An embedded address or record that ends early truncates the message; else it is a bad field. */
function embeddedCode(code: string): DhtMessageError {
  return code === 'truncated' ? 'truncated' : 'bad-field'
}
