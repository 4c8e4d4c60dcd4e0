import { type Identity, identityFromSeed } from '../../src/identity/keys.ts'
import type { RecordCipherOptions } from '../../src/session/record-cipher.ts'
import { SessionCrypto } from '../../src/session/session-crypto.ts'
import {
  acceptHello,
  initiateSession,
  type SessionKeys,
} from '../../src/session/session-handshake.ts'

/** A fixed identity per small integer, so failures are reproducible. */
export function identity(n: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(n))
}

/** A deterministic randomBytes for partial ids. */
export function fixedRandom(byte: number): (n: number) => Uint8Array {
  return (n) => new Uint8Array(n).fill(byte)
}

/** Runs the handshake between identities a (initiator) and b; returns both sides' keys. */
export function handshake(a: Identity, b: Identity): { alice: SessionKeys; bob: SessionKeys } {
  const pending = initiateSession({ identity: a, peerName: b.name })
  const accepted = acceptHello(b, pending.hello)
  if (!accepted.ok) throw new Error(`acceptHello: ${accepted.code}: ${accepted.detail}`)
  const reply = pending.readReply(accepted.value.reply)
  if (!reply.ok) throw new Error(`readReply: ${reply.code}: ${reply.detail}`)
  return { alice: reply.value, bob: accepted.value.keys }
}

/** Two ends of one fresh session, at time `nowMs`. */
export function sessionPair(
  options: RecordCipherOptions = {},
  nowMs = 0,
): { alice: SessionCrypto; bob: SessionCrypto } {
  const keys = handshake(identity(1), identity(2))
  return {
    alice: new SessionCrypto(keys.alice, nowMs, options),
    bob: new SessionCrypto(keys.bob, nowMs, options),
  }
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
