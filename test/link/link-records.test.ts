import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { generateIdentity } from '../../src/identity/keys.ts'
import {
  authMessage,
  closeCodeName,
  decodeRecord,
  encodeRecord,
  type LinkRecord,
} from '../../src/link/link-records.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replaceAll(' ', ''), 'hex'))

describe('link records', () => {
  it('encodes the golden vectors', () => {
    assert.equal(hex(encodeRecord({ type: 'data', payload: unhex('abcd') })), '02abcd')
    assert.equal(hex(encodeRecord({ type: 'data', payload: new Uint8Array(0) })), '02')
    assert.equal(hex(encodeRecord({ type: 'keepalive' })), '03')
    assert.equal(hex(encodeRecord({ type: 'close', code: 1 })), '0401')
    const name = 'a'.repeat(52)
    const auth = encodeRecord({ type: 'auth', name, signature: new Uint8Array(64).fill(0xee) })
    assert.equal(hex(auth), `01${'61'.repeat(52)}${'ee'.repeat(64)}`)
  })

  it('round-trips every record', () => {
    const id = generateIdentity()
    const records: LinkRecord[] = [
      { type: 'auth', name: id.name, signature: id.sign(authMessage(new Uint8Array(32))) },
      { type: 'keepalive' },
      { type: 'close', code: 0 },
      { type: 'close', code: 255 },
    ]
    for (const r of records) assert.deepEqual(decodeRecord(encodeRecord(r)), { ok: true, value: r })
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (payload) => {
        const r = decodeRecord(encodeRecord({ type: 'data', payload }))
        assert.deepEqual(r, { ok: true, value: { type: 'data', payload } })
      }),
    )
  })

  it('canonicalises an upper-case name in auth', () => {
    const id = generateIdentity()
    const bytes = encodeRecord({ type: 'auth', name: id.name, signature: new Uint8Array(64) })
    bytes.set(new TextEncoder().encode(id.name.toUpperCase()), 1)
    const r = decodeRecord(bytes)
    assert.ok(r.ok && r.value.type === 'auth' && r.value.name === id.name)
  })

  it('rejects malformed records with a code', () => {
    const name = '61'.repeat(52)
    const cases: [string, string][] = [
      ['', 'empty-record'],
      ['00', 'unknown-type'],
      ['05', 'unknown-type'],
      ['ff01', 'unknown-type'],
      ['0300', 'bad-length'],
      ['04', 'bad-length'],
      ['040102', 'bad-length'],
      [`01${name}${'00'.repeat(63)}`, 'bad-length'],
      [`01${name}${'00'.repeat(65)}`, 'bad-length'],
      [`01${'31'.repeat(52)}${'00'.repeat(64)}`, 'bad-name'],
      [`01${'ff'.repeat(52)}${'00'.repeat(64)}`, 'bad-name'],
    ]
    for (const [bytes, code] of cases) {
      const r = decodeRecord(unhex(bytes))
      assert.equal(r.ok ? 'ok' : r.code, code, bytes)
    }
  })

  it('names close codes, known or not', () => {
    assert.equal(closeCodeName(1), 'shutdown (1)')
    assert.equal(closeCodeName(200), 'code 200')
  })
})
