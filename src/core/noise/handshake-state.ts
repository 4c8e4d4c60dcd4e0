/**
 * HandshakeState (spec §5.3): runs one side of a handshake pattern, sans-I/O. The caller
 * moves the bytes:
 *
 *   1. createHandshake(init) — InitializeSymmetric, MixHash(prologue), the pre-message keys;
 *   2. while `status` is 'writing' or 'reading': send writeMessage(payload), or feed a received
 *      message to readMessage and take its payload (or its code, and abort: the handshake is
 *      then 'failed' for good);
 *   3. when 'complete': handshakeHash, remoteStaticPublicKey, and split() once for the
 *      transport CipherStates (splitOneWay() for N, K and X).
 */
import { ByteReader } from '../bytes.ts'
import { type Decoded, fail, ok } from '../result.ts'
import { TAG_BYTES } from './cipher.ts'
import { type CipherReadError, type CipherState, MAX_MESSAGE_BYTES } from './cipher-state.ts'
import { checkConfig, importStatic } from './config.ts'
import {
  DHLEN,
  type DhKeyPair,
  type DhPublicKey,
  dh,
  generateDhKeyPair,
  importKeyPair,
  importPublicKey,
  type KeyPair,
} from './dh.ts'
import { NoiseError } from './errors.ts'
import { type HandshakePattern, lookupPattern, type Token } from './patterns.ts'
import { lookupSuite, type SuiteName } from './suites.ts'
import { SymmetricState } from './symmetric-state.ts'

/** What `createHandshake` takes. Keys are raw bytes; 32 each. */
export interface HandshakeInit {
  /** A pattern name with optional PSK modifiers: `XX`, `IK`, `XXpsk3`, `NNpsk0+psk2`. */
  readonly pattern: string
  /** The rest of the protocol name: `25519_ChaChaPoly_BLAKE2s`, `25519_AESGCM_SHA256`, … */
  readonly suite: SuiteName
  readonly initiator: boolean
  /** Bytes both sides must agree on, bound into h; default empty. */
  readonly prologue?: Uint8Array
  /** This side's static key pair; required when the pattern sends or pre-shares it. */
  readonly staticKeyPair?: KeyPair
  /** The peer's static public key, known in advance: required exactly when a pre-message has it. */
  readonly remoteStaticPublicKey?: Uint8Array
  /** Pre-shared keys of 32 bytes, one per psk token, in order. */
  readonly psks?: readonly Uint8Array[]
  /** This side's ephemeral private key. Default: a fresh one. Inject it only for test vectors. */
  readonly ephemeral?: Uint8Array
}

export type HandshakeStatus = 'writing' | 'reading' | 'complete' | 'failed'
export type HandshakeReadError = CipherReadError | 'bad-public-key' | 'wrong-state'

/** The transport CipherStates of a two-way pattern, from this side's point of view. */
export interface TransportCiphers {
  readonly send: CipherState
  readonly receive: CipherState
}

export function createHandshake(init: HandshakeInit): HandshakeState {
  return new HandshakeState(init)
}

export class HandshakeState {
  readonly #pattern: HandshakePattern
  readonly #initiator: boolean
  readonly #ss: SymmetricState
  readonly #s: DhKeyPair | undefined
  readonly #psks: readonly Uint8Array[]
  #injectedEphemeral: Uint8Array | undefined
  #e: DhKeyPair | undefined
  #rs: DhPublicKey | undefined
  #re: DhPublicKey | undefined
  #next = 0 // index of the next message
  #pskNext = 0
  #status: HandshakeStatus
  #splitDone = false

  /** Initialize() (spec §5.3); throws NoiseError('bad-config') on a bad or missing key. */
  constructor(init: HandshakeInit) {
    const pattern = lookupPattern(init.pattern)
    if (!pattern.ok) throw new NoiseError('bad-config', pattern.detail)
    const suite = lookupSuite(init.suite)
    if (!suite.ok) throw new NoiseError('bad-config', suite.detail)
    this.#pattern = pattern.value
    this.#initiator = init.initiator
    this.#psks = checkConfig(pattern.value, init)
    this.#s = init.staticKeyPair && importStatic(init.staticKeyPair)
    if (init.remoteStaticPublicKey !== undefined) {
      this.#rs = importPublicKey(init.remoteStaticPublicKey)
      if (this.#rs === undefined) throw new NoiseError('bad-config', 'remote static key: low order')
    }
    this.#injectedEphemeral = init.ephemeral && Uint8Array.from(init.ephemeral)
    this.#ss = new SymmetricState(`Noise_${pattern.value.name}_${suite.value.name}`, suite.value)
    this.#ss.mixHash(init.prologue ?? new Uint8Array(0))
    // Pre-messages (§7.1): the initiator's key first. checkConfig made sure both are here.
    const pre = pattern.value.preMessages
    const initiatorKey = this.#initiator ? this.#s?.publicKey : this.#rs?.bytes
    const responderKey = this.#initiator ? this.#rs?.bytes : this.#s?.publicKey
    if (pre.initiator.includes('s') && initiatorKey) this.#ss.mixHash(initiatorKey)
    if (pre.responder.includes('s') && responderKey) this.#ss.mixHash(responderKey)
    this.#status = this.#initiator ? 'writing' : 'reading'
  }

  get status(): HandshakeStatus {
    return this.#status
  }

  get isComplete(): boolean {
    return this.#status === 'complete'
  }

  get isInitiator(): boolean {
    return this.#initiator
  }

  /** GetHandshakeHash(): h so far; once complete, a channel binding for the session. */
  get handshakeHash(): Uint8Array {
    return this.#ss.handshakeHash
  }

  /** The peer's static key: given in advance, or received (authenticated once complete). */
  get remoteStaticPublicKey(): Uint8Array | undefined {
    return this.#rs && Uint8Array.from(this.#rs.bytes)
  }

  /** WriteMessage(payload): the next message. Throws NoiseError when out of turn or too large. */
  writeMessage(payload: Uint8Array): Uint8Array {
    if (this.#status !== 'writing') {
      throw new NoiseError('wrong-state', `cannot write: the handshake is ${this.#status}`)
    }
    const tokens = this.#pattern.messages[this.#next] ?? []
    const size = messageBytes(tokens, this.#ss.hasKey(), this.#pattern.psk, payload.length)
    if (size > MAX_MESSAGE_BYTES) {
      throw new NoiseError('message-too-large', `${size} bytes > ${MAX_MESSAGE_BYTES}`)
    }
    const parts: Uint8Array[] = []
    for (const token of tokens) {
      if (token === 'e') {
        const e = this.#injectedEphemeral
          ? importKeyPair(this.#injectedEphemeral)
          : generateDhKeyPair()
        this.#injectedEphemeral = undefined
        this.#e = e
        parts.push(e.publicKey)
        this.#mixEphemeral(e.publicKey)
      } else if (token === 's') {
        parts.push(this.#ss.encryptAndHash(this.#localStatic().publicKey))
      } else {
        this.#mixToken(token)
      }
    }
    parts.push(this.#ss.encryptAndHash(payload))
    this.#advance()
    return Buffer.concat(parts)
  }

  /** ReadMessage(message): the payload, or a coded reason; any failure ends the handshake. */
  readMessage(message: Uint8Array): Decoded<Uint8Array, HandshakeReadError> {
    if (this.#status !== 'reading') {
      return fail('wrong-state', `cannot read: the handshake is ${this.#status}`)
    }
    const result = this.#read(message)
    if (result.ok) this.#advance()
    else this.#status = 'failed'
    return result
  }

  #read(message: Uint8Array): Decoded<Uint8Array, HandshakeReadError> {
    if (message.length > MAX_MESSAGE_BYTES) {
      return fail('message-too-large', `${message.length} bytes > ${MAX_MESSAGE_BYTES}`)
    }
    const r = new ByteReader(message)
    for (const token of this.#pattern.messages[this.#next] ?? []) {
      if (token === 'e' || token === 's') {
        const key = this.#readKey(r, token)
        if (!key.ok) return key
      } else {
        this.#mixToken(token)
      }
    }
    return this.#ss.decryptAndHash(r.bytes(r.remaining) ?? new Uint8Array(0))
  }

  /** An `e` (clear) or `s` (encrypted once there is a key) token of a received message. */
  #readKey(r: ByteReader, token: 'e' | 's'): Decoded<undefined, HandshakeReadError> {
    const field = r.bytes(DHLEN + (token === 's' && this.#ss.hasKey() ? TAG_BYTES : 0))
    if (field === undefined)
      return fail('truncated', `no room for ${token} in message ${this.#next}`)
    const bytes = token === 'e' ? ok(field) : this.#ss.decryptAndHash(field)
    if (!bytes.ok) return bytes
    const key = importPublicKey(bytes.value)
    if (key === undefined) return fail('bad-public-key', `${token}: a low-order key`)
    if (token === 's') {
      this.#rs = key
    } else {
      this.#re = key
      this.#mixEphemeral(key.bytes)
    }
    return ok(undefined)
  }

  /** Split() for a two-way pattern: send with the first CipherState if initiator. Once only. */
  split(): TransportCiphers {
    if (this.#pattern.oneWay) {
      throw new NoiseError('wrong-state', `${this.#pattern.name} is one-way: use splitOneWay()`)
    }
    const [c1, c2] = this.#split()
    return this.#initiator ? { send: c1, receive: c2 } : { send: c2, receive: c1 }
  }

  /** Split() for N, K, X: the initiator's sending CipherState, the responder's receiving one. */
  splitOneWay(): CipherState {
    if (!this.#pattern.oneWay) {
      throw new NoiseError('wrong-state', `${this.#pattern.name} is two-way: use split()`)
    }
    return this.#split()[0] // the second is discarded: the responder never sends (§7.4)
  }

  #split(): [CipherState, CipherState] {
    if (this.#status !== 'complete' || this.#splitDone) {
      const why = this.#splitDone ? 'already split' : `the handshake is ${this.#status}`
      throw new NoiseError('wrong-state', `cannot split: ${why}`)
    }
    this.#splitDone = true // a second split would reuse every transport nonce
    this.#e = undefined
    return this.#ss.split()
  }

  /** MixHash(e), and in PSK handshakes MixKey(e) as well (spec §9.2). */
  #mixEphemeral(publicKey: Uint8Array): void {
    this.#ss.mixHash(publicKey)
    if (this.#pattern.psk) this.#ss.mixKey(publicKey)
  }

  /** The DH tokens and psk, the same whether writing or reading. */
  #mixToken(token: Exclude<Token, 'e' | 's'>): void {
    if (token === 'psk') {
      const psk = this.#psks[this.#pskNext++]
      if (psk === undefined) throw new Error('psk count was checked at creation')
      this.#ss.mixKeyAndHash(psk)
      return
    }
    const mine = token[this.#initiator ? 0 : 1] === 'e' ? this.#e : this.#localStatic()
    const theirs = token[this.#initiator ? 1 : 0] === 'e' ? this.#re : this.#rs
    const shared = mine && theirs && dh(mine.privateKey, theirs.key)
    // Remote keys are checked for low order on arrival, so this is a bug, not the peer.
    if (shared === undefined) throw new Error(`${token}: missing key or DH failure`)
    this.#ss.mixKey(shared)
  }

  #localStatic(): DhKeyPair {
    if (this.#s === undefined) throw new Error('static key presence was checked at creation')
    return this.#s
  }

  #advance(): void {
    this.#next++
    if (this.#next === this.#pattern.messages.length) this.#status = 'complete'
    else this.#status = (this.#next % 2 === 0) === this.#initiator ? 'writing' : 'reading'
  }
}

/** The size of a message before writing it, so that a too-large one changes no state. */
function messageBytes(tokens: readonly Token[], keyed: boolean, psk: boolean, payload: number) {
  let hasKey = keyed
  let size = payload
  for (const token of tokens) {
    if (token === 'e') {
      size += DHLEN
      hasKey ||= psk // MixKey(e) in PSK handshakes
    } else if (token === 's') {
      size += DHLEN + (hasKey ? TAG_BYTES : 0)
    } else {
      hasKey = true // every DH and psk token calls MixKey
    }
  }
  return size + (hasKey ? TAG_BYTES : 0)
}
