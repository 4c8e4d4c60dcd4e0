import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  ConfigError,
  type DefaultPaths,
  formatHostPort,
  parseHostPort,
  resolveDaemonOptions,
  resolveStateDir,
} from '../../src/node/config.ts'

describe('node config', () => {
  let dir: string
  let paths: DefaultPaths
  let n = 0

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semos-config-'))
    paths = { configFile: join(dir, 'no-such-default.toml'), stateDir: join(dir, 'default-state') }
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  function configFile(text: string): string {
    const path = join(dir, `config-${n++}.toml`)
    writeFileSync(path, text)
    return path
  }

  function rejects(fn: () => unknown, code: string, message: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.code, code)
      assert.match(err.message, message)
      return true
    })
  }

  it('uses the defaults when the default config file is missing', () => {
    const { options, logLevel, configPath } = resolveDaemonOptions({}, {}, paths)
    assert.equal(configPath, undefined)
    assert.equal(logLevel, 'info')
    assert.deepEqual(options, {
      stateDir: paths.stateDir,
      listen: { host: '127.0.0.1', port: 7400 },
      bootstrap: [],
      keepaliveIntervalMs: 1000,
      deadAfterMs: 3000,
      q: 4,
      replicas: 3,
      recordLifetimeMs: 60_000,
    })
  })

  it('reads every key from the file', () => {
    const path = configFile(`
listen = "[::1]:7500"
advertise = "node.example:7500"
bootstrap = ["10.0.0.1:7400", "[fe80::1]:7400"]
state_dir = "state"
log_level = "debug"
keepalive_interval_ms = 500
dead_after_ms = 2000
q = 5
replicas = 2
record_lifetime_ms = 30000
`)
    const { options, logLevel, configPath } = resolveDaemonOptions({ config: path }, {}, paths)
    assert.equal(configPath, path)
    assert.equal(logLevel, 'debug')
    assert.deepEqual(options, {
      stateDir: join(dir, 'state'), // relative to the file
      listen: { host: '::1', port: 7500 },
      advertise: 'node.example:7500',
      bootstrap: ['10.0.0.1:7400', '[fe80::1]:7400'],
      keepaliveIntervalMs: 500,
      deadAfterMs: 2000,
      q: 5,
      replicas: 2,
      recordLifetimeMs: 30000,
    })
  })

  it('lets flags override the file, and SEMOS_CONFIG name the file', () => {
    const path = configFile('listen = "0.0.0.0:1"\nbootstrap = ["a:1"]\nlog_level = "warn"\n')
    const { options, logLevel } = resolveDaemonOptions(
      { listen: '127.0.0.1:0', join: ['b:2', 'c:3'], logLevel: 'trace', stateDir: 'rel' },
      { SEMOS_CONFIG: path, SEMOS_STATE_DIR: '/ignored' },
      paths,
    )
    assert.deepEqual(options.listen, { host: '127.0.0.1', port: 0 })
    assert.deepEqual(options.bootstrap, ['b:2', 'c:3'])
    assert.equal(logLevel, 'trace')
    assert.equal(options.stateDir, join(process.cwd(), 'rel'))
  })

  it('takes the state directory from SEMOS_STATE_DIR before the file', () => {
    const path = configFile('state_dir = "/from/file"\n')
    assert.equal(
      resolveStateDir({ config: path }, { SEMOS_STATE_DIR: '/from/env' }, paths),
      '/from/env',
    )
    assert.equal(resolveStateDir({ config: path }, {}, paths), '/from/file')
    assert.equal(resolveStateDir({}, {}, paths), paths.stateDir)
  })

  it('names the file, the key and what was expected', () => {
    const path = configFile('listen = 7400\n')
    rejects(
      () => resolveDaemonOptions({ config: path }, {}, paths),
      'config-invalid',
      new RegExp(`^${path}: listen: expected "host:port", got 7400$`),
    )
    rejects(
      () => resolveDaemonOptions({ config: configFile('q = 2\n') }, {}, paths),
      'config-invalid',
      /: q: expected an integer >= 3, got 2$/,
    )
    rejects(
      () => resolveDaemonOptions({ config: configFile('bootstrap = ["x"]\n') }, {}, paths),
      'config-invalid',
      /: bootstrap: expected "host:port", got "x"$/,
    )
    rejects(
      () => resolveDaemonOptions({ config: configFile('log_level = "loud"\n') }, {}, paths),
      'config-invalid',
      /: log_level: expected one of trace, .*, got "loud"$/,
    )
    rejects(
      () => resolveDaemonOptions({ config: configFile('dead_after_ms = 900\n') }, {}, paths),
      'config-invalid',
      /dead_after_ms: expected more than keepalive_interval_ms \(1000\), got 900$/,
    )
  })

  it('names the flag for a bad flag value', () => {
    rejects(
      () => resolveDaemonOptions({ join: ['10.0.0.1:0'] }, {}, paths),
      'config-invalid',
      /^--join: expected "host:port", got "10.0.0.1:0"$/,
    )
    rejects(
      () => resolveDaemonOptions({ logLevel: 'x' }, {}, paths),
      'config-invalid',
      /^--log-level:/,
    )
  })

  it('rejects unknown keys, bad TOML and a missing --config file', () => {
    rejects(
      () => resolveDaemonOptions({ config: configFile('listne = "a:1"\n') }, {}, paths),
      'config-invalid',
      /unknown key "listne"/,
    )
    rejects(
      () => resolveDaemonOptions({ config: configFile('listen = = 1\n') }, {}, paths),
      'config-syntax',
      /:1:\d+: invalid TOML/,
    )
    rejects(
      () => resolveDaemonOptions({ config: join(dir, 'absent.toml') }, {}, paths),
      'config-missing',
      /absent\.toml: no such file/,
    )
  })

  it('parses host:port, IPv6 in brackets included', () => {
    assert.deepEqual(parseHostPort('[::1]:7400'), { host: '::1', port: 7400 })
    assert.deepEqual(parseHostPort('example.org:1'), { host: 'example.org', port: 1 })
    assert.deepEqual(parseHostPort('h:0', true), { host: 'h', port: 0 })
    for (const bad of ['h:0', '::1:7400', 'h', ':7400', 'h:65536', 'h:-1', '[::1]', 'h: 1', '']) {
      assert.equal(parseHostPort(bad), undefined, bad)
    }
    assert.equal(formatHostPort({ host: '::1', port: 7400 }), '[::1]:7400')
    assert.equal(formatHostPort({ host: '10.0.0.1', port: 7400 }), '10.0.0.1:7400')
  })
})
