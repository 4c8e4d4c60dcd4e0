/**
 * The SSM handshake by name (docs/wire-session.md, "Handshake"): Noise IK, sans-I/O.
 *
 *   1. initiateSession: the initiator knows the responder's name, hence its Noise static key
 *      (x25519PublicFromEd25519 of the name's key). It sends `hello`: IK message 1 (e, es,
 *      s, ss) whose payload is its 8-byte partial session id, then any early stream opens.
 *   2. acceptHello: the responder reads it, checks that the initiator's static key is the
 *      key of the name in the header, and answers `hello-reply`: IK message 2 (e, ee, se)
 *      whose payload is its own partial id. The responder is done.
 *   3. PendingSession.readReply: the initiator reads the reply and is done.
 *
 * The prologue binds the protocol label and both names, so a hello re-addressed to other
 * names does not decrypt. Both sides end with the same SessionKeys (each from its own side).
 * Bad input never throws: it is a Decoded failure with a HandshakeError code.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto'
import type { CipherName } from '../core/noise/cipher.ts'
import {
  type CipherState,
  createHandshake,
  type HandshakeState,
  hasSmallOrder,
  type SuiteName,
} from '../core/noise/index.ts'
import { type Decoded, fail, ok } from '../core/result.ts'
import type { Identity } from '../identity/keys.ts'
import { decodeName, encodeName } from '../identity/name.ts'
import { x25519PublicFromEd25519 } from '../identity/x25519.ts'
import { type HandshakeError, SessionError } from './session-errors.ts'
import {
  decodeRecord,
  encodeRecord,
  PARTIAL_ID_BYTES,
  type RecordHeader,
  SESSION_ID_BYTES,
  type SessionRecord,
} from './session-records.ts'
import { MAX_EARLY_OPEN_BYTES } from './srm/srm-frames.ts'

// Specification constants.

export const SESSION_PATTERN = 'IK'
/**
 * AES-256-GCM for the records: they carry the bulk, and with AES and carry-less multiply in
 * hardware (x86 AES-NI/VAES, ARMv8 crypto extensions) it costs a fraction of ChaCha20-Poly1305
 * per byte in node:crypto. Links keep ChaChaPoly: they seal only headers (docs/wire-link.md).
 */
export const SESSION_SUITE: SuiteName = '25519_AESGCM_BLAKE2s'
/** The records' AEAD: the suite's cipher. */
export const SESSION_CIPHER: CipherName = 'AESGCM'
export const SESSION_LABEL = 'semos/session/v1'

/** What both ends know once the handshake is done, each from its own side. */
export interface SessionKeys {
  /** The ordered concatenation of the two partial ids (16 bytes). */
  readonly sessionId: Uint8Array
  readonly initiator: boolean
  readonly localName: string
  readonly peerName: string
  readonly cipher: CipherName
  /** Epoch 0's record key for this side's records, and for the peer's. */
  readonly sendKey: Uint8Array
  readonly receiveKey: Uint8Array
  /** Noise's h: a channel binding for the session (e.g. to sign). */
  readonly handshakeHash: Uint8Array
}

export interface HandshakeOptions {
  /** Where the partial id comes from; default node:crypto randomBytes. Inject for tests. */
  readonly randomBytes?: (n: number) => Uint8Array
  /** The Noise ephemeral private key: for test vectors only; default a fresh one. */
  readonly ephemeral?: Uint8Array
}

export interface InitiateInit extends HandshakeOptions {
  readonly identity: Identity
  /** The responder's name: its Noise static key follows from it. */
  readonly peerName: string
  /**
   * Early stream opens (srm-frames.ts encodeEarlyOpens) for the hello's payload, after the
   * partial id: the responder may open those streams before the initiator's first record.
   */
  readonly early?: Uint8Array
}

const ZERO_HALF = new Uint8Array(SESSION_ID_BYTES - PARTIAL_ID_BYTES)
const ZERO_KEY = new Uint8Array(32)

/** LABEL ‖ initiator's name key ‖ responder's name key. */
export function sessionPrologue(initiatorKey: Uint8Array, responderKey: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(SESSION_LABEL), initiatorKey, responderKey])
}

/** The two partial ids in lexicographic order, concatenated: the same on both sides. */
export function combineSessionId(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a])
}

/** Starts a handshake with `peerName`; throws SessionError('bad-config') on a bad name. */
export function initiateSession(init: InitiateInit): PendingSession {
  return new PendingSession(init)
}

/**
 * Throws SessionError('bad-config') unless a handshake with `peerName` can start: a name
 * that decodes, whose key gives an X25519 key of large order. What initiateSession checks
 * first, without its cryptography: a dial checks it at once and makes the hello later.
 */
export function checkPeerName(peerName: string): void {
  const key = decodeName(peerName)
  if (!key.ok) throw new SessionError('bad-config', `peerName: ${key.detail}`)
  if (hasSmallOrder(x25519PublicFromEd25519(key.value))) {
    throw new SessionError('bad-config', 'peerName: its key has small order (no handshake)')
  }
}

/** The initiator between hello and hello-reply. */
export class PendingSession {
  /** The `hello` record to send (as the payload of a routed message to the peer). */
  readonly hello: Uint8Array
  readonly peerName: string
  readonly #identity: Identity
  readonly #peerKey: Uint8Array
  readonly #partialId: Uint8Array
  readonly #handshake: HandshakeState

  constructor(init: InitiateInit) {
    const peerKey = decodeName(init.peerName)
    if (!peerKey.ok) throw new SessionError('bad-config', `peerName: ${peerKey.detail}`)
    this.#identity = init.identity
    this.#peerKey = peerKey.value
    this.peerName = encodeName(peerKey.value)
    this.#partialId = partialIdFrom(init.randomBytes)
    const myKey = init.identity.publicKey
    try {
      this.#handshake = createHandshake({
        pattern: SESSION_PATTERN,
        suite: SESSION_SUITE,
        initiator: true,
        prologue: sessionPrologue(myKey, peerKey.value),
        staticKeyPair: init.identity.dh,
        remoteStaticPublicKey: x25519PublicFromEd25519(peerKey.value),
        ...(init.ephemeral && { ephemeral: init.ephemeral }),
      })
    } catch (e) {
      throw new SessionError('bad-config', `peerName: ${(e as Error).message}`)
    }
    const header = handshakeHeader(
      'hello',
      concat(this.#partialId, ZERO_HALF),
      myKey,
      peerKey.value,
    )
    const early = init.early ?? new Uint8Array(0)
    if (early.length > MAX_EARLY_OPEN_BYTES) {
      throw new SessionError('bad-config', `early opens take ${early.length} bytes`)
    }
    const payload = early.length === 0 ? this.#partialId : concat(this.#partialId, early)
    this.hello = encodeRecord(header, this.#handshake.writeMessage(payload))
  }

  /** This side's half of the session id, as the hello carries it in clear. */
  get partialId(): Uint8Array {
    return Uint8Array.from(this.#partialId)
  }

  /**
   * Reads the hello-reply. Failures before Noise runs (malformed, unexpected-type, wrong-peer,
   * wrong-state) leave this handshake waiting for the real reply; from Noise on it is over.
   */
  readReply(bytes: Uint8Array): Decoded<SessionKeys, HandshakeError> {
    const record = decodeHandshakeRecord(bytes, 'hello-reply')
    if (!record.ok) return record
    const { header, body } = record.value
    if (!sameBytes(header.source, this.#peerKey)) return fail('wrong-peer', 'not from the peer')
    if (!sameBytes(header.destination, this.#identity.publicKey)) {
      return fail('wrong-peer', 'not addressed to this name')
    }
    const id = header.sessionId
    const mine = this.#partialId
    const half = PARTIAL_ID_BYTES
    const ours = sameBytes(id.subarray(0, half), mine) || sameBytes(id.subarray(half), mine)
    if (!ours || this.#handshake.status !== 'reading') {
      return fail('wrong-state', 'not the reply to this hello, or a second reply')
    }
    const payload = this.#handshake.readMessage(body)
    if (!payload.ok) return fail('bad-handshake', `${payload.code}: ${payload.detail}`)
    if (!sameBytes(combineSessionId(mine, payload.value), id)) {
      return fail('bad-session-id', 'the header id is not the two partial ids combined')
    }
    return ok(finish(this.#handshake, id, this.#identity.name, this.peerName))
  }
}

/** What the responder takes from a hello: its reply, the session keys, the early opens. */
export interface AcceptedHello {
  readonly reply: Uint8Array
  readonly keys: SessionKeys
  /**
   * The hello's early stream opens, undecoded (empty if none). Authentic — only the
   * initiator's static key could seal them — but not fresh: a hello can be replayed.
   */
  readonly early: Uint8Array
}

/** The responder's hello-reply and keys, from a hello addressed to `identity`. */
export function acceptHello(
  identity: Identity,
  bytes: Uint8Array,
  options: HandshakeOptions = {},
): Decoded<AcceptedHello, HandshakeError> {
  const record = decodeHandshakeRecord(bytes, 'hello')
  if (!record.ok) return record
  const { header, body } = record.value
  if (!sameBytes(header.destination, identity.publicKey)) {
    return fail('wrong-peer', 'not addressed to this name')
  }
  const handshake = createHandshake({
    pattern: SESSION_PATTERN,
    suite: SESSION_SUITE,
    initiator: false,
    prologue: sessionPrologue(header.source, identity.publicKey),
    staticKeyPair: identity.dh,
    ...(options.ephemeral && { ephemeral: options.ephemeral }),
  })
  const theirs = handshake.readMessage(body)
  if (!theirs.ok) return fail('bad-handshake', `${theirs.code}: ${theirs.detail}`)
  // IK proves the initiator holds this static key; only this check ties the key to the name.
  const claimed = x25519PublicFromEd25519(header.source)
  if (!sameBytes(handshake.remoteStaticPublicKey ?? ZERO_KEY, claimed)) {
    return fail('name-mismatch', 'the static key is not the key of the source name')
  }
  const id = header.sessionId
  const half = PARTIAL_ID_BYTES
  const partial = theirs.value.subarray(0, half)
  if (
    theirs.value.length < half ||
    !sameBytes(id.subarray(0, half), partial) ||
    !sameBytes(id.subarray(half), ZERO_HALF)
  ) {
    return fail('bad-session-id', 'the header id is not the partial id in the payload')
  }
  const mine = partialIdFrom(options.randomBytes)
  const sessionId = combineSessionId(partial, mine)
  const replyHeader = handshakeHeader('hello-reply', sessionId, identity.publicKey, header.source)
  const reply = encodeRecord(replyHeader, handshake.writeMessage(mine))
  const keys = finish(handshake, sessionId, identity.name, encodeName(header.source))
  return ok({ reply, keys, early: Uint8Array.from(theirs.value.subarray(half)) })
}

function decodeHandshakeRecord(
  bytes: Uint8Array,
  expected: 'hello' | 'hello-reply',
): Decoded<SessionRecord, HandshakeError> {
  const record = decodeRecord(bytes)
  if (!record.ok) return fail('malformed', `${record.code}: ${record.detail}`)
  if (record.value.header.type !== expected) {
    return fail('unexpected-type', `${record.value.header.type}, not ${expected}`)
  }
  return record
}

function handshakeHeader(
  type: 'hello' | 'hello-reply',
  sessionId: Uint8Array,
  source: Uint8Array,
  destination: Uint8Array,
): RecordHeader {
  return { type, flags: 0, epoch: 0, sessionId, seq: 0n, streamId: 0, source, destination }
}

function finish(
  handshake: HandshakeState,
  sessionId: Uint8Array,
  localName: string,
  peerName: string,
): SessionKeys {
  const { send, receive } = handshake.split()
  return {
    sessionId: Uint8Array.from(sessionId),
    initiator: handshake.isInitiator,
    localName,
    peerName,
    cipher: SESSION_CIPHER,
    sendKey: recordKey(send),
    receiveKey: recordKey(receive),
    handshakeHash: handshake.handshakeHash,
  }
}

/**
 * Epoch 0's raw record key: the first 32 bytes of ENCRYPT(k, 0, ε, zeros) under the split
 * key k — REKEY's construction at nonce 0, because a CipherState keeps its key private and
 * reserves nonce 2^64 − 1. The records need a raw key to hold two epochs at once. The split
 * CipherState is then dropped, so k encrypts nothing else.
 */
function recordKey(cs: CipherState): Uint8Array {
  return Uint8Array.from(cs.encryptWithAd(new Uint8Array(0), ZERO_KEY).subarray(0, 32))
}

function partialIdFrom(random: ((n: number) => Uint8Array) | undefined): Uint8Array {
  const id = (random ?? cryptoRandomBytes)(PARTIAL_ID_BYTES)
  if (id.length !== PARTIAL_ID_BYTES) {
    throw new SessionError('bad-config', `randomBytes gave ${id.length} bytes, not 8`)
  }
  return Uint8Array.from(id)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.concat([a, b])
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
