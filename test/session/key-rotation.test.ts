import assert from 'node:assert/strict'
import { createSecretKey } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CIPHERS } from '../../src/core/noise/cipher.ts'
import { CipherState } from '../../src/core/noise/index.ts'
import { Rng } from '../../src/core/rng.ts'
import {
  DEFAULT_PREVIOUS_KEY_GRACE_MS,
  MAX_EPOCH_SKIP,
  ReceiveCipher,
  rekey,
  resolveRecordOptions,
} from '../../src/session/record-cipher.ts'
import { hex, sessionPair, text } from './helpers.ts'

const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code)

describe('key rotation', () => {
  it('REKEY is Noise Rekey(): the same key as core CipherState.rekey()', () => {
    for (const cipher of ['ChaChaPoly', 'AESGCM'] as const) {
      const raw = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
      const cs = new CipherState(CIPHERS[cipher], raw)
      cs.rekey()
      cs.setNonce(5n)
      const ad = text('ad')
      const expected = cs.encryptWithAd(ad, text('payload'))
      const next = rekey(cipher, createSecretKey(raw))
      assert.equal(hex(CIPHERS[cipher].encrypt(next, 5n, ad, text('payload'))), hex(expected))
    }
  })

  it('rotates after rekeyAfterRecords without losing a record', () => {
    const { alice, bob } = sessionPair({ rekeyAfterRecords: 10 })
    for (let i = 0; i < 35; i++) {
      const r = bob.open(alice.seal('data', 1, text(`r${i}`), 0), 0)
      assert.ok(r.ok)
      assert.equal(r.value.epoch, Math.floor(i / 10))
      assert.equal(r.value.seq, BigInt(i)) // seqs run on across epochs
    }
    assert.deepEqual(alice.epochs, { send: 3, receive: 0 })
    assert.deepEqual(bob.epochs, { send: 0, receive: 3 })
  })

  it('rotates after rekeyAfterBytes and after rekeyAfterMs', () => {
    const bytes = sessionPair({ rekeyAfterBytes: 1000 })
    for (let i = 0; i < 5; i++) bytes.alice.seal('data', 1, new Uint8Array(400), 0)
    assert.equal(bytes.alice.epochs.send, 1) // 3 records reach 1000 bytes: the 4th rotates
    const timed = sessionPair({ rekeyAfterMs: 1000 }, 5000)
    timed.alice.seal('data', 1, text('a'), 5999)
    assert.equal(timed.alice.epochs.send, 0)
    const r = timed.bob.open(timed.alice.seal('data', 1, text('b'), 6000), 6000)
    assert.equal(r.ok && r.value.epoch, 1)
  })

  it('records across a rotation open in any order within the grace', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const { alice, bob } = sessionPair({ rekeyAfterRecords: 8 })
        const records = Array.from({ length: 16 }, (_, i) => alice.seal('data', 1, text(`${i}`), 0))
        for (const r of new Rng(seed).shuffle([...records]))
          assert.equal(code(bob.open(r, 10)), 'ok')
        for (const r of records) assert.equal(code(bob.open(r, 10)), 'replayed')
      }),
      { numRuns: 30 },
    )
  })

  it('after the grace, or two epochs on, the old epoch is stale-epoch', () => {
    const { alice, bob } = sessionPair({ rekeyAfterRecords: 2, previousKeyGraceMs: 1000 })
    const e0 = [alice.seal('data', 1, text('a'), 0), alice.seal('data', 1, text('b'), 0)]
    const e1 = alice.seal('data', 1, text('c'), 0)
    assert.equal(code(bob.open(e1, 100)), 'ok')
    assert.equal(bob.nextDeadlineMs(), 1100)
    assert.equal(code(bob.open(e0[0] as Uint8Array, 1099)), 'ok')
    assert.equal(code(bob.open(e0[1] as Uint8Array, 1100)), 'stale-epoch')
    assert.equal(bob.nextDeadlineMs(), undefined)
    alice.seal('data', 1, text('d'), 0)
    const e2 = alice.seal('data', 1, text('e'), 0)
    assert.equal(code(bob.open(e2, 1200)), 'ok')
    assert.equal(bob.epochs.receive, 2)
    assert.equal(code(bob.open(e1, 1200)), 'replayed') // epoch 1 is the previous one now
    assert.equal(code(bob.open(e0[0] as Uint8Array, 1200)), 'stale-epoch')
    assert.equal(bob.counters['stale-epoch'], 2)
  })

  it('follows a sender whose records of whole epochs were lost, up to MAX_EPOCH_SKIP', () => {
    const { alice, bob } = sessionPair({ rekeyAfterRecords: 1 })
    let last: Uint8Array = new Uint8Array(0)
    for (let i = 0; i <= MAX_EPOCH_SKIP; i++) last = alice.seal('data', 1, text(`${i}`), 0)
    assert.equal(code(bob.open(last, 0)), 'ok')
    assert.equal(bob.epochs.receive, MAX_EPOCH_SKIP)
    for (let i = 0; i <= MAX_EPOCH_SKIP; i++) last = alice.seal('data', 1, text(`${i}`), 0)
    assert.equal(code(bob.open(last, 0)), 'future-epoch') // MAX_EPOCH_SKIP + 1 ahead
    assert.equal(bob.epochs.receive, MAX_EPOCH_SKIP)
  })

  it('a forged record of a newer epoch does not move the receiver', () => {
    const { alice, bob } = sessionPair({ rekeyAfterRecords: 1 })
    alice.seal('data', 1, text('lost'), 0)
    const e1 = Uint8Array.from(alice.seal('data', 1, text('x'), 0))
    e1[e1.length - 1] = (e1[e1.length - 1] as number) ^ 1
    assert.equal(code(bob.open(e1, 0)), 'bad-tag')
    assert.equal(bob.epochs.receive, 0)
  })

  it('ReceiveCipher keeps one previous key, dropped by tick at the deadline', () => {
    const policy = resolveRecordOptions({})
    const rx = new ReceiveCipher('ChaChaPoly', new Uint8Array(32), policy)
    assert.equal(rx.hasPreviousKey, false)
    const k1 = rekey('ChaChaPoly', createSecretKey(new Uint8Array(32)))
    const sealed = CIPHERS.ChaChaPoly.encrypt(k1, 3n, text('ad'), text('x'))
    assert.equal(code(rx.open(1, 3n, text('ad'), sealed, 50)), 'ok')
    assert.equal(rx.hasPreviousKey, true)
    rx.tick(50 + DEFAULT_PREVIOUS_KEY_GRACE_MS - 1)
    assert.equal(rx.hasPreviousKey, true)
    rx.tick(50 + DEFAULT_PREVIOUS_KEY_GRACE_MS)
    assert.equal(rx.hasPreviousKey, false)
  })
})
