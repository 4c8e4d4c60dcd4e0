import assert from 'node:assert/strict'
import { createCipheriv } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Rng } from '../../src/core/rng.ts'
import { SessionCrypto, type SessionCryptoKeys } from '../../src/session/session-crypto.ts'
import { SessionError } from '../../src/session/session-errors.ts'
import { initiateSession } from '../../src/session/session-handshake.ts'
import { FIXED_HEADER_BYTES, type SealedType } from '../../src/session/session-records.ts'
import { hex, identity, sessionPair, text } from './helpers.ts'

const SEALED: readonly SealedType[] = ['data', 'ack', 'rehello', 'rehello-reply', 'close', 'reset']
const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code)

/** Fixed keys for the golden vector (docs/wire-session.md). */
const GOLDEN_KEYS: SessionCryptoKeys = {
  sessionId: Uint8Array.from({ length: 16 }, (_, i) => i),
  localName: identity(1).name,
  peerName: identity(2).name,
  cipher: 'ChaChaPoly',
  sendKey: Uint8Array.from({ length: 32 }, (_, i) => i),
  receiveKey: Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i),
}
const GOLDEN_RECORD = [
  '01', // version
  '03', // type: data
  '00', // flags
  '00000000', // key epoch
  '000102030405060708090a0b0c0d0e0f', // session id
  '0000000000000001', // seq
  '01', // stream id (varint)
  '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c', // source: identity(1)
  '8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394', // destination: identity(2)
  '001c', // body length: 12 + 16
  'f7329f33da068f6b4cdbc12f', // ciphertext of 'hello, semos'
  '9fa002db2ee5f4c86787a526dbc34ce6', // tag
].join('')

describe('session crypto: records', () => {
  it('round-trips any record, both ways (fast-check)', () => {
    const { alice, bob } = sessionPair()
    fc.assert(
      fc.property(
        fc.constantFrom(...SEALED),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.boolean(),
        (type, streamId, flags, payload, fromAlice) => {
          const [from, to] = fromAlice ? [alice, bob] : [bob, alice]
          const seq = from.nextSeq
          const opened = to.open(from.seal(type, streamId, payload, 0, flags), 0)
          assert.ok(opened.ok, code(opened))
          assert.deepEqual(
            { ...opened.value, payload: hex(opened.value.payload) },
            { type, streamId, flags, seq, epoch: 0, payload: hex(payload) },
          )
        },
      ),
    )
    assert.equal(
      alice.counters.sealed + bob.counters.sealed,
      alice.counters.opened + bob.counters.opened,
    )
  })

  it('a tampered header byte, body byte or tag byte is rejected; bad-tag where only the AEAD can tell', () => {
    const { alice, bob } = sessionPair()
    const record = alice.seal('data', 5, text('some payload'), 0)
    const headerBytes = FIXED_HEADER_BYTES + 1
    for (let i = 0; i < record.length; i++) {
      const bad = Uint8Array.from(record)
      bad[i] = (bad[i] as number) ^ 0x01
      const r = bob.open(bad, 0)
      assert.ok(!r.ok, `byte ${i}`)
      // flags (2), seq (23..30), stream id (31), the body and the tag: only the tag catches them.
      const onlyTag = i === 2 || (i >= 23 && i <= 31) || i >= headerBytes
      if (onlyTag) assert.equal(r.code, 'bad-tag', `byte ${i}`)
    }
    const ack = Uint8Array.from(record)
    ack[1] = 4 // data → ack: still a sealed type
    assert.equal(code(bob.open(ack, 0)), 'bad-tag')
    assert.equal(code(bob.open(record, 0)), 'ok') // the forgeries did not move the window
  })

  it('replayed → replayed; reordered within the window → each accepted once', () => {
    const { alice, bob } = sessionPair()
    const records = Array.from({ length: 100 }, (_, i) => alice.seal('data', 1, text(`r${i}`), 0))
    for (const r of new Rng(7).shuffle([...records])) assert.equal(code(bob.open(r, 0)), 'ok')
    for (const r of records) assert.equal(code(bob.open(r, 0)), 'replayed')
    assert.equal(bob.counters.replayed, 100)
    assert.equal(bob.counters.opened, 100)
  })

  it('older than the window → too-old', () => {
    const { alice, bob } = sessionPair({ replayWindowBits: 64 })
    const records = Array.from({ length: 65 }, () => alice.seal('data', 1, text('x'), 0))
    assert.equal(code(bob.open(records[64] as Uint8Array, 0)), 'ok')
    assert.equal(code(bob.open(records[1] as Uint8Array, 0)), 'ok')
    assert.equal(code(bob.open(records[0] as Uint8Array, 0)), 'too-old')
  })

  it('truncated at every length → malformed', () => {
    const { alice, bob } = sessionPair()
    const record = alice.seal('data', 300, text('truncate me'), 0)
    for (let n = 0; n < record.length; n++) {
      assert.equal(code(bob.open(record.subarray(0, n), 0)), 'malformed', `length ${n}`)
    }
    assert.equal(bob.counters.malformed, record.length)
    assert.equal(code(bob.open(record, 0)), 'ok')
  })

  it('forged with other keys → bad-tag; another session → unknown-session; other names → wrong-peer', () => {
    const { alice, bob } = sessionPair()
    const keys = {
      sessionId: bob.sessionId,
      localName: identity(1).name,
      peerName: identity(2).name,
    }
    const forger = new SessionCrypto(
      {
        ...keys,
        cipher: 'ChaChaPoly',
        sendKey: new Uint8Array(32).fill(9),
        receiveKey: new Uint8Array(32),
      },
      0,
    )
    assert.equal(code(bob.open(forger.seal('data', 1, text('forged'), 0), 0)), 'bad-tag')
    const other = sessionPair()
    assert.equal(code(bob.open(other.alice.seal('data', 1, text('x'), 0), 0)), 'unknown-session')
    const carol = new SessionCrypto(
      {
        ...keys,
        localName: identity(3).name,
        cipher: 'ChaChaPoly',
        sendKey: new Uint8Array(32),
        receiveKey: new Uint8Array(32),
      },
      0,
    )
    assert.equal(code(bob.open(carol.seal('data', 1, text('x'), 0), 0)), 'wrong-peer')
    // Bob's own record sent back to him: source and destination swapped.
    assert.equal(code(bob.open(bob.seal('data', 1, text('x'), 0), 0)), 'wrong-peer')
    const hello = initiateSession({ identity: identity(1), peerName: identity(2).name }).hello
    assert.equal(code(bob.open(hello, 0)), 'unexpected-type')
    const c = bob.counters
    assert.deepEqual(
      [c['bad-tag'], c['unknown-session'], c['wrong-peer'], c['unexpected-type'], c.opened],
      [1, 1, 2, 1, 0],
    )
    assert.equal(code(bob.open(alice.seal('data', 1, text('fine'), 0), 0)), 'ok')
  })

  it('local misuse throws SessionError', () => {
    const { alice } = sessionPair()
    const isCode = (c: string) => (e: unknown) => e instanceof SessionError && e.code === c
    assert.throws(() => alice.seal('hello' as SealedType, 0, text('x'), 0), isCode('bad-record'))
    assert.throws(() => alice.seal('data', -1, text('x'), 0), isCode('bad-record'))
    assert.throws(() => alice.seal('data', 0, text('x'), 0, 256), isCode('bad-record'))
    assert.throws(() => alice.seal('data', 0, new Uint8Array(65_520), 0), isCode('bad-record'))
    assert.throws(
      () => new SessionCrypto({ ...GOLDEN_KEYS, sendKey: new Uint8Array(16) }, 0),
      isCode('bad-config'),
    )
    assert.throws(
      () => new SessionCrypto(GOLDEN_KEYS, 0, { replayWindowBits: 33 }),
      isCode('bad-config'),
    )
    assert.throws(
      () => new SessionCrypto(GOLDEN_KEYS, 0, { rekeyAfterMs: 0 }),
      isCode('bad-config'),
    )
  })
})

describe('session crypto: golden vector', () => {
  it('seals the second data record of fixed keys to known bytes', () => {
    const s = new SessionCrypto(GOLDEN_KEYS, 0)
    s.seal('data', 1, text('first'), 0)
    const record = s.seal('data', 1, text('hello, semos'), 0)
    assert.equal(hex(record), GOLDEN_RECORD)
  })

  it('opens at the other end, whose keys are the same two swapped', () => {
    const g = GOLDEN_KEYS
    const peer = new SessionCrypto(
      {
        ...g,
        localName: g.peerName,
        peerName: g.localName,
        sendKey: g.receiveKey,
        receiveKey: g.sendKey,
      },
      0,
    )
    const r = peer.open(Buffer.from(GOLDEN_RECORD, 'hex'), 0)
    assert.ok(r.ok)
    assert.deepEqual([r.value.type, r.value.seq, r.value.streamId], ['data', 1n, 1])
    assert.equal(Buffer.from(r.value.payload).toString(), 'hello, semos')
  })

  it('is ChaCha20-Poly1305(key, nonce = 0^4 ‖ LE64(seq), ad = header) by node:crypto directly', () => {
    const record = Buffer.from(GOLDEN_RECORD, 'hex')
    const header = record.subarray(0, record.length - 12 - 16)
    const nonce = Buffer.alloc(12)
    nonce.writeBigUInt64LE(1n, 4)
    const c = createCipheriv('chacha20-poly1305', GOLDEN_KEYS.sendKey, nonce, { authTagLength: 16 })
    c.setAAD(header, { plaintextLength: 12 })
    const body = Buffer.concat([c.update(text('hello, semos')), c.final(), c.getAuthTag()])
    assert.equal(hex(Buffer.concat([header, body])), GOLDEN_RECORD)
  })
})
