import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createHandshake, keyPairFromPrivateKey } from '../../src/core/noise/index.ts'
import { SessionError } from '../../src/session/session-errors.ts'
import {
  acceptHello,
  initiateSession,
  SESSION_PATTERN,
  SESSION_SUITE,
  sessionPrologue,
} from '../../src/session/session-handshake.ts'
import { decodeRecord, encodeRecord } from '../../src/session/session-records.ts'
import { fixedRandom, handshake, hex, identity } from './helpers.ts'

const alice = identity(1)
const bob = identity(2)
const carol = identity(3)
const mallory = identity(4)

interface Vector {
  readonly protocol_name: string
  readonly init_prologue: string
  readonly init_static: string
  readonly init_ephemeral: string
  readonly init_remote_static: string
  readonly resp_static: string
  readonly resp_ephemeral: string
  readonly handshake_hash: string
  readonly messages: readonly { readonly payload: string; readonly ciphertext: string }[]
}

/** Noise_IK_25519_AESGCM_BLAKE2s from cacophony.json, its first three messages. */
const EMBEDDED_IK: Vector = {
  protocol_name: 'Noise_IK_25519_AESGCM_BLAKE2s',
  init_prologue: '4a6f686e2047616c74',
  init_static: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
  init_ephemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
  init_remote_static: '31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62',
  resp_static: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
  resp_ephemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
  handshake_hash: 'af51ccef548b5277ae7120c78750de6ad146ead3565b67ae43551ca4dfa962a3',
  messages: [
    {
      payload: '4c756477696720766f6e204d69736573',
      ciphertext:
        'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944fc16af5edc066c93c77be147f8e6785cd6bd7b27e0f660d02a6a566ceb61b22af4d0dcc8560bce79b2a1fb55f68bc34017319936516ae9ce0862fe172c77a883f241700cb26d145dc8f8c9fe80a29008',
    },
    {
      payload: '4d757272617920526f746862617264',
      ciphertext:
        '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884319679a2f2fae0ee3700b9d1f532eb77fcf485567e810eaf95b2f9eeca858fe',
    },
    {
      payload: '462e20412e20486179656b',
      ciphertext: 'daf849a4f4bd8b0276f120b017b9dfdbc9ed667ee98316e95de1cc',
    },
  ],
}

const VECTORS_PATH = fileURLToPath(
  new URL('../../../shared/vectors/noise/cacophony.json', import.meta.url),
)

const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))

/** The session's pattern and suite, run against one vector: messages 1, 2 and the split. */
function runIkVector(v: Vector): void {
  const init = createHandshake({
    pattern: SESSION_PATTERN,
    suite: SESSION_SUITE,
    initiator: true,
    prologue: bytes(v.init_prologue),
    staticKeyPair: keyPairFromPrivateKey(bytes(v.init_static)),
    remoteStaticPublicKey: bytes(v.init_remote_static),
    ephemeral: bytes(v.init_ephemeral),
  })
  const resp = createHandshake({
    pattern: SESSION_PATTERN,
    suite: SESSION_SUITE,
    initiator: false,
    prologue: bytes(v.init_prologue),
    staticKeyPair: keyPairFromPrivateKey(bytes(v.resp_static)),
    ephemeral: bytes(v.resp_ephemeral),
  })
  const [m1, m2, m3] = v.messages
  assert.ok(m1 && m2 && m3)
  const c1 = init.writeMessage(bytes(m1.payload))
  assert.equal(hex(c1), m1.ciphertext)
  const p1 = resp.readMessage(c1)
  assert.equal(p1.ok && hex(p1.value), m1.payload)
  const c2 = resp.writeMessage(bytes(m2.payload))
  assert.equal(hex(c2), m2.ciphertext)
  assert.ok(init.readMessage(c2).ok)
  assert.equal(hex(init.handshakeHash), v.handshake_hash)
  assert.equal(hex(resp.handshakeHash), v.handshake_hash)
  assert.equal(
    hex(init.split().send.encryptWithAd(new Uint8Array(0), bytes(m3.payload))),
    m3.ciphertext,
  )
}

describe('session handshake: the Noise IK vectors of its suite', () => {
  it(`embedded Noise_${SESSION_PATTERN}_${SESSION_SUITE}`, () => {
    assert.equal(EMBEDDED_IK.protocol_name, `Noise_${SESSION_PATTERN}_${SESSION_SUITE}`)
    runIkVector(EMBEDDED_IK)
  })

  it('every vector of the pattern and suite in cacophony.json', {
    skip: !existsSync(VECTORS_PATH),
  }, () => {
    const all = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')).vectors as Vector[]
    const ours = all.filter((v) => v.protocol_name === `Noise_${SESSION_PATTERN}_${SESSION_SUITE}`)
    assert.ok(ours.length > 0)
    for (const v of ours) runIkVector(v)
  })
})

describe('session handshake: by name', () => {
  it('both ends agree on the session id, keys, names and handshake hash', () => {
    const { alice: a, bob: b } = handshake(alice, bob)
    assert.equal(hex(a.sessionId), hex(b.sessionId))
    assert.equal(hex(a.sendKey), hex(b.receiveKey))
    assert.equal(hex(a.receiveKey), hex(b.sendKey))
    assert.notEqual(hex(a.sendKey), hex(a.receiveKey))
    assert.equal(hex(a.handshakeHash), hex(b.handshakeHash))
    assert.deepEqual([a.localName, a.peerName, a.initiator], [alice.name, bob.name, true])
    assert.deepEqual([b.localName, b.peerName, b.initiator], [bob.name, alice.name, false])
  })

  it('the session id is the two partial ids in order, whoever drew the smaller', () => {
    for (const [mine, theirs] of [
      [0xbb, 0xaa],
      [0x11, 0x22],
    ] as const) {
      const pending = initiateSession({
        identity: alice,
        peerName: bob.name,
        randomBytes: fixedRandom(mine),
      })
      const accepted = acceptHello(bob, pending.hello, { randomBytes: fixedRandom(theirs) })
      assert.ok(accepted.ok)
      const keys = pending.readReply(accepted.value.reply)
      assert.ok(keys.ok)
      const [lo, hi] = mine < theirs ? [mine, theirs] : [theirs, mine]
      assert.equal(
        hex(keys.value.sessionId),
        `${lo.toString(16).repeat(8)}${hi.toString(16).repeat(8)}`,
      )
      assert.equal(hex(accepted.value.keys.sessionId), hex(keys.value.sessionId))
    }
  })

  it('a hello for another name is refused as wrong-peer, with no reply', () => {
    const pending = initiateSession({ identity: alice, peerName: bob.name })
    const r = acceptHello(carol, pending.hello)
    assert.equal(r.ok ? 'ok' : r.code, 'wrong-peer')
  })

  it('a hello made with the wrong responder key fails', () => {
    // Alice thinks Carol's key is Bob's: the hello is addressed to Bob, encrypted to Carol.
    const pending = initiateSession({ identity: alice, peerName: carol.name })
    const record = decodeRecord(pending.hello)
    assert.ok(record.ok)
    const readdressed = encodeRecord(
      { ...record.value.header, destination: bob.publicKey },
      record.value.body,
    )
    const r = acceptHello(bob, readdressed)
    assert.equal(r.ok ? 'ok' : r.code, 'bad-handshake')
  })

  it('a forged initiator name fails: rewritten header, or a consistent forgery', () => {
    const own = decodeRecord(initiateSession({ identity: mallory, peerName: bob.name }).hello)
    assert.ok(own.ok)
    const rewritten = encodeRecord({ ...own.value.header, source: alice.publicKey }, own.value.body)
    const r1 = acceptHello(bob, rewritten)
    assert.equal(r1.ok ? 'ok' : r1.code, 'bad-handshake')
    // Mallory builds the whole hello as Alice, but can only use her own static key.
    const hs = createHandshake({
      pattern: SESSION_PATTERN,
      suite: SESSION_SUITE,
      initiator: true,
      prologue: sessionPrologue(alice.publicKey, bob.publicKey),
      staticKeyPair: mallory.dh,
      remoteStaticPublicKey: bob.dh.publicKey,
    })
    const partial = new Uint8Array(8).fill(9)
    const header = {
      ...own.value.header,
      source: alice.publicKey,
      sessionId: Buffer.concat([partial, new Uint8Array(8)]),
    }
    const r2 = acceptHello(bob, encodeRecord(header, hs.writeMessage(partial)))
    assert.equal(r2.ok ? 'ok' : r2.code, 'name-mismatch')
  })

  it('a hello whose cleartext partial id differs from its payload fails', () => {
    const hello = Uint8Array.from(initiateSession({ identity: alice, peerName: bob.name }).hello)
    hello[7] = (hello[7] as number) ^ 1 // the first session id byte
    const r = acceptHello(bob, hello)
    assert.equal(r.ok ? 'ok' : r.code, 'bad-session-id')
  })

  it('every single-byte change or truncation of a hello is refused, never thrown', () => {
    const hello = initiateSession({ identity: alice, peerName: bob.name }).hello
    for (let i = 0; i < hello.length; i++) {
      const bad = Uint8Array.from(hello)
      bad[i] = (bad[i] as number) ^ 0x40
      assert.ok(!acceptHello(bob, bad).ok, `byte ${i}`)
      assert.ok(!acceptHello(bob, hello.subarray(0, i)).ok, `length ${i}`)
    }
  })

  it('the initiator refuses a tampered, misdirected, foreign or second reply', () => {
    const pending = initiateSession({ identity: alice, peerName: bob.name })
    const accepted = acceptHello(bob, pending.hello)
    assert.ok(accepted.ok)
    const reply = accepted.value.reply
    const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code)
    assert.equal(code(pending.readReply(pending.hello)), 'unexpected-type')
    assert.equal(code(pending.readReply(reply.subarray(1))), 'malformed')
    const other = initiateSession({ identity: alice, peerName: bob.name })
    const otherReply = acceptHello(bob, other.hello)
    assert.ok(otherReply.ok)
    assert.equal(code(pending.readReply(otherReply.value.reply)), 'wrong-state')
    const fromCarol = acceptHello(
      carol,
      initiateSession({ identity: alice, peerName: carol.name }).hello,
    )
    assert.ok(fromCarol.ok)
    assert.equal(code(pending.readReply(fromCarol.value.reply)), 'wrong-peer')
    assert.equal(code(pending.readReply(reply)), 'ok')
    assert.equal(code(pending.readReply(reply)), 'wrong-state')
  })

  it('a tampered reply body fails the handshake', () => {
    const pending = initiateSession({ identity: alice, peerName: bob.name })
    const accepted = acceptHello(bob, pending.hello)
    assert.ok(accepted.ok)
    const bad = Uint8Array.from(accepted.value.reply)
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
    const r = pending.readReply(bad)
    assert.equal(r.ok ? 'ok' : r.code, 'bad-handshake')
  })

  it('a bad peer name is local misuse: SessionError bad-config', () => {
    assert.throws(
      () => initiateSession({ identity: alice, peerName: 'nope' }),
      (e: unknown) => e instanceof SessionError && e.code === 'bad-config',
    )
  })
})
