import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { generateIdentity, identityFromSeed, verifyByName } from '../../src/identity/keys.ts'
import { canonicalName, decodeName, encodeName, NAME_LENGTH } from '../../src/identity/name.ts'
import { x25519PublicFromEd25519 } from '../../src/identity/x25519.ts'

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')

function x25519Public(privateKey: Uint8Array): Uint8Array {
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8, privateKey]),
    format: 'der',
    type: 'pkcs8',
  })
  return new Uint8Array(
    createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI.length),
  )
}

function dh(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  return diffieHellman({
    privateKey: createPrivateKey({
      key: Buffer.concat([X25519_PKCS8, privateKey]),
      format: 'der',
      type: 'pkcs8',
    }),
    publicKey: createPublicKey({
      key: Buffer.concat([X25519_SPKI, publicKey]),
      format: 'der',
      type: 'spki',
    }),
  })
}

describe('names', () => {
  it('round-trip any 32-byte key, case-insensitively', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const name = encodeName(key)
        assert.equal(name.length, NAME_LENGTH)
        assert.match(name, /^[a-z2-7]+$/)
        const back = decodeName(name.toUpperCase())
        assert.ok(back.ok)
        assert.deepEqual(back.value, key)
      }),
    )
  })

  it('has a golden encoding', () => {
    // RFC 4648 base32 of 32 zero bytes, then of 0x00..0x1f, lowercase, unpadded.
    assert.equal(encodeName(new Uint8Array(32)), 'a'.repeat(52))
    assert.equal(
      encodeName(Uint8Array.from({ length: 32 }, (_, i) => i)),
      'aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq',
    )
  })

  it('rejects what is not a name, with a reason', () => {
    const good = encodeName(new Uint8Array(32).fill(7))
    const cases: [string, string][] = [
      ['', 'bad-length'],
      [good.slice(1), 'bad-length'],
      [`${good}a`, 'bad-length'],
      [`${good.slice(0, 10)}1${good.slice(11)}`, 'bad-character'],
      [`${good.slice(0, 10)}-${good.slice(11)}`, 'bad-character'],
      [`${good.slice(0, 51)}b`, 'bad-padding'],
    ]
    for (const [name, code] of cases) {
      const r = decodeName(name)
      assert.equal(r.ok, false, name)
      if (!r.ok) assert.equal(r.code, code, name)
    }
    assert.equal(canonicalName(good.toUpperCase()), good)
    assert.equal(canonicalName('laptop'), undefined)
  })
})

describe('identity', () => {
  it('signs, and the signature verifies from the name alone', () => {
    const id = generateIdentity()
    const msg = new TextEncoder().encode('name record')
    const sig = id.sign(msg)
    assert.ok(verifyByName(id.name, msg, sig))
    assert.ok(verifyByName(id.name.toUpperCase(), msg, sig))
    assert.ok(!verifyByName(id.name, new TextEncoder().encode('other record'), sig))
    assert.ok(!verifyByName(generateIdentity().name, msg, sig))
    const bad = Uint8Array.from(sig)
    bad[5] = (bad[5] as number) ^ 1
    assert.ok(!verifyByName(id.name, msg, bad))
    assert.ok(!verifyByName('not-a-name', msg, sig))
    assert.ok(!verifyByName(id.name, msg, sig.subarray(0, 63)))
  })

  it('is reproducible from its seed', () => {
    const a = generateIdentity()
    const b = identityFromSeed(a.exportSeed())
    assert.equal(b.name, a.name)
    assert.deepEqual(b.dh, a.dh)
    assert.throws(() => identityFromSeed(new Uint8Array(31)), RangeError)
  })

  it('derives the Noise static key that the name predicts', () => {
    for (let i = 0; i < 20; i++) {
      const id = generateIdentity()
      // What node:crypto computes from the derived private key...
      assert.deepEqual(x25519Public(id.dh.privateKey), id.dh.publicKey)
      // ...is what anyone computes from the name alone.
      const key = decodeName(id.name)
      assert.ok(key.ok)
      assert.deepEqual(x25519PublicFromEd25519(key.value), id.dh.publicKey)
      // Again, from the cache: the same key, and a copy the caller may change.
      const again = x25519PublicFromEd25519(key.value)
      assert.deepEqual(again, id.dh.publicKey)
      again.fill(0)
      assert.deepEqual(x25519PublicFromEd25519(key.value), id.dh.publicKey)
    }
  })

  it('agrees on a shared secret between two identities', () => {
    const a = generateIdentity()
    const b = generateIdentity()
    assert.deepEqual(dh(a.dh.privateKey, b.dh.publicKey), dh(b.dh.privateKey, a.dh.publicKey))
  })
})
