/**
 * Name records: the DHT's one kind of value (docs/wire-dht.md, "Name record").
 * A record binds a name to the overlay address its node has now, and is signed
 * by the name's own key, so any node can check it from the name alone and no
 * replica has to be trusted. The only encoder and decoder of the format:
 *
 *   public key (32) ‖ address (docs/wire-address.md) ‖ seq (varint)
 *     ‖ expiry in Unix ms (varint) ‖ Ed25519 signature (64)
 *
 * The signature covers RECORD_CONTEXT ‖ every field before it. Decoding only
 * checks structure; `verifyNameRecord` checks the signature and the lifetime.
 */
import { ByteReader, ByteWriter } from '../core/bytes.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import { type Identity, verifyByName } from '../identity/keys.ts'
import { canonicalName, decodeName, encodeName, PUBLIC_KEY_BYTES } from '../identity/name.ts'
import type { Address } from '../overlay/address.ts'
import { readAddress, writeAddress } from '../overlay/address-codec.ts'

// Specification constants.

/** Prefixed to the signed fields, so no other semos signature can pass for a record. */
export const RECORD_CONTEXT = new TextEncoder().encode('semos/dht/name-record/v1')
export const RECORD_SIGNATURE_BYTES = 64
/** Smallest encoding: key, root address (2), one-byte seq and expiry, signature. */
export const MIN_NAME_RECORD_BYTES = PUBLIC_KEY_BYTES + 2 + 1 + 1 + RECORD_SIGNATURE_BYTES

// Tuning constants (defaults of `VerifyOptions`).

/** How far a verifier's clock may run behind the signer's. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000
/** The longest lifetime a verifier accepts: bounds how long a stolen address can linger. */
export const DEFAULT_MAX_LIFETIME_MS = 3_600_000

/** A node's signed claim "name is at address", valid until `expiresAtMs`. */
export interface NameRecord {
  /** The canonical (lowercase) name: the signer's public key. */
  readonly name: string
  readonly address: Address
  /** Grows with every new record of the name: a higher seq supersedes a lower one. */
  readonly seq: number
  /** Unix time in ms after which the record is void. */
  readonly expiresAtMs: number
  /** Ed25519 signature by the name's key over `signedMessage`, 64 bytes. */
  readonly signature: Uint8Array
}

export type NameRecordError = 'truncated' | 'bad-address' | 'trailing-bytes'
export type VerifyError = 'bad-signature' | 'expired' | 'too-far-future'

export interface VerifyOptions {
  /** Default DEFAULT_MAX_CLOCK_SKEW_MS. */
  readonly maxClockSkewMs?: number
  /** Default DEFAULT_MAX_LIFETIME_MS. */
  readonly maxLifetimeMs?: number
}

/**
 * A record of `identity`'s name at `address`. Throws a RangeError if seq or
 * expiry is not a safe integer ≥ 0 (local misuse: such a record has no encoding).
 */
export function signNameRecord(
  identity: Identity,
  address: Address,
  seq: number,
  expiresAtMs: number,
): NameRecord {
  assertCount('seq', seq)
  assertCount('expiresAtMs', expiresAtMs)
  const unsigned = { name: identity.name, address, seq, expiresAtMs }
  return { ...unsigned, signature: identity.sign(signedMessage(unsigned)) }
}

/** The bytes a record's signature covers: RECORD_CONTEXT ‖ key ‖ address ‖ seq ‖ expiry. */
export function signedMessage(record: Omit<NameRecord, 'signature'>): Uint8Array {
  const w = new ByteWriter(RECORD_CONTEXT.length + MIN_NAME_RECORD_BYTES)
  w.bytes(RECORD_CONTEXT)
  writeSignedFields(w, record)
  return w.finish()
}

function writeSignedFields(w: ByteWriter, record: Omit<NameRecord, 'signature'>): void {
  w.bytes(dhtKeyOfName(record.name))
  writeAddress(w, record.address)
  w.varint(record.seq).varint(record.expiresAtMs)
}

/** Appends a record, for messages that embed one. Throws a RangeError on a malformed record. */
export function writeNameRecord(w: ByteWriter, record: NameRecord): void {
  if (record.signature.length !== RECORD_SIGNATURE_BYTES) {
    throw new RangeError(`a record signature is ${RECORD_SIGNATURE_BYTES} bytes`)
  }
  writeSignedFields(w, record)
  w.bytes(record.signature)
}

export function encodeNameRecord(record: NameRecord): Uint8Array {
  const w = new ByteWriter(MIN_NAME_RECORD_BYTES + 8 + record.address.depth)
  writeNameRecord(w, record)
  return w.finish()
}

/** Reads one record from a stream of fields; the record is not verified yet. */
export function readNameRecord(r: ByteReader): Decoded<NameRecord, NameRecordError> {
  const key = r.bytes(PUBLIC_KEY_BYTES)
  if (key === undefined) return fail('truncated', 'public key')
  const address = readAddress(r)
  if (!address.ok) {
    return address.code === 'truncated'
      ? fail('truncated', `address: ${address.detail}`)
      : fail('bad-address', `${address.code}: ${address.detail}`)
  }
  // Varints are minimal and ≤ MAX_SAFE_INTEGER or undefined: one record, one encoding.
  const seq = r.varint()
  if (seq === undefined) return fail('truncated', 'bad or missing seq')
  const expiresAtMs = r.varint()
  if (expiresAtMs === undefined) return fail('truncated', 'bad or missing expiry')
  const signature = r.bytes(RECORD_SIGNATURE_BYTES)
  if (signature === undefined) return fail('truncated', 'signature')
  // Copies: a record outlives the frame it arrived in.
  return ok({
    name: encodeName(key),
    address: address.value,
    seq,
    expiresAtMs,
    signature: Uint8Array.from(signature),
  })
}

/** Decodes a buffer that holds exactly one record. */
export function decodeNameRecord(bytes: Uint8Array): Decoded<NameRecord, NameRecordError> {
  const r = new ByteReader(bytes)
  const result = readNameRecord(r)
  if (result.ok && r.remaining > 0) {
    return fail('trailing-bytes', `${r.remaining} bytes after the record`)
  }
  return result
}

/**
 * Whether a record may be believed at `nowMs`: not expired, not valid for
 * longer than maxLifetimeMs (plus the skew the signer's clock may be ahead
 * by), and signed by its name. The cheap time checks run before the signature.
 */
export function verifyNameRecord(
  record: NameRecord,
  nowMs: number,
  options: VerifyOptions = {},
): Decoded<NameRecord, VerifyError> {
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
  const lifetime = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS
  if (!isCount(record.seq) || !isCount(record.expiresAtMs)) {
    return fail('bad-signature', 'seq or expiry is not an integer ≥ 0: nothing signs that')
  }
  if (record.expiresAtMs <= nowMs) {
    return fail('expired', `expired at ${record.expiresAtMs}, now ${nowMs}`)
  }
  if (record.expiresAtMs - nowMs > lifetime + skew) {
    return fail('too-far-future', `expires ${record.expiresAtMs - nowMs} ms from now`)
  }
  // A non-canonical spelling would let one key occupy two store slots.
  if (canonicalName(record.name) !== record.name) {
    return fail('bad-signature', 'name is not canonical')
  }
  if (!verifyByName(record.name, signedMessage(record), record.signature)) {
    return fail('bad-signature', `not signed by ${record.name}`)
  }
  return ok(record)
}

/** The DHT key of a name: its 32-byte public key. Throws a RangeError if `name` is not one. */
export function dhtKeyOfName(name: string): Uint8Array {
  const key = decodeName(name)
  if (!key.ok) throw new RangeError(`not a name: ${key.detail}`)
  return key.value
}

/**
 * Orders two records of one name: by seq, then by expiry (a re-signed refresh
 * of the same seq lives longer). Negative when `a` is older, 0 on a tie.
 */
export function compareNameRecords(a: NameRecord, b: NameRecord): number {
  return a.seq !== b.seq ? a.seq - b.seq : a.expiresAtMs - b.expiresAtMs
}

/** Whether two records are the same signed statement, field for field. */
export function sameNameRecord(a: NameRecord, b: NameRecord): boolean {
  return (
    a.name === b.name &&
    a.seq === b.seq &&
    a.expiresAtMs === b.expiresAtMs &&
    a.address.equals(b.address) &&
    Buffer.from(a.signature).equals(b.signature)
  )
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

function assertCount(field: string, n: number): void {
  if (!isCount(n)) throw new RangeError(`${field} must be a safe integer ≥ 0, got ${n}`)
}
