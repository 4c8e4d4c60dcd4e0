import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parse } from 'smol-toml'
import { assignmentSpan, formatValue, setTopLevel } from '../../src/node/config-edit.ts'

const HAND_KEPT = `# my semos config
listen = "0.0.0.0:7400"   # all interfaces

# the office database
forward = [
  "5432:db:5432",  # postgres
  # "8080:web:80",
]
bootstrap = ["192.0.2.1:7400"] # the VPS
`

describe('config edit', () => {
  test('appends a new key to an empty file and to one without a final newline', () => {
    assert.equal(setTopLevel('', 'socks', ['1080']), 'socks = ["1080"]\n')
    assert.equal(setTopLevel('q = 4', 'socks', ['1080']), 'q = 4\nsocks = ["1080"]\n')
  })

  test('replaces a multi-line array in place and keeps every comment around it', () => {
    const out = setTopLevel(HAND_KEPT, 'forward', ['5432:db:5432', '2222:laptop:22'])
    assert.equal(
      out,
      HAND_KEPT.replace(/forward = \[[\s\S]*?\n\]/, 'forward = ["5432:db:5432", "2222:laptop:22"]'),
    )
    assert.match(out, /# my semos config/)
    assert.match(out, /bootstrap = \["192.0.2.1:7400"\] # the VPS/)
    const t = parse(out) as Record<string, unknown>
    assert.deepEqual(t.forward, ['5432:db:5432', '2222:laptop:22'])
    assert.deepEqual(t.bootstrap, ['192.0.2.1:7400'])
  })

  test('keeps a comment that follows the value on its line', () => {
    const out = setTopLevel(HAND_KEPT, 'bootstrap', ['198.51.100.7:7400'])
    assert.match(out, /^bootstrap = \["198.51.100.7:7400"\] # the VPS$/m)
  })

  test('removing a key takes its lines and nothing else', () => {
    const out = setTopLevel(HAND_KEPT, 'forward', undefined)
    assert.equal(out.includes('5432'), false)
    assert.match(out, /# the office database\nbootstrap/)
    assert.deepEqual(Object.keys(parse(out)), ['listen', 'bootstrap'])
    assert.equal(setTopLevel(HAND_KEPT, 'socks', undefined), HAND_KEPT)
  })

  test('a new key goes before the first table, where top-level keys must be', () => {
    const text = 'q = 4\n\n[extra]\nx = 1\n'
    const out = setTopLevel(text, 'expose', ['8080'])
    assert.equal(out, 'q = 4\n\nexpose = ["8080"]\n[extra]\nx = 1\n')
    assert.deepEqual((parse(out) as Record<string, unknown>).expose, ['8080'])
  })

  test('text inside strings never looks like the key', () => {
    const text = `a = """\nforward = ["no"]\n"""\nb = 'forward = x' # forward = y\nforward = ["yes"]\n`
    const span = assignmentSpan(text, 'forward')
    assert.ok(span)
    assert.equal(text.slice(...span), 'forward = ["yes"]')
    const out = setTopLevel(text, 'forward', ['1', '2'])
    assert.deepEqual(
      { ...parse(out) },
      {
        a: 'forward = ["no"]\n',
        b: 'forward = x',
        forward: ['1', '2'],
      },
    )
  })

  test('inline tables (an expose with its own allow-list) round-trip', () => {
    const value = ['8080', { spec: '2222', allow: ['laptop', 'phone'] }, { spec: '80', allow: '*' }]
    const out = setTopLevel('', 'expose', value)
    assert.deepEqual(
      JSON.parse(JSON.stringify((parse(out) as Record<string, unknown>).expose)),
      value,
    )
  })

  test('any strings survive the round trip (quotes, backslashes, control characters, unicode)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (values) => {
        const out = setTopLevel(HAND_KEPT, 'forward', values)
        const t = parse(out) as Record<string, unknown>
        assert.deepEqual(t.forward, values)
        assert.equal(t.listen, '0.0.0.0:7400')
      }),
    )
  })

  test('a file it cannot edit safely is refused, not rewritten', () => {
    // A dotted key under the name: replacing only part of it would change its meaning.
    assert.throws(() => setTopLevel('forward.x = "a"\n', 'forward', ['1']), /TOML|cannot edit/)
  })

  test('formatValue writes one line of TOML', () => {
    assert.equal(
      formatValue(['a"b', { spec: 'x', 'a b': 'y' }]),
      '["a\\"b", { spec = "x", "a b" = "y" }]',
    )
  })
})
