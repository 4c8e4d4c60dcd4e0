import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  ALL_INTERFACES,
  DEFAULT_BIND_HOST,
  type ForwardKind,
  type ForwardSpec,
  formatForwardSpec,
  parseForwardSpec,
} from '../../src/forward/forward-spec.ts'

function parsed(kind: ForwardKind, text: string): ForwardSpec {
  const r = parseForwardSpec(kind, text)
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.detail}`)
  return r.value
}

const local = (host: string, port: number, name: string, target: number): ForwardSpec => ({
  kind: 'local',
  bind: { host, port },
  target: { name, port: target },
})
const dynamic = (host: string, port: number): ForwardSpec => ({
  kind: 'dynamic',
  bind: { host, port },
})
const expose = (port: number, host: string, service: number): ForwardSpec => ({
  kind: 'expose',
  port,
  service: { host, port: service },
})

describe('forward specs: what parses', () => {
  const cases: [ForwardKind, string, ForwardSpec, string][] = [
    ['local', '8080:db:5432', local(DEFAULT_BIND_HOST, 8080, 'db', 5432), '8080:db:5432'],
    ['local', '127.0.0.1:8080:db:80', local('127.0.0.1', 8080, 'db', 80), '8080:db:80'],
    ['local', '*:8080:db:80', local(ALL_INTERFACES, 8080, 'db', 80), '*:8080:db:80'],
    ['local', ':8080:db:80', local(ALL_INTERFACES, 8080, 'db', 80), '*:8080:db:80'],
    ['local', 'localhost:8080:db:80', local('localhost', 8080, 'db', 80), 'localhost:8080:db:80'],
    ['local', '[::1]:8080:db:80', local('::1', 8080, 'db', 80), '[::1]:8080:db:80'],
    ['local', '0:db:80', local(DEFAULT_BIND_HOST, 0, 'db', 80), '0:db:80'],
    ['local', '08080:db:0080', local(DEFAULT_BIND_HOST, 8080, 'db', 80), '8080:db:80'],
    [
      'local',
      '5432:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst:5432',
      local(DEFAULT_BIND_HOST, 5432, 'abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst', 5432),
      '5432:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst:5432',
    ],
    ['dynamic', '1080', dynamic(DEFAULT_BIND_HOST, 1080), '1080'],
    ['dynamic', '*:1080', dynamic(ALL_INTERFACES, 1080), '*:1080'],
    ['dynamic', ':1080', dynamic(ALL_INTERFACES, 1080), '*:1080'],
    ['dynamic', '192.0.2.7:1080', dynamic('192.0.2.7', 1080), '192.0.2.7:1080'],
    ['dynamic', '[2001:db8::7]:65535', dynamic('2001:db8::7', 65535), '[2001:db8::7]:65535'],
    ['expose', '3000', expose(3000, DEFAULT_BIND_HOST, 3000), '3000'],
    ['expose', 'localhost:3000', expose(3000, 'localhost', 3000), 'localhost:3000'],
    ['expose', '[::1]:3000', expose(3000, '::1', 3000), '[::1]:3000'],
    ['expose', '80:127.0.0.1:3000', expose(80, '127.0.0.1', 3000), '80:127.0.0.1:3000'],
    ['expose', '3000:127.0.0.1:3000', expose(3000, '127.0.0.1', 3000), '3000'],
    ['expose', '0:[::1]:22', expose(0, '::1', 22), '0:[::1]:22'],
  ]
  for (const [kind, text, want, canonical] of cases) {
    it(`${kind} ${text}`, () => {
      const spec = parsed(kind, text)
      assert.deepEqual(spec, want)
      assert.equal(formatForwardSpec(spec), canonical)
    })
  }
})

describe('forward specs: what does not', () => {
  const cases: [ForwardKind, string, string, string][] = [
    ['local', '8080:db', 'bad-syntax', "'8080:db': expected [bind_address:]port:NAME:port"],
    ['local', '', 'bad-syntax', 'expected [bind_address:]port:NAME:port'],
    ['local', 'a:1:db:2:3', 'bad-syntax', 'expected'],
    ['local', '::1:8080:db:80', 'bad-syntax', 'square brackets'],
    ['local', '[::1:8080:db:80', 'bad-syntax', "no matching ']'"],
    ['local', '[::1]x:8080:db:80', 'bad-syntax', 'must end the field'],
    ['local', 'a]:8080:db:80', 'bad-syntax', 'stray bracket'],
    ['local', '8080:[db]:80', 'bad-syntax', 'not an address field'],
    ['local', '[8080]:db:80', 'bad-syntax', 'not an address field'],
    ['local', '8080::80', 'bad-syntax', 'NAME is empty'],
    ['local', '8080:d b:80', 'bad-syntax', "NAME 'd b'"],
    ['local', '8080:d\nb:80', 'bad-syntax', "NAME 'd\\x0ab'"],
    ['local', '8080:db:0', 'bad-port', 'target port 0 (any free port)'],
    ['local', '8080:db:65536', 'bad-port', "target port '65536' is not in 1..65535"],
    ['local', '8080:db:0x50', 'bad-port', "target port '0x50' is not a decimal number"],
    ['local', '8080:db:', 'bad-port', "target port '' is not a decimal number"],
    ['local', '+8080:db:80', 'bad-port', "listening port '+8080'"],
    ['local', ' 8080:db:80', 'bad-port', "listening port ' 8080'"],
    ['local', '99999999999999999999:db:80', 'bad-port', 'not in 0..65535'],
    ['local', '1.2.3:8080:db:80', 'bad-address', "bind address '1.2.3'"],
    ['local', '256.0.0.1:8080:db:80', 'bad-address', "bind address '256.0.0.1'"],
    ['local', '01.2.3.4:8080:db:80', 'bad-address', "bind address '01.2.3.4'"],
    ['local', 'bad_host:8080:db:80', 'bad-address', "bind address 'bad_host'"],
    ['local', '-a:8080:db:80', 'bad-address', "bind address '-a'"],
    ['local', '[localhost]:8080:db:80', 'bad-address', "'[localhost]' is not an IPv6 address"],
    ['local', '[]:8080:db:80', 'bad-address', "'[]' is not an IPv6 address"],
    ['dynamic', '1080:db:80', 'bad-syntax', 'expected [bind_address:]port'],
    ['dynamic', 'x', 'bad-port', "listening port 'x'"],
    ['dynamic', '70000', 'bad-port', "'70000' is not in 0..65535"],
    ['expose', '0', 'bad-port', 'service port 0'],
    ['expose', '*:3000', 'bad-address', "service host '*' must be one host"],
    ['expose', ':3000', 'bad-address', "service host '' must be one host"],
    ['expose', '80::3000', 'bad-address', "service host ''"],
    ['expose', '80:localhost:0', 'bad-port', 'service port 0'],
    ['expose', '*:80:localhost:3000', 'bad-syntax', 'it has no bind address'],
  ]
  for (const [kind, text, code, detail] of cases) {
    it(`${kind} ${JSON.stringify(text)} → ${code}`, () => {
      const r = parseForwardSpec(kind, text)
      assert.ok(!r.ok, 'parsed')
      assert.equal(r.code, code)
      assert.ok(r.detail.startsWith('bad forward spec '), r.detail)
      assert.ok(r.detail.includes(detail), `${r.detail} lacks ${detail}`)
      assert.ok(!/[\n\r]/.test(r.detail), 'one line')
    })
  }

  it('quotes long input briefly', () => {
    const r = parseForwardSpec('local', 'x'.repeat(10_000))
    assert.ok(!r.ok && r.detail.length < 200, 'short')
  })
})

const arbPort = fc.integer({ min: 1, max: 65535 })
const arbListenPort = fc.integer({ min: 0, max: 65535 })
const arbHost = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constant('localhost'))
const arbBindHost = fc.oneof(fc.constant(DEFAULT_BIND_HOST), fc.constant(ALL_INTERFACES), arbHost)
const arbName = fc.stringMatching(/^[a-z2-7][a-z0-9._-]{0,51}$/)
const arbSpec: fc.Arbitrary<ForwardSpec> = fc.oneof(
  fc.tuple(arbBindHost, arbListenPort, arbName, arbPort).map(([h, p, n, t]) => local(h, p, n, t)),
  fc.tuple(arbBindHost, arbListenPort).map(([h, p]) => dynamic(h, p)),
  fc
    .tuple(arbListenPort, fc.oneof(fc.constant(DEFAULT_BIND_HOST), arbHost), arbPort, fc.boolean())
    .map(([p, h, s, same]) => expose(same ? s : p, h, s)),
)

describe('forward specs: properties', () => {
  it('parse(format(spec)) is spec', () => {
    fc.assert(
      fc.property(arbSpec, (spec) => {
        assert.deepEqual(parsed(spec.kind, formatForwardSpec(spec)), spec)
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws; what parses is canonical after one format', () => {
    const arbText = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .array(
          fc.oneof(fc.constantFrom('', '*', '[::1]', '0', '80', 'db', '1.2.3.4'), fc.string()),
          {
            maxLength: 5,
          },
        )
        .map((parts) => parts.join(':')),
    )
    fc.assert(
      fc.property(
        fc.constantFrom<ForwardKind>('local', 'dynamic', 'expose'),
        arbText,
        (kind, text) => {
          const r = parseForwardSpec(kind, text)
          if (!r.ok) {
            assert.ok(['bad-syntax', 'bad-port', 'bad-address'].includes(r.code))
            assert.ok(!/[\n\r]/.test(r.detail))
            return
          }
          const canonical = formatForwardSpec(r.value)
          assert.deepEqual(parsed(kind, canonical), r.value)
          assert.equal(formatForwardSpec(parsed(kind, canonical)), canonical)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('refuses to format what no text stands for', () => {
    assert.throws(() => formatForwardSpec(local('', 80, 'db', 80)), RangeError)
    assert.throws(() => formatForwardSpec(local('*', 80, 'a:b', 80)), RangeError)
    assert.throws(() => formatForwardSpec(local('*', 80, 'db', 0)), RangeError)
    assert.throws(() => formatForwardSpec(dynamic('*', 65536)), RangeError)
    assert.throws(() => formatForwardSpec(dynamic('*', 1.5)), RangeError)
    assert.throws(() => formatForwardSpec(expose(80, '*', 80)), RangeError)
  })
})
