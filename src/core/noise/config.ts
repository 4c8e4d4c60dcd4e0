/**
 * Checks a HandshakeInit against its pattern before any state exists, so that a missing,
 * malformed or unused key is a NoiseError('bad-config') at creation, never a surprise
 * half-way through a handshake.
 */

import { DHLEN, type DhKeyPair, importKeyPair, type KeyPair } from './dh.ts'
import { NoiseError } from './errors.ts'
import type { HandshakeInit } from './handshake-state.ts'
import type { HandshakePattern } from './patterns.ts'

const PSK_BYTES = 32

/** Checks that the keys match what the pattern needs; returns the PSKs. */
export function checkConfig(pattern: HandshakePattern, init: HandshakeInit): readonly Uint8Array[] {
  const mySide = init.initiator ? 0 : 1
  const sendsStatic = pattern.messages.some((tokens, i) => i % 2 === mySide && tokens.includes('s'))
  const pre = pattern.preMessages
  const [myPre, theirPre] = init.initiator
    ? [pre.initiator, pre.responder]
    : [pre.responder, pre.initiator]
  if ((sendsStatic || myPre.length > 0) && init.staticKeyPair === undefined) {
    throw new NoiseError('bad-config', `${pattern.name} needs this side's static key pair`)
  }
  if (theirPre.length > 0 !== (init.remoteStaticPublicKey !== undefined)) {
    // An unused expected key would look like a check that never happens.
    const why = theirPre.length > 0 ? 'needs' : 'does not use'
    throw new NoiseError('bad-config', `${pattern.name} ${why} a remote static key in advance`)
  }
  const psks = init.psks ?? []
  const wanted = pattern.messages.flat().filter((t) => t === 'psk').length
  if (psks.length !== wanted) {
    throw new NoiseError('bad-config', `${pattern.name} takes ${wanted} PSKs, got ${psks.length}`)
  }
  if (psks.some((psk) => psk.length !== PSK_BYTES)) {
    throw new NoiseError('bad-config', `a PSK is ${PSK_BYTES} bytes`)
  }
  if (init.ephemeral !== undefined && init.ephemeral.length !== DHLEN) {
    throw new NoiseError('bad-config', `an ephemeral private key is ${DHLEN} bytes`)
  }
  return psks.map((psk) => Uint8Array.from(psk))
}

/**
 * Imported static keys by the KeyPair object they came from: a node uses one static key
 * for every handshake, and importing it (DER wrap, parse, derive the public half) costs
 * more than a DH. Keyed by object, so a key pair the caller changes in place is not
 * supported (none does: key pairs are made once).
 */
const imports = new WeakMap<KeyPair, { privateKey: Uint8Array; imported: DhKeyPair }>()

export function importStatic(pair: KeyPair): DhKeyPair {
  if (pair.privateKey.length !== DHLEN || pair.publicKey.length !== DHLEN) {
    throw new NoiseError('bad-config', `static keys are ${DHLEN} bytes`)
  }
  const known = imports.get(pair)
  if (known !== undefined && Buffer.from(known.privateKey).equals(pair.privateKey)) {
    return known.imported
  }
  const imported = importKeyPair(pair.privateKey)
  if (!Buffer.from(imported.publicKey).equals(pair.publicKey)) {
    throw new NoiseError('bad-config', 'the static public key does not match its private key')
  }
  imports.set(pair, { privateKey: Uint8Array.from(pair.privateKey), imported })
  return imported
}
