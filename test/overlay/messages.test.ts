import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { encodeName } from '../../src/identity/name.ts'
import { Address } from '../../src/overlay/address.ts'
import { encodeAddress } from '../../src/overlay/address-codec.ts'
import {
  type Contact,
  decodeMessage,
  encodeMessage,
  MAX_CONTACTS,
  MAX_ENDPOINT_BYTES,
  MAX_TABLES,
  MESSAGE_TYPE,
  NO_FREE_SLOT,
  type OverlayMessage,
  peekRoutedProto,
  REFUSE_REASON,
  type RefuseReason,
  ROUTED_FLAG,
  ROUTED_HOPS_OFFSET,
  type RoutedMessage,
  type SlotContact,
  sameTree,
  type TreeId,
} from '../../src/overlay/messages.ts'
import { PROTO } from '../../src/overlay/node-types.ts'
import { arbAddress, arbAddressOf, arbCount, arbMutated, PLAIN } from '../helpers/arbitraries.ts'

const NAME_1 = encodeName(new Uint8Array(32).fill(1))
const NAME_2 = encodeName(new Uint8Array(32).fill(2))
const NAME_3 = encodeName(new Uint8Array(32).fill(3))
const KEY_1 = '01'.repeat(32)
const ADDRESS = Address.fromSlots(4, [3, 2, 1]) // 04 03 e4
const TREE: TreeId = { root: NAME_1, epoch: 2 }
const ENDPOINT = '127.0.0.1:7000'
const ENDPOINT_HEX = Buffer.from(ENDPOINT).toString('hex')

// ---- golden vectors (also in docs/wire-overlay.md) ----

const GOLDEN: [string, OverlayMessage, string][] = [
  [
    'hello',
    { type: 'hello', endpoint: ENDPOINT, address: ADDRESS, tree: TREE },
    `01 0e ${ENDPOINT_HEX} 01 0403e4 01 ${KEY_1} 02`,
  ],
  [
    'hello, not placed',
    { type: 'hello', endpoint: ENDPOINT, address: undefined, tree: undefined },
    `01 0e ${ENDPOINT_HEX} 00 00`,
  ],
  [
    'join-request',
    { type: 'join-request', rejoin: true, climb: 2, avoid: ADDRESS },
    '02 01 02 01 0403e4',
  ],
  ['report', { type: 'report', size: 300, minFree: 2 }, '07 ac02 02'],
  [
    'routed',
    {
      type: 'routed',
      flags: ROUTED_FLAG.anycast,
      hops: 3,
      maxHops: 64,
      proto: PROTO.dht,
      dest: ADDRESS,
      src: Address.fromSlots(4, [1]),
      payload: new TextEncoder().encode('hi'),
    },
    '08 01 03 40 02 0403e4 0401 40 6869',
  ],
  ['join-refuse', { type: 'join-refuse', reason: 'full' }, '05 03'],
  ['leave', { type: 'leave' }, '09'],
  ['detach', { type: 'detach' }, '0a'],
]

// ---- one hand-written example of every type ----

const EXAMPLES: OverlayMessage[] = [
  { type: 'hello', endpoint: ENDPOINT, address: ADDRESS, tree: TREE },
  { type: 'hello', endpoint: '', address: undefined, tree: undefined },
  { type: 'hello', endpoint: '[::1]:9', address: Address.root(8), tree: undefined },
  { type: 'join-request', rejoin: false, climb: 0, avoid: undefined },
  { type: 'join-request', rejoin: true, climb: 255, avoid: ADDRESS },
  { type: 'join-accept', address: ADDRESS.child(2), tree: { root: NAME_2, epoch: 1_000_000 } },
  {
    type: 'join-redirect',
    climb: 1,
    contacts: [
      { name: NAME_1, endpoint: 'a.example:1' },
      { name: NAME_2, endpoint: 'b.example:2' },
    ],
  },
  { type: 'join-redirect', climb: 0, contacts: [] },
  { type: 'join-refuse', reason: 'busy' },
  { type: 'join-refuse', reason: 'inSubtree' },
  { type: 'join-refuse', reason: 'full' },
  { type: 'join-refuse', reason: 'shutdown' },
  {
    type: 'place',
    address: ADDRESS,
    tree: TREE,
    ancestors: [NAME_1, NAME_2, NAME_3],
    tables: [[5, 0, 1, 300], [2, 1, 0], [1]],
    grandparent: { name: NAME_2, endpoint: 'gp:1' },
    siblings: [
      { slot: 0, name: NAME_3, endpoint: 's0:1' },
      { slot: 2, name: NAME_1, endpoint: 's2:1' },
    ],
  },
  {
    type: 'place',
    address: Address.root(3).child(0),
    tree: TREE,
    ancestors: [NAME_1],
    tables: [[]],
    grandparent: undefined,
    siblings: [],
  },
  { type: 'report', size: 1, minFree: 0 },
  { type: 'report', size: Number.MAX_SAFE_INTEGER, minFree: NO_FREE_SLOT },
  {
    type: 'routed',
    flags: 0,
    hops: 0,
    maxHops: 64,
    proto: PROTO.session,
    dest: Address.root(4),
    src: ADDRESS,
    payload: Uint8Array.of(1, 2, 3),
  },
  {
    type: 'routed',
    flags: ROUTED_FLAG.anycast,
    hops: 254,
    maxHops: 255,
    proto: PROTO.control,
    dest: ADDRESS,
    src: ADDRESS,
    payload: new Uint8Array(0),
  },
  { type: 'leave' },
  { type: 'detach' },
]

// ---- arbitraries ----

const arbName = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(encodeName)
const arbEndpoint = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: MAX_ENDPOINT_BYTES }),
  fc.constantFrom('', 'x'.repeat(MAX_ENDPOINT_BYTES), 'é'.repeat(127), '[2001:db8::1]:443'),
)
const arbTree: fc.Arbitrary<TreeId> = fc.record({ root: arbName, epoch: arbCount }, PLAIN)
const arbContact: fc.Arbitrary<Contact> = fc.record({ name: arbName, endpoint: arbEndpoint }, PLAIN)
const arbSlotContact: fc.Arbitrary<SlotContact> = fc.record(
  {
    slot: fc.nat(255),
    name: arbName,
    endpoint: arbEndpoint,
  },
  PLAIN,
)
const arbU8 = fc.nat(255)

const arbRouted: fc.Arbitrary<RoutedMessage> = fc.integer({ min: 3, max: 64 }).chain((q) =>
  fc.record(
    {
      type: fc.constant('routed' as const),
      flags: arbU8,
      hops: arbU8,
      maxHops: arbU8,
      proto: arbU8,
      dest: arbAddressOf(q),
      src: arbAddressOf(q),
      payload: fc.uint8Array({ maxLength: 300 }),
    },
    PLAIN,
  ),
)

const arbMessage: fc.Arbitrary<OverlayMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello' as const),
      endpoint: arbEndpoint,
      address: fc.option(arbAddress, { nil: undefined }),
      tree: fc.option(arbTree, { nil: undefined }),
    },
    PLAIN,
  ),
  fc.record(
    {
      type: fc.constant('join-request' as const),
      rejoin: fc.boolean(),
      climb: arbU8,
      avoid: fc.option(arbAddress, { nil: undefined }),
    },
    PLAIN,
  ),
  fc.record(
    { type: fc.constant('join-accept' as const), address: arbAddress, tree: arbTree },
    PLAIN,
  ),
  fc.record(
    {
      type: fc.constant('join-redirect' as const),
      climb: arbU8,
      contacts: fc.array(arbContact, { maxLength: 6 }),
    },
    PLAIN,
  ),
  fc.record(
    {
      type: fc.constant('join-refuse' as const),
      reason: fc.constantFrom(...(Object.keys(REFUSE_REASON) as RefuseReason[])),
    },
    PLAIN,
  ),
  fc.record(
    {
      type: fc.constant('place' as const),
      address: arbAddress,
      tree: arbTree,
      ancestors: fc.array(arbName, { maxLength: 8 }),
      tables: fc.array(fc.array(arbCount, { maxLength: 64 }), { maxLength: 8 }),
      grandparent: fc.option(arbContact, { nil: undefined }),
      siblings: fc.array(arbSlotContact, { maxLength: 6 }),
    },
    PLAIN,
  ),
  fc.record(
    {
      type: fc.constant('report' as const),
      size: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      minFree: fc.nat(NO_FREE_SLOT),
    },
    PLAIN,
  ),
  arbRouted,
  fc.constant({ type: 'leave' as const }),
  fc.constant({ type: 'detach' as const }),
)

// ---- helpers ----

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function unhex(spaced: string): Uint8Array {
  return Uint8Array.from(Buffer.from(spaced.replaceAll(' ', ''), 'hex'))
}

function codeOf(bytes: Uint8Array): string {
  const r = decodeMessage(bytes)
  return r.ok ? 'ok' : r.code
}

/** Decodes `bytes` and checks the message and its re-encoding. */
function assertRoundTrip(m: OverlayMessage, bytes: Uint8Array): void {
  const decoded = decodeMessage(bytes)
  assert.ok(decoded.ok, decoded.ok ? '' : `${decoded.code}: ${decoded.detail}`)
  assert.deepEqual(decoded.value, m)
  assert.deepEqual(encodeMessage(decoded.value), bytes)
}

/** Bytes of `m` with its header (everything up to and including the `routed` addresses). */
function routedHeaderLength(m: RoutedMessage): number {
  return 5 + encodeAddress(m.dest).length + encodeAddress(m.src).length
}

// ---- tests ----

describe('overlay messages: round trips', () => {
  it('round-trips a hand-written example of every type', () => {
    const types = new Set<string>()
    for (const m of EXAMPLES) {
      const bytes = encodeMessage(m)
      const key = m.type.replace(/-(\w)/, (_, c: string) => c.toUpperCase())
      assert.equal(bytes[0], MESSAGE_TYPE[key as keyof typeof MESSAGE_TYPE], m.type)
      assertRoundTrip(m, bytes)
      types.add(m.type)
    }
    assert.equal(types.size, Object.keys(MESSAGE_TYPE).length)
  })

  it('round-trips any message', () => {
    fc.assert(
      fc.property(arbMessage, (m) => assertRoundTrip(m, encodeMessage(m))),
      { seed: 1, numRuns: 1000 },
    )
  })

  it('carries the limits exactly', () => {
    const contacts = Array.from({ length: MAX_CONTACTS }, (_, i) => ({
      name: encodeName(new Uint8Array(32).fill(i)),
      endpoint: 'x'.repeat(MAX_ENDPOINT_BYTES),
    }))
    const redirect: OverlayMessage = { type: 'join-redirect', climb: 0, contacts }
    assertRoundTrip(redirect, encodeMessage(redirect))
    const place: OverlayMessage = {
      type: 'place',
      address: ADDRESS,
      tree: TREE,
      ancestors: new Array(MAX_TABLES).fill(NAME_1),
      tables: new Array(MAX_TABLES).fill(new Array(64).fill(1)),
      grandparent: undefined,
      siblings: contacts.map((c, slot) => ({ slot, ...c })),
    }
    assertRoundTrip(place, encodeMessage(place))
  })

  it('reads names case-insensitively and writes them in canonical form', () => {
    const m: OverlayMessage = { type: 'join-accept', address: ADDRESS, tree: TREE }
    const upper = encodeMessage({ ...m, tree: { root: NAME_1.toUpperCase(), epoch: 2 } })
    assert.deepEqual(upper, encodeMessage(m))
  })

  it('compares tree ids', () => {
    assert.ok(sameTree(TREE, { root: NAME_1, epoch: 2 }))
    assert.ok(!sameTree(TREE, { root: NAME_1, epoch: 3 }))
    assert.ok(!sameTree(TREE, { root: NAME_2, epoch: 2 }))
    assert.ok(!sameTree(TREE, undefined))
    assert.ok(!sameTree(undefined, undefined))
  })
})

describe('overlay messages: golden vectors', () => {
  for (const [what, m, expected] of GOLDEN) {
    it(`encodes ${what} as documented`, () => {
      const bytes = encodeMessage(m)
      assert.equal(hex(bytes), expected.replaceAll(' ', ''))
      assertRoundTrip(m, unhex(expected))
    })
  }
})

describe('overlay messages: the routed hops byte', () => {
  const routed = GOLDEN.find(([what]) => what === 'routed')?.[1] as RoutedMessage

  it('sits at ROUTED_HOPS_OFFSET, so a relay can patch it in place', () => {
    const bytes = encodeMessage(routed)
    assert.equal(bytes[ROUTED_HOPS_OFFSET], routed.hops)
    bytes[ROUTED_HOPS_OFFSET] = routed.hops + 1
    const decoded = decodeMessage(bytes)
    assert.ok(decoded.ok)
    assert.deepEqual(decoded.value, { ...routed, hops: routed.hops + 1 })
  })

  it('is there for any routed message', () => {
    fc.assert(
      fc.property(arbRouted, arbU8, (m, hops) => {
        const bytes = encodeMessage(m)
        assert.equal(bytes[ROUTED_HOPS_OFFSET], m.hops)
        bytes[ROUTED_HOPS_OFFSET] = hops
        assertRoundTrip({ ...m, hops }, bytes)
      }),
      { seed: 1, numRuns: 300 },
    )
  })
})

describe('overlay messages: the routed proto, read in place', () => {
  it('is the proto of any routed message, and undefined for every other message', () => {
    fc.assert(
      fc.property(arbRouted, (m) => assert.equal(peekRoutedProto(encodeMessage(m)), m.proto)),
      { seed: 1, numRuns: 300 },
    )
    for (const [what, m] of GOLDEN) {
      const expected = m.type === 'routed' ? m.proto : undefined
      assert.equal(peekRoutedProto(encodeMessage(m)), expected, what)
    }
    assert.equal(peekRoutedProto(new Uint8Array(0)), undefined)
  })
})

describe('overlay messages: rejected input', () => {
  it('reports every truncation of every example as truncated, never a throw', () => {
    for (const m of EXAMPLES) {
      const bytes = encodeMessage(m)
      assert.equal(codeOf(bytes.subarray(0, 0)), 'empty')
      for (let n = 1; n < bytes.length; n++) {
        const prefix = bytes.subarray(0, n)
        if (m.type === 'routed' && n >= routedHeaderLength(m)) {
          // The payload is the rest of the record: a shorter one is still a message.
          assertRoundTrip({ ...m, payload: bytes.subarray(routedHeaderLength(m), n) }, prefix)
        } else {
          assert.equal(codeOf(prefix), 'truncated', `${m.type} cut at ${n} of ${bytes.length}`)
        }
      }
    }
  })

  it('refuses trailing bytes, except in routed whose payload is the rest', () => {
    for (const m of EXAMPLES) {
      const bytes = Uint8Array.of(...encodeMessage(m), 0)
      if (m.type === 'routed') {
        assertRoundTrip({ ...m, payload: Uint8Array.of(...m.payload, 0) }, bytes)
      } else {
        assert.equal(codeOf(bytes), 'trailing-bytes', m.type)
      }
    }
  })

  it('refuses unknown types', () => {
    for (const type of [0, 11, 0x7f, 0xff]) {
      assert.equal(codeOf(Uint8Array.of(type)), 'unknown-type', `${type}`)
      assert.equal(codeOf(Uint8Array.of(type, 0, 0, 0)), 'unknown-type', `${type}`)
    }
  })

  it('refuses bad flags and out-of-range fields', () => {
    const cases: [string, string, string][] = [
      ['hello: address flag 2', `01 00 02 0400 00`, 'bad-field'],
      ['hello: tree flag 2', `01 00 00 02 ${KEY_1} 02`, 'bad-field'],
      ['join-request: rejoin 2', '02 02 00 00', 'bad-field'],
      ['join-request: avoid flag 2', '02 00 00 02 0400', 'bad-field'],
      ['join-refuse: reason 0', '05 00', 'bad-field'],
      ['join-refuse: reason 5', '05 05', 'bad-field'],
      ['place: grandparent flag 2', `06 0400 ${KEY_1} 00 00 00 02`, 'bad-field'],
      ['report: size 0', '07 00 00', 'bad-field'],
      ['report: minFree above 0xffff', '07 01 808004', 'bad-field'],
      ['report: non-minimal varint', '07 8100 00', 'truncated'],
      ['join-accept: bad degree', `03 02 00 ${KEY_1} 00`, 'bad-address'],
      ['join-accept: bad slot', `03 0402f0 ${KEY_1} 00`, 'bad-address'],
      ['join-accept: bad padding', `03 0401c1 ${KEY_1} 00`, 'bad-address'],
      ['join-accept: too deep', `03 04ffff7f ${KEY_1} 00`, 'bad-address'],
      ['routed: bad dest', '08 00 00 40 00 4100 0400', 'bad-address'],
      ['routed: bad src', '08 00 00 40 00 0400 040150', 'bad-address'],
    ]
    for (const [what, h, code] of cases) assert.equal(codeOf(unhex(h)), code, what)
  })

  it('refuses counts above the limits', () => {
    const place = (rest: string): string => `06 0400 ${KEY_1} 00 ${rest}`
    const cases: [string, string][] = [
      ['join-redirect: 65 contacts', '04 00 41'],
      ['place: 4097 ancestors', place('8120')],
      ['place: 4097 tables', place('00 8120')],
      ['place: a table of 65 sizes', place('00 01 41')],
      ['place: 65 siblings', place('00 00 00 41')],
    ]
    for (const [what, h] of cases) assert.equal(codeOf(unhex(h)), 'bad-field', what)
    // The limits themselves pass the count check (then the message is merely short).
    assert.equal(codeOf(unhex('04 00 40')), 'truncated')
    assert.equal(codeOf(unhex(place('8020'))), 'truncated')
    assert.equal(codeOf(unhex(place('00 00 00 40'))), 'truncated')
    // The encoder does not check these: 65 contacts encode, and are refused when decoded.
    const contacts = new Array(MAX_CONTACTS + 1).fill({ name: NAME_1, endpoint: '' })
    assert.equal(codeOf(encodeMessage({ type: 'join-redirect', climb: 0, contacts })), 'bad-field')
  })

  it('refuses a count larger than what is left as truncated', () => {
    assert.equal(codeOf(unhex(`04 00 02 ${KEY_1} 00`)), 'truncated')
  })

  it('refuses an endpoint that is not UTF-8, including a lone truncated sequence', () => {
    const hello = (bytes: string): Uint8Array => {
      const b = unhex(bytes)
      return Uint8Array.from([1, b.length, ...b, 0, 0])
    }
    for (const bad of ['ff', 'c0af', 'eda080', 'f09f98', '61f09f98', 'e282', 'f4908080']) {
      assert.equal(codeOf(hello(bad)), 'bad-field', bad)
    }
    // U+FFFD itself is well-formed.
    for (const good of ['efbfbd', 'f09f9880', 'c3a9']) assert.equal(codeOf(hello(good)), 'ok')
  })

  it('refuses a routed message whose dest and src degrees differ', () => {
    const m: RoutedMessage = {
      type: 'routed',
      flags: 0,
      hops: 0,
      maxHops: 64,
      proto: PROTO.dht,
      dest: Address.fromSlots(4, [1]),
      src: Address.fromSlots(5, [1]),
      payload: new Uint8Array(0),
    }
    assert.equal(codeOf(encodeMessage(m)), 'bad-address')
    assert.equal(codeOf(unhex('08 00 00 40 02 0401 40 0501 20')), 'bad-address')
  })

  it('throws on local misuse when encoding', () => {
    const hello = (endpoint: string): OverlayMessage => ({
      type: 'hello',
      endpoint,
      address: undefined,
      tree: undefined,
    })
    assert.equal(encodeMessage(hello('x'.repeat(MAX_ENDPOINT_BYTES))).length, 4 + 255)
    assert.throws(() => encodeMessage(hello('x'.repeat(MAX_ENDPOINT_BYTES + 1))), RangeError)
    assert.throws(() => encodeMessage(hello('é'.repeat(128))), RangeError) // 256 bytes
    assert.throws(
      () => encodeMessage({ type: 'join-accept', address: ADDRESS, tree: { root: 'x', epoch: 0 } }),
      RangeError,
    )
    assert.throws(
      () => encodeMessage({ type: 'report', size: -1, minFree: 0 }),
      RangeError, // varints are non-negative safe integers
    )
    assert.throws(
      () => encodeMessage({ type: 'join-accept', address: ADDRESS, tree: { ...TREE, epoch: 0.5 } }),
      RangeError,
    )
  })

  it('survives 5,000 random byte strings', () => {
    const arbBytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // A valid type first, so that every reader sees garbage.
      fc
        .tuple(fc.integer({ min: 0, max: 11 }), fc.uint8Array({ maxLength: 200 }))
        .map(([t, rest]) => Uint8Array.from([t, ...rest])),
    )
    fc.assert(
      fc.property(arbBytes, (bytes) => {
        const r = decodeMessage(bytes)
        // One encoding per message: whatever decodes re-encodes to the same bytes.
        if (r.ok) assert.deepEqual(encodeMessage(r.value), bytes)
        else assert.equal(typeof r.code, 'string')
      }),
      { seed: 1, numRuns: 5000 },
    )
  })

  it('survives random mutations of valid messages', () => {
    const mutated = arbMutated(
      fc.oneof(fc.constantFrom(...EXAMPLES), arbMessage).map(encodeMessage),
    )
    fc.assert(
      fc.property(mutated, (bytes) => {
        const r = decodeMessage(bytes)
        if (r.ok) assert.deepEqual(encodeMessage(r.value), bytes)
      }),
      { seed: 1, numRuns: 5000 },
    )
  })

  it('decodes a routed payload as a view of the input', () => {
    const bytes = encodeMessage(EXAMPLES.find((m) => m.type === 'routed') as RoutedMessage)
    const r = decodeMessage(bytes)
    assert.ok(r.ok && r.value.type === 'routed')
    assert.equal(r.value.payload.buffer, bytes.buffer)
  })
})
