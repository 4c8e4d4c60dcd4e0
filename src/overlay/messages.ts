/**
 * The overlay's messages between neighbours, carried one per link data record
 * (docs/wire-overlay.md). This module is their only encoder and decoder.
 *
 * Every message starts with a u8 type. `routed` is the one message that travels
 * beyond a neighbour: greedy forwarding rewrites only its `hops` byte, which
 * sits at a fixed offset so that a relay need not re-encode the frame.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { decodeName, encodeName, PUBLIC_KEY_BYTES } from '../identity/name.ts'
import type { Address } from './address.ts'
import { addressWireBytes, readAddress, writeAddress } from './address-codec.ts'

export const MESSAGE_TYPE = {
  hello: 1,
  joinRequest: 2,
  joinAccept: 3,
  joinRedirect: 4,
  joinRefuse: 5,
  place: 6,
  report: 7,
  routed: 8,
  leave: 9,
  detach: 10,
} as const

/** Byte offset of `hops` in an encoded `routed` message. */
export const ROUTED_HOPS_OFFSET = 2
/** Byte offset of `proto` in an encoded `routed` message. */
const ROUTED_PROTO_OFFSET = 4

/** The proto of an encoded `routed` message, read in place; undefined for any other message. */
export function peekRoutedProto(bytes: Uint8Array): number | undefined {
  return bytes[0] === MESSAGE_TYPE.routed ? bytes[ROUTED_PROTO_OFFSET] : undefined
}
/** Largest endpoint string ("host:port"), in UTF-8 bytes. */
export const MAX_ENDPOINT_BYTES = 255
/** Most contacts one message may carry. */
export const MAX_CONTACTS = 64
/** Most tables (ancestor levels) a `place` may carry. */
export const MAX_TABLES = 4096
/** `report.minFree` value meaning "no free slot in this subtree". */
export const NO_FREE_SLOT = 0xffff

/** Why a member would not place a joiner. */
export const REFUSE_REASON = { busy: 1, inSubtree: 2, full: 3, shutdown: 4 } as const
export type RefuseReason = keyof typeof REFUSE_REASON

/** A member a node may dial: its name and the TCP endpoint it advertises. */
export interface Contact {
  readonly name: string
  readonly endpoint: string
}

/** A tree's identity: its root's name and how many times it was re-rooted. */
export interface TreeId {
  readonly root: string
  readonly epoch: number
}

/** A child slot as a parent describes it to its children (for shortcuts and re-joins). */
export interface SlotContact extends Contact {
  readonly slot: number
}

export type OverlayMessage =
  | {
      readonly type: 'hello'
      readonly endpoint: string
      readonly address: Address | undefined
      readonly tree: TreeId | undefined
    }
  | {
      readonly type: 'join-request'
      readonly rejoin: boolean
      /** Levels the request still climbs before it descends (the `near` attach policy). */
      readonly climb: number
      /** The joiner's current (stale) address: a member inside that subtree must refuse. */
      readonly avoid: Address | undefined
    }
  | { readonly type: 'join-accept'; readonly address: Address; readonly tree: TreeId }
  | { readonly type: 'join-redirect'; readonly climb: number; readonly contacts: Contact[] }
  | { readonly type: 'join-refuse'; readonly reason: RefuseReason }
  | {
      readonly type: 'place'
      readonly address: Address
      readonly tree: TreeId
      /** Names from the root down to the parent: a node finding its own name here is in a cycle. */
      readonly ancestors: string[]
      /** Child subtree sizes of each ancestor, root first (the DHT walks them). */
      readonly tables: number[][]
      /** The parent's parent (if any), then the parent's children. */
      readonly grandparent: Contact | undefined
      readonly siblings: SlotContact[]
    }
  | { readonly type: 'report'; readonly size: number; readonly minFree: number }
  | RoutedMessage
  | { readonly type: 'leave' }
  | { readonly type: 'detach' }

/** A datagram forwarded greedily toward `dest`. */
export interface RoutedMessage {
  readonly type: 'routed'
  /** ROUTED_FLAG bits. */
  readonly flags: number
  readonly hops: number
  readonly maxHops: number
  readonly proto: number
  readonly dest: Address
  readonly src: Address
  readonly payload: Uint8Array
}

export const ROUTED_FLAG = {
  /** Deliver at the closest node when no neighbour is closer (DHT keys), not as an error. */
  anycast: 1,
} as const

export type MessageError =
  | 'empty'
  | 'unknown-type'
  | 'truncated'
  | 'bad-address'
  | 'bad-name'
  | 'bad-field'
  | 'trailing-bytes'

type Fail = { readonly ok: false; readonly code: MessageError; readonly detail: string }

export function encodeMessage(m: OverlayMessage): Uint8Array {
  // A routed message is sized exactly, so that the payload is copied once, into memory
  // not zeroed first (finishView zeroes whatever slack an upper bound leaves).
  const w =
    m.type === 'routed'
      ? ByteWriter.bounded(
          5 + addressWireBytes(m.dest) + addressWireBytes(m.src) + m.payload.length,
        )
      : new ByteWriter(64)
  switch (m.type) {
    case 'hello':
      w.u8(MESSAGE_TYPE.hello)
      writeString(w, m.endpoint)
      writeOptionalAddress(w, m.address)
      w.u8(m.tree === undefined ? 0 : 1)
      if (m.tree !== undefined) writeTree(w, m.tree)
      break
    case 'join-request':
      w.u8(MESSAGE_TYPE.joinRequest)
        .u8(m.rejoin ? 1 : 0)
        .u8(m.climb)
      writeOptionalAddress(w, m.avoid)
      break
    case 'join-accept':
      w.u8(MESSAGE_TYPE.joinAccept)
      writeAddress(w, m.address)
      writeTree(w, m.tree)
      break
    case 'join-redirect':
      w.u8(MESSAGE_TYPE.joinRedirect).u8(m.climb).varint(m.contacts.length)
      for (const c of m.contacts) writeContact(w, c)
      break
    case 'join-refuse':
      w.u8(MESSAGE_TYPE.joinRefuse).u8(REFUSE_REASON[m.reason])
      break
    case 'place':
      writePlace(w, m)
      break
    case 'report':
      w.u8(MESSAGE_TYPE.report).varint(m.size).varint(m.minFree)
      break
    case 'routed':
      w.u8(MESSAGE_TYPE.routed).u8(m.flags).u8(m.hops).u8(m.maxHops).u8(m.proto)
      writeAddress(w, m.dest)
      writeAddress(w, m.src)
      w.bytes(m.payload)
      break
    case 'leave':
      w.u8(MESSAGE_TYPE.leave)
      break
    case 'detach':
      w.u8(MESSAGE_TYPE.detach)
      break
  }
  return w.finish()
}

/** Decodes one message; never throws on untrusted bytes. */
export function decodeMessage(bytes: Uint8Array): Decoded<OverlayMessage, MessageError> {
  if (bytes.length === 0) return fail('empty', 'empty message')
  const r = new ByteReader(bytes)
  const type = r.u8() as number
  const decoded = decodeBody(type, r)
  if (decoded.ok && r.remaining > 0 && decoded.value.type !== 'routed') {
    return fail('trailing-bytes', `${r.remaining} bytes after ${decoded.value.type}`)
  }
  return decoded
}

type Reader = (r: ByteReader) => Decoded<OverlayMessage, MessageError>

/** One reader per message type (the dispatch table of the decoder). */
const READERS: Record<number, Reader> = {
  [MESSAGE_TYPE.hello]: readHello,
  [MESSAGE_TYPE.joinRequest]: readJoinRequest,
  [MESSAGE_TYPE.joinAccept]: readJoinAccept,
  [MESSAGE_TYPE.joinRedirect]: readJoinRedirect,
  [MESSAGE_TYPE.joinRefuse]: readJoinRefuse,
  [MESSAGE_TYPE.place]: readPlace,
  [MESSAGE_TYPE.report]: readReport,
  [MESSAGE_TYPE.routed]: readRouted,
  [MESSAGE_TYPE.leave]: () => ok({ type: 'leave' }),
  [MESSAGE_TYPE.detach]: () => ok({ type: 'detach' }),
}

function decodeBody(type: number, r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const reader = READERS[type]
  return reader === undefined ? fail('unknown-type', `message type ${type}`) : reader(r)
}

function readHello(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const endpoint = readString(r)
  if (!endpoint.ok) return endpoint
  const address = readOptionalAddress(r)
  if (!address.ok) return address
  const hasTree = r.u8()
  if (hasTree === undefined) return fail('truncated', 'hello: tree flag')
  if (hasTree > 1) return fail('bad-field', 'hello: tree flag')
  const tree = hasTree === 1 ? readTree(r) : ok(undefined)
  if (!tree.ok) return tree
  return ok({ type: 'hello', endpoint: endpoint.value, address: address.value, tree: tree.value })
}

function readJoinRequest(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const rejoin = r.u8()
  const climb = r.u8()
  if (rejoin === undefined || climb === undefined) return fail('truncated', 'join-request')
  if (rejoin > 1) return fail('bad-field', 'join-request: rejoin flag')
  const avoid = readOptionalAddress(r)
  if (!avoid.ok) return avoid
  return ok({ type: 'join-request', rejoin: rejoin === 1, climb, avoid: avoid.value })
}

function readJoinAccept(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const address = readAddressField(r)
  if (!address.ok) return address
  const tree = readTree(r)
  if (!tree.ok) return tree
  return ok({ type: 'join-accept', address: address.value, tree: tree.value })
}

function readJoinRedirect(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const climb = r.u8()
  if (climb === undefined) return fail('truncated', 'join-redirect')
  const contacts = readContacts(r)
  if (!contacts.ok) return contacts
  return ok({ type: 'join-redirect', climb, contacts: contacts.value })
}

function readJoinRefuse(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const code = r.u8()
  if (code === undefined) return fail('truncated', 'join-refuse: reason')
  const reason = (Object.keys(REFUSE_REASON) as RefuseReason[]).find(
    (k) => REFUSE_REASON[k] === code,
  )
  if (reason === undefined) return fail('bad-field', `join-refuse: reason ${code}`)
  return ok({ type: 'join-refuse', reason })
}

function readReport(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const size = r.varint()
  const minFree = r.varint()
  if (size === undefined || minFree === undefined) return fail('truncated', 'report')
  if (size < 1 || minFree > NO_FREE_SLOT) return fail('bad-field', 'report: size or minFree')
  return ok({ type: 'report', size, minFree })
}

function readRouted(r: ByteReader): Decoded<RoutedMessage, MessageError> {
  const flags = r.u8()
  const hops = r.u8()
  const maxHops = r.u8()
  const proto = r.u8()
  if (proto === undefined || flags === undefined || hops === undefined || maxHops === undefined) {
    return fail('truncated', 'routed header')
  }
  const dest = readAddressField(r)
  if (!dest.ok) return dest
  const src = readAddressField(r)
  if (!src.ok) return src
  if (dest.value.q !== src.value.q)
    return fail('bad-address', 'routed: dest and src degrees differ')
  const payload = r.bytes(r.remaining) as Uint8Array
  return ok({
    type: 'routed',
    flags,
    hops,
    maxHops,
    proto,
    dest: dest.value,
    src: src.value,
    payload,
  })
}

function writePlace(w: ByteWriter, m: Extract<OverlayMessage, { type: 'place' }>): void {
  w.u8(MESSAGE_TYPE.place)
  writeAddress(w, m.address)
  writeTree(w, m.tree)
  w.varint(m.ancestors.length)
  for (const name of m.ancestors) writeName(w, name)
  w.varint(m.tables.length)
  for (const table of m.tables) {
    w.varint(table.length)
    for (const size of table) w.varint(size)
  }
  w.u8(m.grandparent === undefined ? 0 : 1)
  if (m.grandparent !== undefined) writeContact(w, m.grandparent)
  w.varint(m.siblings.length)
  for (const s of m.siblings) {
    w.u8(s.slot)
    writeContact(w, s)
  }
}

function readPlace(r: ByteReader): Decoded<OverlayMessage, MessageError> {
  const address = readAddressField(r)
  if (!address.ok) return address
  const tree = readTree(r)
  if (!tree.ok) return tree
  const ancestors = readList(r, MAX_TABLES, 'ancestors', readName)
  if (!ancestors.ok) return ancestors
  const tables = readList(r, MAX_TABLES, 'tables', readTable)
  if (!tables.ok) return tables
  const hasGrandparent = r.u8()
  if (hasGrandparent === undefined) return fail('truncated', 'place: grandparent flag')
  if (hasGrandparent > 1) return fail('bad-field', 'place: flag')
  const grandparent = hasGrandparent === 1 ? readContact(r) : ok(undefined)
  if (!grandparent.ok) return grandparent
  const siblings = readList(r, MAX_CONTACTS, 'siblings', readSlotContact)
  if (!siblings.ok) return siblings
  return ok({
    type: 'place',
    address: address.value,
    tree: tree.value,
    ancestors: ancestors.value,
    tables: tables.value,
    grandparent: grandparent.value,
    siblings: siblings.value,
  })
}

function readList<T>(
  r: ByteReader,
  max: number,
  what: string,
  item: (r: ByteReader) => Decoded<T, MessageError>,
): Decoded<T[], MessageError> {
  const n = readCount(r, max, what)
  if (!n.ok) return n
  const out: T[] = []
  for (let i = 0; i < n.value; i++) {
    const v = item(r)
    if (!v.ok) return v
    out.push(v.value)
  }
  return ok(out)
}

function readTable(r: ByteReader): Decoded<number[], MessageError> {
  return readList(r, 64, 'table', (rr) => {
    const size = rr.varint()
    return size === undefined ? fail('truncated', 'table entry') : ok(size)
  })
}

function readSlotContact(r: ByteReader): Decoded<SlotContact, MessageError> {
  const slot = r.u8()
  if (slot === undefined) return fail('truncated', 'sibling slot')
  const c = readContact(r)
  return c.ok ? ok({ slot, ...c.value }) : c
}

function readCount(r: ByteReader, max: number, what: string): Decoded<number, MessageError> {
  const n = r.varint()
  if (n === undefined) return fail('truncated', `${what} count`)
  if (n > max) return fail('bad-field', `${what} count ${n}`)
  if (n > r.remaining) return fail('truncated', `${what} count ${n}`)
  return ok(n)
}

function writeString(w: ByteWriter, s: string): void {
  const bytes = Buffer.from(s, 'utf8')
  if (bytes.length > MAX_ENDPOINT_BYTES) throw new RangeError(`endpoint too long: ${s}`)
  w.u8(bytes.length).bytes(bytes)
}

function readString(r: ByteReader): Decoded<string, MessageError> {
  const len = r.u8()
  if (len === undefined) return fail('truncated', 'string length')
  const bytes = r.bytes(len)
  if (bytes === undefined) return fail('truncated', 'string')
  const s = Buffer.from(bytes).toString('utf8')
  if (!Buffer.from(s, 'utf8').equals(bytes)) return fail('bad-field', 'string is not UTF-8')
  return ok(s)
}

function writeName(w: ByteWriter, name: string): void {
  const key = decodeName(name)
  if (!key.ok) throw new RangeError(`not a name: ${name}`)
  w.bytes(key.value)
}

function readName(r: ByteReader): Decoded<string, MessageError> {
  const key = r.bytes(PUBLIC_KEY_BYTES)
  if (key === undefined) return fail('truncated', 'name')
  return ok(encodeName(key))
}

/** A contact's encoding, shared with the merge hint (routed-payloads.ts). */
export function writeContact(w: ByteWriter, c: Contact): void {
  writeName(w, c.name)
  writeString(w, c.endpoint)
}

export function readContact(r: ByteReader): Decoded<Contact, MessageError> {
  const name = readName(r)
  if (!name.ok) return name
  const endpoint = readString(r)
  if (!endpoint.ok) return endpoint
  return ok({ name: name.value, endpoint: endpoint.value })
}

function readContacts(r: ByteReader): Decoded<Contact[], MessageError> {
  return readList(r, MAX_CONTACTS, 'contacts', readContact)
}

function writeTree(w: ByteWriter, tree: TreeId): void {
  writeName(w, tree.root)
  w.varint(tree.epoch)
}

function readTree(r: ByteReader): Decoded<TreeId, MessageError> {
  const root = readName(r)
  if (!root.ok) return root
  const epoch = r.varint()
  if (epoch === undefined) return fail('truncated', 'tree epoch')
  return ok({ root: root.value, epoch })
}

function writeOptionalAddress(w: ByteWriter, address: Address | undefined): void {
  w.u8(address === undefined ? 0 : 1)
  if (address !== undefined) writeAddress(w, address)
}

function readOptionalAddress(r: ByteReader): Decoded<Address | undefined, MessageError> {
  const flag = r.u8()
  if (flag === undefined) return fail('truncated', 'address flag')
  if (flag > 1) return fail('bad-field', `address flag ${flag}`)
  return flag === 0 ? ok(undefined) : readAddressField(r)
}

function readAddressField(r: ByteReader): Decoded<Address, MessageError> | Fail {
  const a = readAddress(r)
  if (a.ok) return a
  return fail(a.code === 'truncated' ? 'truncated' : 'bad-address', `${a.code}: ${a.detail}`)
}

/** Whether two tree ids name the same tree. */
export function sameTree(a: TreeId | undefined, b: TreeId | undefined): boolean {
  return a !== undefined && b !== undefined && a.root === b.root && a.epoch === b.epoch
}
