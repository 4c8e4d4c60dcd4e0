import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { encodeName } from '../../src/identity/name.ts'
import { Address } from '../../src/overlay/address.ts'
import { encodeAddress } from '../../src/overlay/address-codec.ts'
import { PROTO, type Undeliverable } from '../../src/overlay/node-types.ts'
import {
  type ControlError,
  decodeControlError,
  decodeEcho,
  decodeMergeHint,
  ECHO_KIND,
  type Echo,
  ERROR_ECHO_BYTES,
  encodeControlError,
  encodeEcho,
  encodeMergeHint,
} from '../../src/overlay/routed-payloads.ts'
import { arbAddress, arbMutated, PLAIN } from '../helpers/arbitraries.ts'

const NAME_1 = encodeName(new Uint8Array(32).fill(1))
const KEY_1 = '01'.repeat(32)
const ADDRESS = Address.fromSlots(4, [3, 2, 1]) // 04 03 e4

/** The error codes on the wire (docs/wire-overlay.md). */
const ERROR_CODES: [Undeliverable, number][] = [
  ['not-joined', 1],
  ['no-route', 2],
  ['hop-limit', 3],
  ['wrong-node', 4],
  ['timeout', 5],
  ['link-busy', 6],
]

const GOLDEN_ERRORS: [string, ControlError, string][] = [
  [
    'no-route for a dht payload',
    {
      reason: 'no-route',
      proto: PROTO.dht,
      dest: ADDRESS,
      payload: new TextEncoder().encode('ab'),
    },
    '02 02 0403e4 6162',
  ],
  [
    'hop-limit, nothing echoed',
    {
      reason: 'hop-limit',
      proto: PROTO.session,
      dest: Address.root(8),
      payload: new Uint8Array(0),
    },
    '03 03 0800',
  ],
]

const GOLDEN_ECHOES: [string, Echo, string][] = [
  ['request', { kind: 'request', id: 7, name: NAME_1 }, `01 07 ${KEY_1}`],
  ['reply', { kind: 'reply', id: 300, forwardHops: 5 }, '02 ac02 05'],
  ['wrong-node', { kind: 'wrong-node', id: 0, forwardHops: 255 }, '03 00 ff'],
]

const arbReason = fc.constantFrom(...ERROR_CODES.map(([r]) => r))
const arbControlError: fc.Arbitrary<ControlError> = fc.record(
  {
    reason: arbReason,
    proto: fc.nat(255),
    dest: arbAddress,
    payload: fc.uint8Array({ maxLength: ERROR_ECHO_BYTES }),
  },
  PLAIN,
)
const arbId = fc.oneof(fc.nat(300), fc.nat({ max: Number.MAX_SAFE_INTEGER }))
const arbEcho: fc.Arbitrary<Echo> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('request' as const),
      id: arbId,
      name: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(encodeName),
    },
    PLAIN,
  ),
  fc.record(
    {
      kind: fc.constantFrom('reply' as const, 'wrong-node' as const),
      id: arbId,
      forwardHops: fc.nat(255),
    },
    PLAIN,
  ),
)

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function unhex(spaced: string): Uint8Array {
  return Uint8Array.from(Buffer.from(spaced.replaceAll(' ', ''), 'hex'))
}

function codeOf(r: { ok: true } | { ok: false; code: string }): string {
  return r.ok ? 'ok' : r.code
}

function assertErrorRoundTrip(e: ControlError, bytes: Uint8Array): void {
  const decoded = decodeControlError(bytes)
  assert.ok(decoded.ok, decoded.ok ? '' : `${decoded.code}: ${decoded.detail}`)
  assert.deepEqual(decoded.value, e)
  assert.deepEqual(encodeControlError(decoded.value), bytes)
}

function assertEchoRoundTrip(e: Echo, bytes: Uint8Array): void {
  const decoded = decodeEcho(bytes)
  assert.ok(decoded.ok, decoded.ok ? '' : `${decoded.code}: ${decoded.detail}`)
  assert.deepEqual(decoded.value, e)
  assert.deepEqual(encodeEcho(decoded.value), bytes)
}

/** Random mutations (flip, insert, delete, cut) of valid payloads. */

describe('control errors', () => {
  for (const [what, e, expected] of GOLDEN_ERRORS) {
    it(`encodes ${what} as documented`, () => {
      assert.equal(hex(encodeControlError(e)), expected.replaceAll(' ', ''))
      assertErrorRoundTrip(e, unhex(expected))
    })
  }

  it('numbers the reasons as documented', () => {
    for (const [reason, code] of ERROR_CODES) {
      const e: ControlError = {
        reason,
        proto: 9,
        dest: Address.root(4),
        payload: new Uint8Array(0),
      }
      const bytes = encodeControlError(e)
      assert.equal(hex(bytes), `${code.toString(16).padStart(2, '0')}090400`, reason)
      assertErrorRoundTrip(e, bytes)
    }
  })

  it('round-trips any error', () => {
    fc.assert(
      fc.property(arbControlError, (e) => assertErrorRoundTrip(e, encodeControlError(e))),
      { seed: 1, numRuns: 500 },
    )
  })

  it(`echoes at most ${ERROR_ECHO_BYTES} bytes of the undelivered payload`, () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff)
    const e: ControlError = { reason: 'no-route', proto: PROTO.dht, dest: ADDRESS, payload }
    const bytes = encodeControlError(e)
    assert.equal(bytes.length, 2 + 3 + ERROR_ECHO_BYTES)
    assertErrorRoundTrip({ ...e, payload: payload.subarray(0, ERROR_ECHO_BYTES) }, bytes)
    // A sender that echoes more is refused.
    assert.equal(codeOf(decodeControlError(Uint8Array.of(...bytes, 0))), 'bad-field')
  })

  it('reports every truncation of the header as truncated; the echo may be short', () => {
    for (const [, e, expected] of GOLDEN_ERRORS) {
      const bytes = unhex(expected)
      const header = 2 + encodeAddress(e.dest).length
      for (let n = 0; n < bytes.length; n++) {
        const prefix = bytes.subarray(0, n)
        if (n < header) assert.equal(codeOf(decodeControlError(prefix)), 'truncated', `${n}`)
        else assertErrorRoundTrip({ ...e, payload: e.payload.subarray(0, n - header) }, prefix)
      }
    }
  })

  it('refuses unknown reasons and bad addresses', () => {
    const cases: [string, string, string][] = [
      ['reason 0', '00 02 0400', 'bad-field'],
      ['reason 7', '07 02 0400', 'bad-field'],
      ['reason 255', 'ff 02 0400', 'bad-field'],
      ['bad degree', '02 02 4100', 'bad-address'],
      ['bad slot', '02 02 0402f0', 'bad-address'],
      ['bad padding', '02 02 0401c1', 'bad-address'],
      ['too deep', '02 02 04ffff7f', 'bad-address'],
      ['non-minimal depth', '02 02 048000', 'truncated'],
    ]
    for (const [what, h, code] of cases) {
      assert.equal(codeOf(decodeControlError(unhex(h))), code, what)
    }
  })

  it('survives 5,000 random byte strings and mutations', () => {
    const valid = fc.oneof(
      fc.constantFrom(...GOLDEN_ERRORS.map(([, , h]) => unhex(h))),
      arbControlError.map(encodeControlError),
    )
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), arbMutated(valid)), (bytes) => {
        const r = decodeControlError(bytes)
        if (r.ok) assert.deepEqual(encodeControlError(r.value), bytes)
      }),
      { seed: 1, numRuns: 5000 },
    )
  })
})

describe('echo', () => {
  for (const [what, e, expected] of GOLDEN_ECHOES) {
    it(`encodes ${what} as documented`, () => {
      assert.equal(hex(encodeEcho(e)), expected.replaceAll(' ', ''))
      assertEchoRoundTrip(e, unhex(expected))
    })
  }

  it('numbers the kinds as documented', () => {
    assert.deepEqual(ECHO_KIND, { request: 1, reply: 2, wrongNode: 3 })
  })

  it('round-trips any echo', () => {
    fc.assert(
      fc.property(arbEcho, (e) => assertEchoRoundTrip(e, encodeEcho(e))),
      { seed: 1, numRuns: 500 },
    )
  })

  it('reports every truncation as truncated and refuses trailing bytes', () => {
    for (const [, , expected] of GOLDEN_ECHOES) {
      const bytes = unhex(expected)
      for (let n = 0; n < bytes.length; n++) {
        assert.equal(codeOf(decodeEcho(bytes.subarray(0, n))), 'truncated', `${expected} at ${n}`)
      }
      assert.equal(codeOf(decodeEcho(Uint8Array.of(...bytes, 0))), 'trailing-bytes')
    }
  })

  it('refuses unknown kinds and non-minimal ids', () => {
    assert.equal(codeOf(decodeEcho(unhex('00 07'))), 'bad-field')
    assert.equal(codeOf(decodeEcho(unhex('04 07 05'))), 'bad-field')
    assert.equal(codeOf(decodeEcho(unhex('02 8700 05'))), 'truncated')
  })

  it('throws on local misuse when encoding', () => {
    assert.throws(() => encodeEcho({ kind: 'request', id: 1, name: 'not a name' }), RangeError)
    assert.throws(() => encodeEcho({ kind: 'reply', id: -1, forwardHops: 0 }), RangeError)
  })

  it('survives 5,000 random byte strings and mutations', () => {
    const valid = fc.oneof(
      fc.constantFrom(...GOLDEN_ECHOES.map(([, , h]) => unhex(h))),
      arbEcho.map(encodeEcho),
    )
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), arbMutated(valid)), (bytes) => {
        const r = decodeEcho(bytes)
        if (r.ok) assert.deepEqual(encodeEcho(r.value), bytes)
      }),
      { seed: 1, numRuns: 5000 },
    )
  })
})

describe('merge hint', () => {
  const hint = { name: encodeName(new Uint8Array(32).fill(1)), endpoint: '127.0.0.1:7400' }

  it('is a contact: name key, endpoint length, endpoint', () => {
    const bytes = encodeMergeHint(hint)
    assert.equal(
      Buffer.from(bytes.subarray(32)).toString('hex'),
      `0e${Buffer.from('127.0.0.1:7400').toString('hex')}`,
    )
    assert.deepEqual(decodeMergeHint(bytes), { ok: true, value: hint })
  })

  it('refuses every truncation and trailing bytes, and never throws on mutations', () => {
    const bytes = encodeMergeHint(hint)
    for (let n = 0; n < bytes.length; n++)
      assert.equal(decodeMergeHint(bytes.subarray(0, n)).ok, false)
    assert.equal(decodeMergeHint(Uint8Array.of(...bytes, 0)).ok, false)
    fc.assert(
      fc.property(arbMutated(fc.constant(bytes)), (b) => {
        const r = decodeMergeHint(b)
        if (r.ok) assert.deepEqual(encodeMergeHint(r.value), b)
      }),
      { seed: 1, numRuns: 2000 },
    )
  })
})
