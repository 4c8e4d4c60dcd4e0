import assert from 'node:assert/strict'
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { canonicalName } from '../../src/identity/name.ts'
import { identityPath, loadOrCreateIdentity, StateDirError } from '../../src/node/state-dir.ts'

describe('state directory', () => {
  let root: string
  let n = 0
  const fresh = (): string => join(root, `state-${n++}`, 'nested')

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'semos-state-'))
  })
  after(() => rmSync(root, { recursive: true, force: true }))

  it('creates an owner-only directory and key, then loads the same name', () => {
    const dir = fresh()
    const created: string[] = []
    const first = loadOrCreateIdentity(dir, { onCreate: (path) => created.push(path) })
    assert.deepEqual(created, [identityPath(dir)])
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.equal(statSync(identityPath(dir)).mode & 0o777, 0o600)
    assert.match(readFileSync(identityPath(dir), 'utf8'), /^[0-9a-f]{64}\n$/)
    assert.deepEqual(readdirSync(dir), ['identity.key'], 'no temporary file left behind')
    assert.equal(canonicalName(first.name), first.name)

    const second = loadOrCreateIdentity(dir, { onCreate: (path) => created.push(path) })
    assert.equal(second.name, first.name)
    assert.equal(created.length, 1, 'not created again')
  })

  it('refuses a key file that group or others can read', () => {
    const dir = fresh()
    const { name } = loadOrCreateIdentity(dir)
    chmodSync(identityPath(dir), 0o640)
    assert.throws(
      () => loadOrCreateIdentity(dir),
      (err: unknown) =>
        err instanceof StateDirError &&
        err.code === 'key-permissions' &&
        err.message.includes('mode 0640') &&
        err.message.includes(`chmod 600 ${identityPath(dir)}`),
    )
    chmodSync(identityPath(dir), 0o600)
    assert.equal(loadOrCreateIdentity(dir).name, name, 'the key was left untouched')
  })

  it('refuses a corrupt key file rather than replacing it', () => {
    const dir = fresh()
    loadOrCreateIdentity(dir)
    for (const text of ['abcd\n', `${'0'.repeat(66)}\n`, `${'z'.repeat(64)}\n`, '']) {
      writeFileSync(identityPath(dir), text, { mode: 0o600 })
      assert.throws(
        () => loadOrCreateIdentity(dir),
        (err: unknown) => err instanceof StateDirError && err.code === 'key-corrupt',
        JSON.stringify(text),
      )
      assert.equal(readFileSync(identityPath(dir), 'utf8'), text)
    }
  })

  it('loads a key written by hand in upper case without a newline', () => {
    const dir = fresh()
    const { name } = loadOrCreateIdentity(dir)
    const hex = readFileSync(identityPath(dir), 'utf8').trim()
    writeFileSync(identityPath(dir), hex.toUpperCase())
    assert.equal(loadOrCreateIdentity(dir).name, name)
  })

  it('reports a state directory that is a file', () => {
    const file = join(root, `file-${n++}`)
    writeFileSync(file, '')
    assert.throws(
      () => loadOrCreateIdentity(file),
      (err: unknown) => err instanceof StateDirError && err.code === 'state-dir',
    )
  })
})
