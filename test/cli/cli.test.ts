import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ControlError } from '../../src/node/control.ts'
import { type ControlServer, serveControl } from '../../src/node/control-server.ts'
import { controlSocketPath } from '../../src/node/state-dir.ts'

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts')
const KNOWN = 'g2rhzy2r4mleo7bh35jdwkdbels4luz3pmwwogzsmo7c655o5f6q'
const UNKNOWN = 'a'.repeat(52)

interface Run {
  code: number
  stdout: string
  stderr: string
}

describe('semos command line', () => {
  let root: string
  let env: NodeJS.ProcessEnv
  let n = 0
  const servers: ControlServer[] = []
  const fresh = (): string => join(root, `s${n++}`)

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'semos-cli-'))
    // Keep the user's own config and data out of the runs.
    env = {
      ...process.env,
      XDG_CONFIG_HOME: join(root, 'xdg-config'),
      XDG_DATA_HOME: join(root, 'xdg-data'),
    }
    delete env.SEMOS_CONFIG
    delete env.SEMOS_STATE_DIR
  })
  after(async () => {
    for (const server of servers) await server.close()
    rmSync(root, { recursive: true, force: true })
  })

  function semos(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [MAIN, ...args],
        { env, timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr })
        },
      )
    })
  }

  /** A stand-in daemon answering lookup and ping for KNOWN only. */
  async function fakeDaemon(stateDir: string): Promise<void> {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 })
    const server = await serveControl(controlSocketPath(stateDir), async (method, params) => {
      if (params.name !== KNOWN) throw ControlError.remote('not-found', 'not found')
      if (method === 'lookup') {
        return { name: KNOWN, address: 'a1b2', seq: 3, expiresAtMs: Date.now() + 60_000, hops: 2 }
      }
      if (method === 'ping') return { rttMs: 1.5, hops: 2, address: 'a1b2' }
      throw ControlError.remote('unknown-method', method)
    })
    servers.push(server)
  }

  it('prints the same name twice, saying on stderr when it created it', async () => {
    const dir = fresh()
    const first = await semos('id', '--state-dir', dir)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /^[a-z2-7]{52}\n$/)
    assert.match(first.stderr, /^semos: created a new identity in .*identity\.key\n$/)
    const second = await semos('id', '--state-dir', dir)
    assert.deepEqual(second, { code: 0, stdout: first.stdout, stderr: '' })
  })

  it('exits 3 with one line when no daemon is running', async () => {
    const dir = fresh()
    const run = await semos('lookup', KNOWN, '--state-dir', dir)
    assert.equal(run.code, 3)
    assert.equal(run.stdout, '')
    assert.equal(
      run.stderr,
      `semos: lookup: no semos daemon is running (no control socket at ${controlSocketPath(dir)}); start one with: semos up\n`,
    )
  })

  it('exits 2 for a bad name or a bad flag, before contacting anything', async () => {
    const badName = await semos('lookup', 'not-a-name', '--state-dir', fresh())
    assert.equal(badName.code, 2)
    assert.match(
      badName.stderr,
      /^semos: lookup: unknown name 'not-a-name': not a name, and no such alias in .*petnames\.toml\n$/,
    )
    const badFlag = await semos('ping', KNOWN, '--count', 'zero')
    assert.equal(badFlag.code, 2)
    assert.match(badFlag.stderr, /^semos: .*expected a positive integer\n$/)
    const badListen = await semos('up', '--state-dir', fresh(), '--listen', '7400')
    assert.deepEqual(badListen, {
      code: 2,
      stdout: '',
      stderr: 'semos: up: --listen: expected "host:port", got "7400"\n',
    })
    assert.equal((await semos('frobnicate')).code, 2)
  })

  it('shows help with exit 0', async () => {
    const run = await semos('--help')
    assert.equal(run.code, 0)
    for (const command of ['id', 'up', 'forward', 'expose', 'lookup', 'ping', 'status', 'alias']) {
      assert.match(run.stdout, new RegExp(`\\n  ${command}\\b`))
    }
    const sub = await semos('ping', '--help')
    assert.equal(sub.code, 0)
    assert.match(sub.stdout, /--count/)
  })

  it('looks a name up, and reports one that is not found', async () => {
    const dir = fresh()
    await fakeDaemon(dir)
    const found = await semos('lookup', KNOWN.toUpperCase(), '--state-dir', dir, '--json')
    assert.equal(found.code, 0, found.stderr)
    assert.equal(JSON.parse(found.stdout).address, 'a1b2')
    const human = await semos('lookup', KNOWN, '--state-dir', dir)
    assert.match(
      human.stdout,
      /^name {5}g2rh.*\naddress {2}a1b2\nseq {6}3\nexpires .*\nhops {5}2\n$/,
    )
    const missing = await semos('lookup', UNKNOWN, '--state-dir', dir)
    assert.deepEqual(missing, {
      code: 1,
      stdout: '',
      stderr: `semos: lookup: ${UNKNOWN}: not found\n`,
    })
  })

  it('pings a name and summarises like ping(8)', async () => {
    const dir = fresh()
    await fakeDaemon(dir)
    const run = await semos('ping', KNOWN, '--count', '2', '--interval-ms', '1', '--state-dir', dir)
    assert.equal(run.code, 0, run.stderr)
    assert.equal(
      run.stdout,
      [
        `PING ${KNOWN}`,
        'reply from a1b2: seq=1 hops=2 time=1.50 ms',
        'reply from a1b2: seq=2 hops=2 time=1.50 ms',
        `--- ${KNOWN} ping statistics ---`,
        '2 probes sent, 2 replies, 0% lost',
        'rtt min/avg/max = 1.50/1.50/1.50 ms',
        '',
      ].join('\n'),
    )
    const json = await semos('ping', KNOWN, '-c', '1', '--json', '--state-dir', dir)
    assert.equal(JSON.parse(json.stdout).received, 1)
    const missing = await semos('ping', UNKNOWN, '--state-dir', dir)
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, new RegExp(`^semos: ping: ${UNKNOWN}: not found\\n$`))
  })
  it('keeps aliases in the petnames file, and takes them wherever a name goes', async () => {
    const dir = fresh()
    await fakeDaemon(dir)
    const set = await semos('alias', 'DB', KNOWN)
    assert.deepEqual(set, { code: 0, stdout: `db = ${KNOWN}\n`, stderr: '' })
    const list = await semos('alias')
    assert.equal(list.stdout, `db  ${KNOWN}\n`)
    const found = await semos('lookup', 'db', '--state-dir', dir, '--json')
    assert.equal(found.code, 0, found.stderr)
    assert.equal(JSON.parse(found.stdout).name, KNOWN)
    const viaHost = await semos('ping', 'db.semos', '-c', '1', '--state-dir', dir)
    assert.equal(viaHost.code, 0, viaHost.stderr)
    const typo = await semos('lookup', 'dv', '--state-dir', dir)
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /no such alias in .*; did you mean 'db'\?\n$/)
    const bad = await semos('alias', 'db', 'not-a-name')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^semos: alias: "db": expected a name/)
    assert.deepEqual(await semos('alias', '--rm', 'db'), {
      code: 0,
      stdout: 'removed db\n',
      stderr: '',
    })
    assert.equal((await semos('alias', '--rm', 'db')).code, 1)
    assert.match((await semos('alias')).stdout, /^no aliases/)
  })
})
