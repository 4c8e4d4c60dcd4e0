import assert from 'node:assert/strict'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { semosNameFromHost } from '../../src/forward/socks5.ts'
import { encodeName } from '../../src/identity/name.ts'
import type { DefaultPaths } from '../../src/node/config.ts'
import {
  aliasProblem,
  DEFAULT_HEADER,
  editDistance,
  isAlias,
  Petnames,
  PetnamesError,
  petnamesPath,
  resolveTarget,
  suggestAlias,
} from '../../src/node/petnames.ts'

const nameOf = (byte: number): string => encodeName(new Uint8Array(32).fill(byte))
const LAPTOP = nameOf(1)
const DB = nameOf(2)
const OTHER = nameOf(3)

describe('petnames', () => {
  let dir: string
  let n = 0

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semos-petnames-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** A petnames file with `text`, owner-only as `save` would leave it. */
  function file(text: string): string {
    const path = join(dir, `petnames-${n++}.toml`)
    writeFileSync(path, text, { mode: 0o600 })
    return path
  }

  function rejects(fn: () => unknown, code: string, message: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof PetnamesError)
      assert.equal(err.code, code)
      assert.match(err.message, message)
      assert.doesNotMatch(err.message, /\n/, 'one line')
      return true
    })
  }

  it('lives beside the config file in use, unless given', () => {
    const paths: DefaultPaths = { configFile: '/home/u/.config/semos/config.toml', stateDir: '/s' }
    assert.equal(petnamesPath({}, {}, paths), '/home/u/.config/semos/petnames.toml')
    assert.equal(
      petnamesPath({}, { SEMOS_CONFIG: '/etc/semos/a.toml' }, paths),
      '/etc/semos/petnames.toml',
    )
    assert.equal(
      petnamesPath({ config: '/c/b.toml' }, { SEMOS_CONFIG: '/x/a.toml' }, paths),
      '/c/petnames.toml',
    )
    assert.equal(
      petnamesPath({ petnames: '/p/pets.toml', config: '/c/b.toml' }, {}, paths),
      '/p/pets.toml',
    )
    assert.equal(petnamesPath({ petnames: 'rel.toml' }, {}, paths), join(process.cwd(), 'rel.toml'))
  })

  it('loads aliases, resolves names and aliases, and finds the alias of a name', () => {
    const path = file(`# my hosts\nlaptop = "${LAPTOP}"\ndb = "${DB}"\nwork-db = "${DB}"\n`)
    const pets = Petnames.load(path)
    assert.equal(pets.path, path)
    assert.equal(pets.size, 3)
    assert.deepEqual(pets.entries(), [
      { alias: 'laptop', name: LAPTOP },
      { alias: 'db', name: DB },
      { alias: 'work-db', name: DB },
    ])
    assert.equal(pets.resolve('laptop'), LAPTOP)
    assert.equal(pets.resolve('work-db'), DB)
    assert.equal(pets.resolve(OTHER), OTHER, 'a name is itself, in the file or not')
    assert.equal(pets.resolve(OTHER.toUpperCase()), OTHER, 'in canonical form')
    assert.equal(pets.resolve('nas'), undefined)
    assert.equal(pets.resolve(''), undefined)
    assert.equal(pets.aliasOf(DB), 'db', 'the first alias in the file')
    assert.equal(pets.aliasOf(LAPTOP.toUpperCase()), 'laptop')
    assert.equal(pets.aliasOf(OTHER), undefined)
    assert.equal(pets.aliasOf('laptop'), undefined, 'an alias is not a name')
  })

  it('reads aliases case-insensitively and stores them, and names, in lowercase', () => {
    const pets = Petnames.load(file(`Laptop = "${LAPTOP.toUpperCase()}"\n`))
    assert.deepEqual(pets.entries(), [{ alias: 'laptop', name: LAPTOP }])
    for (const typed of ['laptop', 'LAPTOP', 'LapTop']) assert.equal(pets.resolve(typed), LAPTOP)
    assert.equal(pets.set('DB', DB).resolve('db'), DB)
    assert.equal(pets.delete('LAPTOP').size, 0)
  })

  it('treats a missing file as empty', () => {
    const path = join(dir, 'absent', 'petnames.toml')
    const pets = Petnames.load(path)
    assert.equal(pets.size, 0)
    assert.equal(pets.path, path)
    assert.equal(pets.resolve(DB), DB)
    assert.equal(Petnames.empty().path, undefined)
    assert.equal(Petnames.load(file('')).size, 0)
    assert.equal(Petnames.load(file('# only a comment\n')).size, 0)
  })

  it('reports bad TOML with its line and column', () => {
    const path = file(`laptop = "${LAPTOP}"\ndb = = 1\n`)
    rejects(
      () => Petnames.load(path),
      'petnames-syntax',
      new RegExp(`^${path}:2:\\d+: invalid TOML`),
    )
    const twice = file(`db = "${DB}"\ndb = "${OTHER}"\n`)
    rejects(
      () => Petnames.load(twice),
      'petnames-syntax',
      new RegExp(`^${twice}:2:\\d+: invalid TOML`),
    )
  })

  it('names the file, the line and the key of a bad alias', () => {
    const cases: [string, RegExp][] = [
      ['-db', /:1: "-db": not an alias: expected 1-63 letters, digits and '-', not starting/],
      ['db-', /:1: "db-": not an alias/],
      ['my_db', /:1: "my_db": not an alias/],
      ['"my laptop"', /:1: "my laptop": not an alias/],
      ['"laptop.semos"', /:1: "laptop.semos": not an alias/],
      ['"café"', /:1: "café": not an alias/],
      ['""', /:1: "": not an alias/],
      ['a'.repeat(64), /:1: "a{64}": not an alias/],
      ['a'.repeat(65), /:1: "a{60}"\.\.\.: not an alias/],
      [
        OTHER,
        /:1: "[a-z2-7]{52}": not an alias: 52 characters of a-z and 2-7 are a name, never an alias$/,
      ],
      ['z'.repeat(52), /:1: "z{52}": not an alias: .* are a name, never an alias$/], // not a valid name either (padding)
    ]
    for (const [key, message] of cases) {
      const path = file(`${key} = "${DB}"\n`)
      rejects(
        () => Petnames.load(path),
        'petnames-bad-alias',
        new RegExp(`^${path}${message.source}`),
      )
    }
    const third = file(`laptop = "${LAPTOP}"\n\n'Bad Alias' = "${DB}"\n`)
    rejects(
      () => Petnames.load(third),
      'petnames-bad-alias',
      new RegExp(`^${third}:3: "Bad Alias"`),
    )
  })

  it('names the file, the line and the key of a bad name', () => {
    const cases: [string, RegExp][] = [
      [
        'db = "abc"',
        /:1: "db": expected a name \(52 characters of a-z and 2-7\), got "abc" \(a name has 52 characters, got 3\)$/,
      ],
      [
        `db = "${DB.slice(0, -1)}b"`,
        /:1: "db": .*\(the last character carries non-zero padding bits\)$/,
      ],
      [`db = "${DB.slice(0, -1)}1"`, /:1: "db": .*\('1' at position 51 is not in a-z, 2-7\)$/],
      ['db = 42', /:1: "db": expected a name .*, got 42$/],
      [`db = ["${DB}"]`, /:1: "db": expected a name .*, got an array$/],
      [
        `[db]\nname = "${DB}"`,
        /:1: "db": .*got a table \(the file is one flat table: no \[sections\] or dotted keys\)$/,
      ],
      [`db.semos = "${DB}"`, /:1: "db": .*got a table/],
    ]
    for (const [text, message] of cases) {
      const path = file(`${text}\n`)
      rejects(
        () => Petnames.load(path),
        'petnames-bad-name',
        new RegExp(`^${path}${message.source}`),
      )
    }
  })

  it('rejects two aliases that differ only in case', () => {
    const path = file(`laptop = "${LAPTOP}"\nLAPTOP = "${OTHER}"\n`)
    rejects(
      () => Petnames.load(path),
      'petnames-duplicate',
      new RegExp(
        `^${path}:2: "LAPTOP": duplicate alias: "laptop" is the same one \\(aliases are case-insensitive\\)$`,
      ),
    )
  })

  it('refuses a file others can write, and reports one it cannot read', () => {
    const path = file(`db = "${DB}"\n`)
    chmodSync(path, 0o646)
    rejects(
      () => Petnames.load(path),
      'petnames-permissions',
      new RegExp(`^${path} is writable by others \\(mode 0646\\).*; run: chmod 600 ${path}$`),
    )
    chmodSync(path, 0o664)
    assert.equal(Petnames.load(path).resolve('db'), DB, 'group-writable is the owner’s choice')
    const directory = join(dir, 'a-directory.toml')
    mkdirSync(directory)
    rejects(
      () => Petnames.load(directory),
      'petnames-unreadable',
      new RegExp(`^cannot read petnames file ${directory}: .*EISDIR`),
    )
  })

  it('saves atomically, owner-only, and loads back the same aliases', () => {
    const saveDir = join(dir, 'save', 'nested')
    const path = join(saveDir, 'petnames.toml')
    const pets = Petnames.load(path).set('laptop', LAPTOP).set('DB', DB.toUpperCase())
    pets.save()
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.equal(statSync(saveDir).mode & 0o777, 0o700)
    assert.deepEqual(readdirSync(saveDir), ['petnames.toml'], 'no temporary file left behind')
    assert.equal(
      readFileSync(path, 'utf8'),
      `${DEFAULT_HEADER}\n\nlaptop = "${LAPTOP}"\ndb = "${DB}"\n`,
    )
    assert.deepEqual(Petnames.load(path).entries(), pets.entries())

    chmodSync(path, 0o644)
    Petnames.load(path).delete('laptop').save()
    assert.equal(statSync(path).mode & 0o777, 0o600, 'a rewrite is owner-only again')
    assert.deepEqual(Petnames.load(path).entries(), [{ alias: 'db', name: DB }])
  })

  it('keeps the header comment, and the place of an alias that changes', () => {
    const header = '# my aliases\n#\n# keep this'
    const path = file(
      `\n${header}\n\nlaptop = "${LAPTOP}" # the old one\n# db below\ndb = "${DB}"\n`,
    )
    Petnames.load(path).set('laptop', OTHER).set('nas', LAPTOP).save()
    assert.equal(
      readFileSync(path, 'utf8'),
      `\n${header}\n\nlaptop = "${OTHER}"\ndb = "${DB}"\nnas = "${LAPTOP}"\n`,
    )
    const bare = file(`db = "${DB}"\n`)
    Petnames.load(bare).save()
    assert.equal(readFileSync(bare, 'utf8'), `db = "${DB}"\n`, 'no header added to a file without')
    const empty = join(dir, 'empty.toml')
    Petnames.empty(empty).save()
    assert.equal(readFileSync(empty, 'utf8'), `${DEFAULT_HEADER}\n`)
    assert.equal(Petnames.load(empty).size, 0)
  })

  it('saves through a symbolic link to the file itself', () => {
    const real = file(`db = "${DB}"\n`)
    const link = join(dir, 'linked.toml')
    symlinkSync(real, link)
    Petnames.load(link).set('nas', OTHER).save()
    assert.ok(statSync(link).isFile())
    assert.equal(Petnames.load(real).resolve('nas'), OTHER)
  })

  it('reports a file it cannot write', () => {
    rejects(() => Petnames.empty().save(), 'petnames-unwritable', /^no petnames file to save to$/)
    const blocker = file('')
    const path = join(blocker, 'petnames.toml')
    rejects(
      () => Petnames.empty().set('db', DB).save(path),
      'petnames-unwritable',
      new RegExp(`^cannot write petnames file ${path}: `),
    )
  })

  it('leaves the original unchanged by set and delete', () => {
    const pets = Petnames.empty().set('db', DB)
    const changed = pets.set('db', OTHER).set('nas', LAPTOP)
    assert.equal(pets.resolve('db'), DB)
    assert.equal(pets.size, 1)
    assert.equal(changed.resolve('db'), OTHER)
    assert.equal(pets.delete('db').size, 0)
    assert.equal(pets.size, 1)
    assert.equal(pets.delete('absent'), pets)
  })

  it('checks what set is given', () => {
    rejects(() => Petnames.empty().set('my db', DB), 'petnames-bad-alias', /^"my db": not an alias/)
    rejects(
      () => Petnames.empty().set(OTHER, DB),
      'petnames-bad-alias',
      /are a name, never an alias$/,
    )
    rejects(
      () => Petnames.empty().set('db', 'db2'),
      'petnames-bad-name',
      /^"db": expected a name .*, got "db2" \(a name has 52 characters, got 3\)$/,
    )
  })

  it('knows an alias when it sees one', () => {
    for (const ok of [
      'a',
      '0',
      'db',
      'work-db',
      'x--y',
      'Laptop',
      'a'.repeat(63),
      'a'.repeat(53),
    ]) {
      assert.ok(isAlias(ok), ok)
    }
    assert.ok(!isAlias('\u212Aey'), 'the Kelvin sign is not a k')
    for (const bad of [
      '',
      '-',
      '-a',
      'a-',
      'a.b',
      'a_b',
      'a b',
      'a'.repeat(64),
      'a'.repeat(52),
      OTHER,
      'é',
    ]) {
      assert.ok(!isAlias(bad), bad)
    }
    assert.equal(aliasProblem('db'), undefined)
    // 52 characters are a name only if every one is in a-z, 2-7
    assert.ok(isAlias(`${'a'.repeat(51)}1`))
    assert.ok(!isAlias(OTHER.toUpperCase()))
  })

  it('resolves targets for commands and SOCKS hosts, or says why not', () => {
    const path = file(`laptop = "${LAPTOP}"\ndb = "${DB}"\n`)
    const pets = Petnames.load(path)
    assert.equal(resolveTarget('db', pets), DB)
    assert.equal(resolveTarget('DB', pets), DB)
    assert.equal(resolveTarget(OTHER.toUpperCase(), pets), OTHER)
    assert.equal(resolveTarget(semosNameFromHost('Laptop.semos') as string, pets), LAPTOP)
    rejects(
      () => resolveTarget('dbb', pets),
      'unknown-name',
      new RegExp(
        `^unknown name 'dbb': not a name, and no such alias in ${path}; did you mean 'db'\\?$`,
      ),
    )
    rejects(() => resolveTarget('LATPOP', pets), 'unknown-name', /; did you mean 'laptop'\?$/)
    rejects(
      () => resolveTarget('nas', pets),
      'unknown-name',
      new RegExp(`^unknown name 'nas': not a name, and no such alias in ${path}$`),
    )
    rejects(
      () => resolveTarget(`${DB.slice(0, -1)}b`, pets),
      'unknown-name',
      /: not a name \(the last character carries non-zero padding bits\), and no such alias/,
    )
    rejects(
      () => resolveTarget('x\ny', Petnames.empty()),
      'unknown-name',
      /^unknown name 'x\?y': not a name, and no such alias$/,
    )
  })

  it('suggests only a close alias', () => {
    const pets = Petnames.empty().set('db', DB).set('laptop', LAPTOP).set('web', OTHER)
    assert.equal(suggestAlias('d', pets), 'db')
    assert.equal(suggestAlias('dv', pets), 'db')
    assert.equal(suggestAlias('lpatop', pets), 'laptop')
    assert.equal(suggestAlias('lptp', pets), 'laptop')
    assert.equal(suggestAlias('wen', pets), 'web', 'the closest alias')
    assert.equal(suggestAlias('x', pets), undefined, 'nothing in common')
    assert.equal(suggestAlias('desktop', pets), undefined)
    assert.equal(suggestAlias('db', Petnames.empty()), undefined)
  })

  it('counts edits, a swap of neighbours as one', () => {
    assert.equal(editDistance('', ''), 0)
    assert.equal(editDistance('db', 'db'), 0)
    assert.equal(editDistance('dbb', 'db'), 1)
    assert.equal(editDistance('latpop', 'laptop'), 1)
    assert.equal(editDistance('kitten', 'sitting'), 3)
    assert.equal(editDistance('kitten', 'sitting', 2), 2)
    assert.equal(editDistance('a', 'abcdef', 3), 3)
  })
})
