/**
 * What `semos up` runs, in this process over loopback: forwards saved to and removed
 * from a hand-kept config file, and the session rows of `semos status` through a cut
 * and a return (state, bytes each way, RTT, how long the suspension lasted and how fast
 * the session came back after the re-join).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { resolveForwardSettings } from '../../src/node/config.ts'
import { ControlError } from '../../src/node/control.ts'
import { startDaemon } from '../../src/node/daemon.ts'
import { resolveNodeOptions } from '../../src/node/node-options.ts'
import { Petnames } from '../../src/node/petnames.ts'
import type { SessionInfo, SessionRow } from '../../src/node/semos-node.ts'
import { Service } from '../../src/node/service.ts'
import { SRM_DEFAULTS } from '../../src/session/srm/srm-types.ts'

const log = pino({ level: 'silent' })
const HAND_KEPT = '# my config\nq = 4 # four children\n\nforward = [\n  # none yet\n]\n'

async function service(dir: string, name: string, bootstrap: string[]): Promise<Service> {
  // 'laptop' is the node itself: an alias the allow-list can name.
  const { daemonOptions, identity } = resolveNodeOptions({
    stateDir: join(dir, name),
    bootstrap,
  })
  const daemon = await startDaemon(daemonOptions, {
    identity,
    log,
    session: { srm: { suspendAfterMs: 300 } },
  })
  return new Service({
    daemon,
    petnames: Petnames.empty(join(dir, `${name}-petnames.toml`)).set('laptop', identity.name),
    log,
    configPath: join(dir, `${name}.toml`),
  })
}

async function sessions(s: Service): Promise<SessionRow[]> {
  return ((await s.handle('status', {})) as { sessions: SessionRow[] }).sessions
}

function nextSession(s: Service, type: SessionInfo['type']): Promise<SessionInfo> {
  return new Promise((resolve) => {
    const on = (e: SessionInfo): void => {
      if (e.type !== type) return
      s.node.off('session', on)
      resolve(e)
    }
    s.node.on('session', on)
  })
}

describe('semos up service', { timeout: 60_000 }, () => {
  let dir: string
  let a: Service
  let b: Service
  let echo: Server
  let echoPort: number

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semos-service-'))
    echo = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {}) // reset when the services close
      s.pipe(s)
    })
    echo.listen(0, '127.0.0.1')
    await once(echo, 'listening')
    echoPort = (echo.address() as { port: number }).port
    a = await service(dir, 'a', [])
    await a.node.joined()
    b = await service(dir, 'b', [a.node.endpoint])
    await b.node.joined()
    await a.addForward('expose', `7:127.0.0.1:${echoPort}`, '*')
  })
  after(async () => {
    await b?.close()
    await a?.close()
    echo?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('saves forwards to the config file and takes them out, keeping the rest as written', async () => {
    const config = join(dir, 'b.toml')
    writeFileSync(config, HAND_KEPT)
    const f = await b.handle('forward-add', {
      kind: 'local',
      spec: `0:${a.node.name}:7`,
      save: true,
    })
    const id = (f as { id: string }).id
    const saved = readFileSync(config, 'utf8')
    assert.equal(
      saved,
      HAND_KEPT.replace(/forward = \[[\s\S]*\]/, `forward = ["0:${a.node.name}:7"]`),
    )
    assert.deepEqual(resolveForwardSettings({ config }, {}).local, [`0:${a.node.name}:7`])

    await b.handle('forward-add', { kind: 'expose', spec: '9', allow: ['laptop'], save: true })
    assert.deepEqual(resolveForwardSettings({ config }, {}).expose, [
      { spec: '9', allow: ['laptop'] },
    ])
    // The same forward twice is refused before anything is written.
    await assert.rejects(
      b.handle('forward-add', { kind: 'expose', spec: '9', save: true }),
      (e: unknown) => e instanceof ControlError && e.remoteCode === 'exists',
    )

    // Port 0 ran as the port it got; its saved spec still says 0, and is what goes.
    assert.deepEqual(await b.handle('forward-remove', { id, save: true }), {
      removed: id,
      unsaved: 0,
    })
    assert.deepEqual(await b.handle('forward-remove', { id: 'R 9', save: true }), {
      removed: 'R 9',
      unsaved: 1,
    })
    const after = readFileSync(config, 'utf8')
    assert.match(after, /^# my config\nq = 4 # four children\n/)
    assert.equal(after.includes('expose'), false)
    assert.deepEqual((await b.handle('forwards', {})) as unknown[], [])
  })

  it('an unwritable config undoes the forward it was asked to save', async () => {
    const config = join(dir, 'b.toml')
    writeFileSync(config, 'forward = "not a list"\n')
    await assert.rejects(
      b.handle('forward-add', { kind: 'local', spec: `0:${a.node.name}:7`, save: true }),
      (e: unknown) =>
        e instanceof ControlError &&
        e.remoteCode === 'config-unwritable' &&
        /^cannot save to .*b\.toml: "forward" is not a list$/.test(e.message),
    )
    assert.deepEqual((await b.handle('forwards', {})) as unknown[], [])
    writeFileSync(config, '')
  })

  it('status shows each session: state, bytes each way, RTT, and its last suspension', async () => {
    const f = (await b.handle('forward-add', { kind: 'local', spec: `0:${a.node.name}:7` })) as {
      bound: string
    }
    const port = Number(f.bound.split(':').pop())
    const socket: Socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    // Enough records that a's acknowledgement (one per ackEveryRecords) precedes the echo's
    // tail on the one link between them: b has an RTT sample once the echo is all back.
    const sent = (SRM_DEFAULTS.ackEveryRecords + 2) * SRM_DEFAULTS.maxRecordBytes
    socket.write(Buffer.alloc(sent, 1))
    await new Promise<void>((resolve) => {
      let echoed = 0
      const onData = (chunk: Buffer): void => {
        echoed += chunk.length
        if (echoed < sent) return
        socket.off('data', onData)
        resolve()
      }
      socket.on('data', onData)
    })

    const [active] = await sessions(b)
    assert.ok(active)
    assert.equal(active.peerName, a.node.name)
    assert.equal(active.state, 'active')
    assert.ok(active.bytesOut >= sent && active.bytesIn >= sent, JSON.stringify(active))
    assert.equal(typeof active.rttMs, 'number')
    assert.equal(active.lastSuspendedForMs, undefined)

    // Cut b off; data it keeps writing goes unacknowledged and the session suspends.
    const suspended = nextSession(b, 'suspended')
    await b.handle('network-down', {})
    socket.write(Buffer.alloc(1000, 2))
    await suspended
    assert.equal((await sessions(b))[0]?.state, 'suspended')

    const resumed = nextSession(b, 'resumed')
    await b.handle('network-up', { via: [a.node.endpoint] })
    await resumed
    const [back] = await sessions(b)
    assert.ok(back)
    assert.equal(back.state, 'active')
    assert.equal(back.resumptions, 1)
    assert.ok((back.lastSuspendedForMs ?? 0) > 0, JSON.stringify(back))
    // b re-joined during the suspension, so the row says how long the resumption took.
    assert.equal(typeof back.lastResumedInMs, 'number')
    socket.destroy()
  })
})
