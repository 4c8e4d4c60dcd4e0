import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  DHT_TYPE,
  type DhtMessage,
  decodeDhtMessage,
  encodeDhtMessage,
  PUT_OUTCOME,
} from '../../src/dht/dht-messages.ts'
import {
  encodeNameRecord,
  type NameRecord,
  sameNameRecord,
  signNameRecord,
  verifyNameRecord,
} from '../../src/dht/name-record.ts'
import { identityFromSeed } from '../../src/identity/keys.ts'
import { Address } from '../../src/overlay/address.ts'
import { arbAddress, arbCount, arbMutated } from '../helpers/arbitraries.ts'

const alice = identityFromSeed(new Uint8Array(32).fill(7))
const ADDRESS = Address.fromSlots(4, [3, 2, 1])
const NOW = 1_700_000_000_000
const RECORD = signNameRecord(alice, ADDRESS, 5, NOW)
const FRESH = signNameRecord(alice, ADDRESS, 6, NOW + 600_000)

const KEY_HEX = 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c'
/** The name record of docs/wire-dht.md's example (test/dht/name-record.test.ts). */
const RECORD_HEX =
  KEY_HEX +
  '0403e4' + // address q4:/3.2.1
  '05' + // seq 5
  '80d095ffbc31' + // expiry 1_700_000_000_000 ms
  'b092fe737ddec2576646ceece19f80ef56754201a27d981182a5cf18b9581446' + // signature
  '78fe8a0a2371e95f75455083315a89392a0f667f5a47864892552da434cdd604'

const GOLDEN_GET_HEX =
  '03' + // type get
  '07' + // id 7
  '01' + // replica 1
  '02' + // steps 2
  '0403e4' + // origin q4:/3.2.1
  KEY_HEX // key: alice's public key
const GOLDEN_BACKUP_HEX =
  '05' + // type backup
  '00' + // id 0
  '02' + // replica 2
  RECORD_HEX

const EXAMPLES: readonly DhtMessage[] = [
  { type: 'put', id: 0, replica: 0, steps: 0, origin: ADDRESS, record: FRESH },
  { type: 'put', id: 300, replica: 15, steps: 64, origin: Address.root(8), record: RECORD },
  { type: 'put-ack', id: 1, outcome: 'stored' },
  { type: 'put-ack', id: Number.MAX_SAFE_INTEGER, outcome: 'full' },
  { type: 'get', id: 7, replica: 1, steps: 2, origin: ADDRESS, key: alice.publicKey },
  { type: 'get-reply', id: 7, record: FRESH, pending: false },
  { type: 'get-reply', id: 8, record: undefined, pending: false },
  { type: 'get-reply', id: 9, record: undefined, pending: true },
  { type: 'backup', id: 0, replica: 2, record: RECORD },
]

const arbU8 = fc.integer({ min: 0, max: 255 })

const arbRecord: fc.Arbitrary<NameRecord> = fc
  .tuple(arbAddress, arbCount, arbCount)
  .map(([address, seq, expiry]) => signNameRecord(alice, address, seq, expiry))

const arbMessage: fc.Arbitrary<DhtMessage> = fc.oneof(
  fc.record({
    type: fc.constant('put' as const),
    id: arbCount,
    replica: arbU8,
    steps: arbU8,
    origin: arbAddress,
    record: arbRecord,
  }),
  fc.record({
    type: fc.constant('put-ack' as const),
    id: arbCount,
    outcome: fc.constantFrom(...PUT_OUTCOME),
  }),
  fc.record({
    type: fc.constant('get' as const),
    id: arbCount,
    replica: arbU8,
    steps: arbU8,
    origin: arbAddress,
    key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({
    type: fc.constant('get-reply' as const),
    id: arbCount,
    record: arbRecord,
    pending: fc.constant(false),
  }),
  fc.record({
    type: fc.constant('get-reply' as const),
    id: arbCount,
    record: fc.constant(undefined),
    pending: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('backup' as const),
    id: arbCount,
    replica: arbU8,
    record: arbRecord,
  }),
)

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function unhex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'))
}

function codeOf<C extends string>(r: { ok: true } | { ok: false; code: C }): C | 'ok' {
  return r.ok ? 'ok' : r.code
}

/** A message with its addresses, keys and records as strings, for deepEqual. */
function plain(m: DhtMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m }
  if ('origin' in m) out.origin = m.origin.toString()
  if ('key' in m) out.key = hex(m.key)
  if ('record' in m && m.record !== undefined) out.record = hex(encodeNameRecord(m.record))
  return out
}

function roundTrip(m: DhtMessage): void {
  const bytes = encodeDhtMessage(m)
  const decoded = decodeDhtMessage(bytes)
  assert.ok(decoded.ok, `${m.type}: ${decoded.ok ? '' : decoded.detail}`)
  assert.deepEqual(plain(decoded.value), plain(m))
  assert.deepEqual(encodeDhtMessage(decoded.value), bytes)
  if ('record' in m && m.record !== undefined) {
    const got = decoded.value as { record: NameRecord }
    assert.ok(sameNameRecord(got.record, m.record))
  }
}

describe('DHT message codec', () => {
  it('round-trips an example of every type', () => {
    const types = new Set<string>()
    for (const m of EXAMPLES) {
      roundTrip(m)
      types.add(m.type)
      assert.equal(encodeDhtMessage(m)[0], DHT_TYPE[typeKey(m.type)])
    }
    assert.equal(types.size, Object.keys(DHT_TYPE).length)
  })

  it('round-trips any message', () => {
    fc.assert(fc.property(arbMessage, roundTrip), { seed: 1, numRuns: 300 })
  })

  it('has stable golden encodings', () => {
    const get = encodeDhtMessage(EXAMPLES[4] as DhtMessage)
    assert.equal(hex(get), GOLDEN_GET_HEX)
    assert.equal(get.length, 39)
    const backup = encodeDhtMessage({ type: 'backup', id: 0, replica: 2, record: RECORD })
    assert.equal(hex(backup), GOLDEN_BACKUP_HEX)
    assert.equal(backup.length, 109)
    const decoded = decodeDhtMessage(unhex(GOLDEN_BACKUP_HEX))
    assert.ok(decoded.ok && decoded.value.type === 'backup')
    assert.ok(sameNameRecord(decoded.value.record, RECORD))
    // The short ones of the document's table.
    assert.equal(hex(encodeDhtMessage({ type: 'put-ack', id: 300, outcome: 'full' })), '02ac0207')
    assert.equal(
      hex(encodeDhtMessage({ type: 'get-reply', id: 5, record: undefined, pending: false })),
      '040500',
    )
    assert.equal(
      hex(encodeDhtMessage({ type: 'get-reply', id: 5, record: undefined, pending: true })),
      '040502',
    )
    assert.equal(
      hex(encodeDhtMessage({ type: 'get-reply', id: 5, record: RECORD, pending: false })),
      `040501${RECORD_HEX}`,
    )
    assert.equal(
      hex(
        encodeDhtMessage({
          type: 'put',
          id: 0,
          replica: 0,
          steps: 0,
          origin: ADDRESS,
          record: RECORD,
        }),
      ),
      `010000000403e4${RECORD_HEX}`,
    )
  })

  it('numbers put-ack outcomes in the order of PUT_OUTCOME', () => {
    PUT_OUTCOME.forEach((outcome, i) => {
      assert.deepEqual(
        encodeDhtMessage({ type: 'put-ack', id: 0, outcome }),
        Uint8Array.of(2, 0, i),
      )
    })
  })

  it('copies keys and records out of the frame they arrived in', () => {
    const bytes = unhex(`${GOLDEN_GET_HEX}`)
    const get = decodeDhtMessage(bytes)
    const reply = encodeDhtMessage({ type: 'get-reply', id: 1, record: FRESH, pending: false })
    const decodedReply = decodeDhtMessage(reply)
    bytes.fill(0)
    reply.fill(0)
    assert.ok(get.ok && get.value.type === 'get')
    assert.equal(hex(get.value.key), KEY_HEX)
    assert.ok(decodedReply.ok && decodedReply.value.type === 'get-reply')
    assert.ok(decodedReply.value.record !== undefined)
    assert.ok(verifyNameRecord(decodedReply.value.record, NOW).ok)
  })

  it('refuses to encode a key that is not 32 bytes', () => {
    const get = EXAMPLES[4] as Extract<DhtMessage, { type: 'get' }>
    assert.throws(() => encodeDhtMessage({ ...get, key: new Uint8Array(31) }), RangeError)
    assert.throws(() => encodeDhtMessage({ ...get, key: new Uint8Array(33) }), RangeError)
  })
})

describe('DHT message decoder on malformed input', () => {
  it('reports truncation at every length', () => {
    for (const m of EXAMPLES) {
      const bytes = encodeDhtMessage(m)
      assert.equal(codeOf(decodeDhtMessage(bytes.subarray(0, 0))), 'empty')
      for (let n = 1; n < bytes.length; n++) {
        const r = decodeDhtMessage(bytes.subarray(0, n))
        assert.equal(codeOf(r), 'truncated', `${m.type} cut at ${n}`)
      }
    }
  })

  it('reports trailing bytes after every type', () => {
    for (const m of EXAMPLES) {
      const bytes = encodeDhtMessage(m)
      for (const extra of [[0], [1, 2, 3]]) {
        const longer = Uint8Array.of(...bytes, ...extra)
        assert.equal(codeOf(decodeDhtMessage(longer)), 'trailing-bytes', m.type)
      }
    }
  })

  it('rejects unknown types', () => {
    for (const type of [0, 6, 7, 128, 255]) {
      assert.equal(codeOf(decodeDhtMessage(Uint8Array.of(type, 0, 0))), 'unknown-type', `${type}`)
    }
  })

  it('rejects a request id that is not a minimal varint', () => {
    assert.equal(codeOf(decodeDhtMessage(unhex('04800000'))), 'truncated') // non-minimal
    assert.equal(codeOf(decodeDhtMessage(unhex('04ffffffffffffffff00'))), 'truncated') // overlong
  })

  it('rejects bad flags and outcomes', () => {
    const cases: [string, string, string][] = [
      ['get-reply flag 3', '040503', 'bad-field'],
      ['get-reply flag 255', '0405ff', 'bad-field'],
      ['get-reply flag 3, record after', `040503${RECORD_HEX}`, 'bad-field'],
      ['get-reply pending, record after', `040502${RECORD_HEX}`, 'trailing-bytes'],
      ['get-reply not found, record after', `040500${RECORD_HEX}`, 'trailing-bytes'],
      ['put-ack outcome 8', '020508', 'bad-field'],
      ['put-ack outcome 255', '0205ff', 'bad-field'],
      ['put-ack outcome 7', '020507', 'ok'],
    ]
    for (const [what, h, code] of cases) {
      assert.equal(codeOf(decodeDhtMessage(unhex(h))), code, what)
    }
  })

  it('rejects a bad origin address', () => {
    const origins: [string, string][] = [
      ['bad degree', '0200'],
      ['degree 65', '4100'],
      ['bad slot', '0402f0'],
      ['bad padding', '0401c1'],
      ['too deep', '04ffff7f'],
    ]
    for (const [what, origin] of origins) {
      const get = decodeDhtMessage(unhex(`03070102${origin}${KEY_HEX}`))
      assert.equal(codeOf(get), 'bad-field', `get: ${what}`)
      assert.ok(!get.ok && get.detail.startsWith('origin'))
      const put = decodeDhtMessage(unhex(`01000000${origin}${RECORD_HEX}`))
      assert.equal(codeOf(put), 'bad-field', `put: ${what}`)
    }
  })

  it('rejects a bad embedded record', () => {
    const sig = RECORD_HEX.slice(-128)
    const records: [string, string, string][] = [
      ['bad address', `${KEY_HEX}020005${'01'}${sig}`, 'bad-field'],
      ['bad slot', `${KEY_HEX}0402f00501${sig}`, 'bad-field'],
      ['non-minimal seq', `${KEY_HEX}0403e485000501${sig}`, 'truncated'],
      ['short signature', RECORD_HEX.slice(0, -2), 'truncated'],
    ]
    for (const [what, record, code] of records) {
      const prefixes = ['01000000' + '0403e4', '040001', '050002']
      for (const prefix of prefixes) {
        const r = decodeDhtMessage(unhex(prefix + record))
        assert.equal(codeOf(r), code, `${prefix}: ${what}`)
        assert.ok(r.ok || r.detail.startsWith('record'), `${prefix}: ${what}: ${r.ok || r.detail}`)
      }
    }
  })

  it('never throws on random or mutated bytes, and what decodes has one encoding', () => {
    const valid = EXAMPLES.map(encodeDhtMessage)
    const mutated = arbMutated(fc.constantFrom(...valid))
    const arbTyped = fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 200 }))
      .map(([type, rest]) => Uint8Array.of(type, ...rest))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), arbTyped, mutated), (bytes) => {
        const r = decodeDhtMessage(bytes)
        if (r.ok) {
          assert.deepEqual(encodeDhtMessage(r.value), bytes)
          if ('record' in r.value && r.value.record !== undefined) {
            verifyNameRecord(r.value.record, NOW) // must not throw either
          }
        } else {
          assert.ok(
            ['empty', 'unknown-type', 'truncated', 'bad-field', 'trailing-bytes'].includes(r.code),
          )
        }
      }),
      { seed: 1, numRuns: 5000 },
    )
  })
})

function typeKey(type: DhtMessage['type']): keyof typeof DHT_TYPE {
  const keys: Record<DhtMessage['type'], keyof typeof DHT_TYPE> = {
    put: 'put',
    'put-ack': 'putAck',
    get: 'get',
    'get-reply': 'getReply',
    backup: 'backup',
  }
  return keys[type]
}
