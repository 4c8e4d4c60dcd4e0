import assert from 'node:assert/strict'
import { isIPv6 } from 'node:net'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CodedError } from '../../src/core/coded-error.ts'
import {
  encodeReply,
  ipv6Bytes,
  ipv6Text,
  MAX_REQUEST_BYTES,
  REPLY_ADDRESS_TYPE_NOT_SUPPORTED,
  REPLY_COMMAND_NOT_SUPPORTED,
  REPLY_CONNECTION_REFUSED,
  REPLY_GENERAL_FAILURE,
  REPLY_HOST_UNREACHABLE,
  REPLY_NETWORK_UNREACHABLE,
  REPLY_NOT_ALLOWED,
  REPLY_SUCCEEDED,
  REPLY_TTL_EXPIRED,
  type Socks5Event,
  Socks5Handshake,
  type Socks5Result,
  type Socks5Target,
  semosNameFromHost,
} from '../../src/forward/socks5.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

/** What a driver sees when it pushes `chunks` in order and stops at the connect. */
interface Outcome {
  readonly events: { type: string; methods?: readonly number[]; target?: Socks5Target }[]
  readonly replies: string
  /** Application bytes: the connect's `rest`, then every chunk not pushed after it. */
  readonly app: string
  readonly failure?: { code: string; reply: number | undefined; send: string }
}

function drive(chunks: Uint8Array[], handshake = new Socks5Handshake()): Outcome {
  const events: Outcome['events'] = []
  let replies = ''
  for (let i = 0; i < chunks.length; i++) {
    const r: Socks5Result = handshake.push(chunks[i] as Uint8Array)
    assert.ok(handshake.buffered <= MAX_REQUEST_BYTES)
    if (!r.ok) {
      const failure = { code: r.code, reply: r.reply, send: toHex(r.send) }
      return { events, replies, app: '', failure }
    }
    for (const e of r.value as Socks5Event[]) {
      if (e.type === 'greeting') {
        events.push({ type: e.type, methods: e.methods })
        replies += toHex(e.reply)
      } else {
        events.push({ type: e.type, target: e.target })
        return { events, replies, app: toHex(concat([e.rest, ...chunks.slice(i + 1)])) }
      }
    }
  }
  return { events, replies, app: '' }
}

const GREETING = '05 01 00'
const CONNECT_DOMAIN = '05 01 00 03 0d 6578616d706c652e73656d6f73 0050' // example.semos:80
const CONNECT_IPV4 = '05 01 00 01 c0000201 01bb' // 192.0.2.1:443
const CONNECT_IPV6 = '05 01 00 04 20010db8000000000000000000000001 1f90' // [2001:db8::1]:8080

describe('socks5: golden vectors', () => {
  it('answers a no-authentication greeting with 05 00', () => {
    const h = new Socks5Handshake()
    const r = h.push(hex(GREETING))
    assert.ok(r.ok)
    assert.deepEqual(r.value.length, 1)
    const e = r.value[0] as Socks5Event & { type: 'greeting' }
    assert.deepEqual([e.type, e.methods, toHex(e.reply)], ['greeting', [0], '0500'])
    assert.equal(h.stage, 'request')
  })

  it('picks 0x00 among other methods', () => {
    const out = drive([hex('05 03 02 00 01')])
    assert.deepEqual(out.events, [{ type: 'greeting', methods: [2, 0, 1] }])
    assert.equal(out.replies, '0500')
  })

  const targets: [string, string, Socks5Target][] = [
    ['domain', CONNECT_DOMAIN, { host: 'example.semos', port: 80, addressType: 'domain' }],
    ['IPv4', CONNECT_IPV4, { host: '192.0.2.1', port: 443, addressType: 'ipv4' }],
    ['IPv6', CONNECT_IPV6, { host: '2001:db8::1', port: 8080, addressType: 'ipv6' }],
  ]
  for (const [what, request, target] of targets) {
    it(`parses a CONNECT to an ${what} address`, () => {
      const h = new Socks5Handshake()
      const out = drive([hex(GREETING), hex(request)], h)
      assert.deepEqual(out.events, [
        { type: 'greeting', methods: [0] },
        { type: 'connect', target },
      ])
      assert.equal(out.app, '')
      assert.equal(h.stage, 'done')
      assert.equal(h.buffered, 0)
    })
  }

  it('encodes replies', () => {
    assert.equal(toHex(encodeReply(REPLY_SUCCEEDED)), '05000001000000000000')
    assert.equal(
      toHex(encodeReply(REPLY_SUCCEEDED, { host: '192.0.2.1', port: 1080 })),
      '050000' + '01c0000201' + '0438',
    )
    assert.equal(
      toHex(encodeReply(REPLY_CONNECTION_REFUSED, { host: '2001:db8::1', port: 80 })),
      '050500' + '04' + '20010db8000000000000000000000001' + '0050',
    )
    assert.equal(
      toHex(encodeReply(REPLY_HOST_UNREACHABLE, { host: 'laptop.semos', port: 22 })),
      `050400030c${Buffer.from('laptop.semos').toString('hex')}0016`,
    )
    assert.throws(() => encodeReply(9 as 0), RangeError)
    assert.throws(() => encodeReply(0, { host: '1.2.3.4', port: 65536 }), RangeError)
    assert.throws(() => encodeReply(0, { host: '', port: 1 }), RangeError)
    assert.throws(() => encodeReply(0, { host: 'a'.repeat(256), port: 1 }), RangeError)
  })

  it('numbers the reply codes as RFC 1928 §6 does', () => {
    assert.deepEqual(
      [
        REPLY_SUCCEEDED,
        REPLY_GENERAL_FAILURE,
        REPLY_NOT_ALLOWED,
        REPLY_NETWORK_UNREACHABLE,
        REPLY_HOST_UNREACHABLE,
        REPLY_CONNECTION_REFUSED,
        REPLY_TTL_EXPIRED,
        REPLY_COMMAND_NOT_SUPPORTED,
        REPLY_ADDRESS_TYPE_NOT_SUPPORTED,
      ],
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    )
  })
})

describe('socks5: any split of the stream', () => {
  const stream = hex(`${GREETING} ${CONNECT_DOMAIN} 16030100ff`) // then a TLS record's start
  const whole = drive([stream])

  it('keeps the bytes that follow the request for the application', () => {
    assert.equal(whole.app, '16030100ff')
    assert.equal(whole.replies, '0500')
    assert.equal(whole.events.length, 2)
  })

  it('gives the same outcome for every one and two cuts', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]
        assert.deepEqual(drive(chunks), whole, `cuts at ${a}, ${b}`)
      }
    }
  })

  it('gives the same outcome byte by byte', () => {
    assert.deepEqual(drive(Array.from(stream, (b) => Uint8Array.of(b))), whole)
  })

  const arbTarget: fc.Arbitrary<[Uint8Array, Socks5Target]> = fc.oneof(
    fc
      .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(65535))
      .map(([a, port]): [Uint8Array, Socks5Target] => [
        concat([hex('01'), a, Uint8Array.of(port >> 8, port & 0xff)]),
        { host: a.join('.'), port, addressType: 'ipv4' as const },
      ]),
    fc
      .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(65535))
      .map(([a, port]): [Uint8Array, Socks5Target] => [
        concat([hex('04'), a, Uint8Array.of(port >> 8, port & 0xff)]),
        { host: ipv6Text(a), port, addressType: 'ipv6' as const },
      ]),
    fc
      .tuple(fc.stringMatching(/^[!-~]{1,255}$/), fc.nat(65535))
      .map(([name, port]): [Uint8Array, Socks5Target] => [
        concat([
          Uint8Array.of(3, name.length),
          Buffer.from(name, 'latin1'),
          Uint8Array.of(port >> 8, port & 0xff),
        ]),
        { host: name, port, addressType: 'domain' as const },
      ]),
  )

  it('parses any target in any chunks, and keeps what follows', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(255), { minLength: 1, maxLength: 255 }).map((m) => [0, ...m]),
        arbTarget,
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (offered, [address, target], app, cuts) => {
          const methods = [...new Set(offered)]
          const stream = concat([
            Uint8Array.of(5, methods.length, ...methods),
            hex('050100'),
            address,
            app,
          ])
          const chunks: Uint8Array[] = []
          for (let pos = 0, i = 0; pos < stream.length; i++) {
            const n = cuts[i % cuts.length] as number
            chunks.push(stream.subarray(pos, pos + n))
            pos += n
          }
          const out = drive(chunks)
          assert.deepEqual(out.events, [
            { type: 'greeting', methods },
            { type: 'connect', target },
          ])
          assert.equal(out.replies, '0500')
          assert.equal(out.app, toHex(app))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('socks5: bad input', () => {
  const none = undefined
  const FAIL_REPLY = (code: number) => toHex(encodeReply(code as 0))
  const cases: [string, string, string, number | undefined, string][] = [
    ['SOCKS4 greeting', '04 01 0050 c0000201 00', 'bad-version', none, ''],
    ['no methods', '05 00', 'no-acceptable-method', none, '05ff'],
    ['only username/password', '05 01 02', 'no-acceptable-method', none, '05ff'],
    ['only GSSAPI and 0xff', '05 02 01 ff', 'no-acceptable-method', none, '05ff'],
    [
      'request of version 4',
      `${GREETING} 04 01 00 01 c0000201 0050`,
      'bad-version',
      REPLY_GENERAL_FAILURE,
      `0500${FAIL_REPLY(1)}`,
    ],
    [
      'BIND',
      `${GREETING} 05 02 00 01 c0000201 0050`,
      'command-not-supported',
      REPLY_COMMAND_NOT_SUPPORTED,
      `0500${FAIL_REPLY(7)}`,
    ],
    [
      'UDP ASSOCIATE',
      `${GREETING} 05 03 00 01 00000000 0000`,
      'command-not-supported',
      REPLY_COMMAND_NOT_SUPPORTED,
      `0500${FAIL_REPLY(7)}`,
    ],
    [
      'unknown command',
      `${GREETING} 05 09 00 01 00000000 0000`,
      'command-not-supported',
      REPLY_COMMAND_NOT_SUPPORTED,
      `0500${FAIL_REPLY(7)}`,
    ],
    [
      'unknown address type',
      `${GREETING} 05 01 00 02 c0000201 0050`,
      'address-type-not-supported',
      REPLY_ADDRESS_TYPE_NOT_SUPPORTED,
      `0500${FAIL_REPLY(8)}`,
    ],
    [
      'zero-length domain',
      `${GREETING} 05 01 00 03 00 0050`,
      'bad-domain',
      REPLY_GENERAL_FAILURE,
      `0500${FAIL_REPLY(1)}`,
    ],
    [
      'domain with a space',
      `${GREETING} 05 01 00 03 03 612062 0050`,
      'bad-domain',
      REPLY_GENERAL_FAILURE,
      `0500${FAIL_REPLY(1)}`,
    ],
    [
      'domain with a NUL',
      `${GREETING} 05 01 00 03 02 6100 0050`,
      'bad-domain',
      REPLY_GENERAL_FAILURE,
      `0500${FAIL_REPLY(1)}`,
    ],
  ]
  for (const [what, input, code, reply, send] of cases) {
    it(`${what} → ${code}, reply ${reply ?? 'none'}`, () => {
      const out = drive([hex(input)])
      assert.deepEqual(out.failure, { code, reply, send })
      // Split byte by byte, the method selection was already handed out with the greeting.
      const h = new Socks5Handshake()
      const slow = drive(
        Array.from(hex(input), (b) => Uint8Array.of(b)),
        h,
      )
      assert.equal(slow.failure?.code, code)
      assert.equal(slow.replies + slow.failure?.send, send)
      assert.equal(h.stage, 'failed')
      const again = h.push(hex(GREETING))
      assert.ok(!again.ok && again.code === code, 'a failed handshake stays failed')
    })
  }

  it('refuses a greeting with more methods than allowed, on its second byte', () => {
    const h = new Socks5Handshake({ maxMethods: 4 })
    assert.deepEqual(h.push(hex('05')), { ok: true, value: [] })
    const r = h.push(hex('05'))
    assert.ok(!r.ok && r.code === 'greeting-too-large' && r.reply === undefined)
    assert.equal(toHex(r.send), '05ff')
    assert.ok(new Socks5Handshake({ maxMethods: 4 }).push(hex('05 04 01 02 03 00')).ok)
    assert.throws(() => new Socks5Handshake({ maxMethods: 0 }), RangeError)
    assert.throws(() => new Socks5Handshake({ maxMethods: 256 }), RangeError)
  })

  it('decides on the offending byte, without waiting for more', () => {
    const atByte: [string, number][] = [
      ['04', 1],
      [`${GREETING} 04`, 4],
      [`${GREETING} 05 02`, 5],
      [`${GREETING} 05 01 00 05`, 7],
      [`${GREETING} 05 01 00 03 00`, 8],
    ]
    for (const [input, n] of atByte) {
      const bytes = hex(input)
      assert.equal(bytes.length, n)
      const h = new Socks5Handshake()
      for (let i = 0; i < n - 1; i++) assert.ok(h.push(bytes.subarray(i, i + 1)).ok, input)
      assert.ok(!h.push(bytes.subarray(n - 1)).ok, input)
    }
  })

  it('never throws nor buffers more than a request on any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 8 }),
        (chunks) => {
          const h = new Socks5Handshake()
          for (const chunk of chunks) {
            if (h.stage === 'done') break
            const r = h.push(chunk)
            assert.ok(h.buffered <= MAX_REQUEST_BYTES)
            if (!r.ok) {
              assert.ok(r.reply === undefined || (r.reply >= 1 && r.reply <= 8))
              assert.equal(h.stage, 'failed')
            }
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('hands the stream over after the connect: pushing more is misuse', () => {
    const h = new Socks5Handshake()
    assert.ok(h.push(hex(`${GREETING} ${CONNECT_IPV4}`)).ok)
    assert.throws(
      () => h.push(hex('00')),
      (e: unknown) => e instanceof CodedError && e.code === 'handshake-done',
    )
  })
})

describe('socks5: IPv6 text', () => {
  it('writes RFC 5952 text', () => {
    const cases: [string, string][] = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ]
    for (const [bytes, text] of cases) {
      assert.equal(ipv6Text(hex(bytes)), text)
      assert.equal(toHex(ipv6Bytes(text)), bytes)
    }
    assert.equal(toHex(ipv6Bytes('fe80::1%eth0')), 'fe800000000000000000000000000001')
  })

  it('round-trips any 16 bytes, as WHATWG URLs write them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = ipv6Text(bytes)
        assert.ok(isIPv6(text))
        assert.deepEqual(ipv6Bytes(text), bytes)
        if (!text.startsWith('::ffff:'))
          assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        assert.equal(ipv6Text(ipv6Bytes(text)), ipv6Text(ipv6Bytes(ipv6Text(ipv6Bytes(text)))))
      }),
    )
  })
})

describe('socks5: semos names', () => {
  const name = 'abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst'
  const cases: [string, string | undefined][] = [
    [`${name}.semos`, name],
    ['laptop.semos', 'laptop'],
    ['Laptop.SEMOS', 'Laptop'],
    ['laptop.semos.', 'laptop'],
    ['semos', undefined],
    ['.semos', undefined],
    ['www.laptop.semos', undefined],
    ['laptop.semosx', undefined],
    ['laptopsemos', undefined],
    ['example.com', undefined],
    ['192.0.2.1', undefined],
    ['', undefined],
  ]
  for (const [host, want] of cases) {
    it(`${JSON.stringify(host)} → ${want}`, () => assert.equal(semosNameFromHost(host), want))
  }

  it('takes other suffixes', () => {
    assert.equal(semosNameFromHost('db.mesh.internal', ['semos', 'mesh.internal']), 'db')
    assert.equal(semosNameFromHost('db.semos', ['.mesh.']), undefined)
    assert.equal(semosNameFromHost('db.MESH', ['.mesh.']), 'db')
    assert.equal(semosNameFromHost('db.semos', []), undefined)
  })
})
