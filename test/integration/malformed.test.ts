/**
 * A running node fed bad input by a test client: random bytes, truncated and
 * oversized frames, wrong lengths, a broken handshake, and — from an
 * authenticated peer — a garbage overlay message and forged name records.
 * Each is rejected with a counted reason, and the node's other links keep
 * working (checked by a ping between two honest nodes after each).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { encodeDhtMessage } from '../../src/dht/dht-messages.ts'
import { signNameRecord } from '../../src/dht/name-record.ts'
import { generateIdentity } from '../../src/identity/keys.ts'
import { dialLink, type TcpLink } from '../../src/link/tcp-link.ts'
import { OverlayDaemon } from '../../src/node/daemon.ts'
import type { DaemonOptions } from '../../src/node/daemon-api.ts'
import { createLogger } from '../../src/node/logger.ts'
import { Address } from '../../src/overlay/address.ts'
import { encodeMessage } from '../../src/overlay/messages.ts'
import { PROTO } from '../../src/overlay/node-types.ts'

const HOST = '127.0.0.1'

function options(stateDir: string, bootstrap: string[]): DaemonOptions {
  return {
    stateDir,
    listen: { host: HOST, port: 0 },
    bootstrap,
    keepaliveIntervalMs: 200,
    deadAfterMs: 1000,
    q: 4,
    replicas: 3,
    recordLifetimeMs: 60_000,
  }
}

interface Status {
  linkCloses: Record<string, number>
  overlay: { drops: Record<string, number> }
  dht: { rejected: Record<string, number> }
  endpoint: string
  address: string
}

describe('a node fed malformed input', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'semos-malformed-'))
  const log = createLogger({ level: 'silent' })
  let a: OverlayDaemon
  let b: OverlayDaemon
  let port = 0

  before(async () => {
    a = new OverlayDaemon(options(join(dir, 'a'), []), { identity: generateIdentity(), log })
    await a.start()
    const endpoint = ((await a.handle('status', {})) as Status).endpoint
    port = Number(endpoint.split(':')[1])
    b = new OverlayDaemon(options(join(dir, 'b'), [endpoint]), {
      identity: generateIdentity(),
      log,
    })
    await b.start()
    await untilPingWorks()
  })
  after(async () => {
    await b?.stop()
    await a?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function status(): Promise<Status> {
    return (await a.handle('status', {})) as Status
  }

  /** b pings a by name: the honest link must keep working throughout. */
  async function untilPingWorks(): Promise<void> {
    for (;;) {
      try {
        await b.handle('ping', { name: a.name })
        return
      } catch {
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }

  /** Sends raw bytes on a fresh TCP connection and waits until the node hangs up. */
  async function raw(bytes: Uint8Array): Promise<void> {
    const socket = connect(port, HOST)
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(bytes)
    await once(socket, 'close')
  }

  /** Runs `action`; the node must count one more close under one of `keys`, and b still pings a. */
  async function counted(keys: string[], action: () => Promise<void>): Promise<void> {
    const sum = (c: Record<string, number>) => keys.reduce((n, k) => n + (c[k] ?? 0), 0)
    const before = sum((await status()).linkCloses)
    await action()
    const now = sum((await status()).linkCloses)
    assert.ok(now > before, `${keys}: ${before} → ${now}`)
    await b.handle('ping', { name: a.name })
  }

  it('random bytes', () => counted(['handshake-failed', 'bad-frame'], () => raw(randomBytes(300))))

  it('an oversized frame length', () =>
    counted(['bad-frame'], () => raw(Uint8Array.of(0xff, 0xff, 1, 2, 3))))

  it('an empty frame', () => counted(['bad-frame'], () => raw(Uint8Array.of(0, 0))))

  it('a truncated frame, then silence', () =>
    counted(['handshake-timeout'], () => raw(Uint8Array.of(0, 40, 1, 2, 3))))

  it('a wrong length: a Noise message 1 declared longer than sent, then garbage', () =>
    counted(['handshake-failed'], () => raw(Uint8Array.of(0, 48, ...randomBytes(48)))))

  describe('from an authenticated peer', () => {
    let peer: TcpLink
    before(async () => {
      peer = dialLink(HOST, port, { identity: generateIdentity() })
      await once(peer, 'open')
    })
    after(() => peer.destroy())

    it('forged and stale name records are refused and counted; the truth still resolves', async () => {
      const origin = Address.fromSlots(4, [3, 2])
      const mallory = generateIdentity()
      const signed = signNameRecord(mallory, origin, Date.now() + 1e9, Date.now() + 60_000)
      const forged = { ...signed, name: b.name }
      for (let replica = 0; replica < 3; replica++) {
        const put = encodeDhtMessage({
          type: 'put',
          id: 1,
          replica,
          steps: 0,
          origin,
          record: forged,
        })
        peer.send(
          encodeMessage({
            type: 'routed',
            flags: 1,
            hops: 0,
            maxHops: 16,
            proto: PROTO.dht,
            dest: Address.root(4),
            src: origin,
            payload: put,
          }),
        )
      }
      const total = async () => {
        const sa = (await a.handle('status', {})) as Status
        const sb = (await b.handle('status', {})) as Status
        return (sa.dht.rejected['bad-signature'] ?? 0) + (sb.dht.rejected['bad-signature'] ?? 0)
      }
      while ((await total()) < 3) await new Promise((r) => setTimeout(r, 20))
      const found = (await a.handle('lookup', { name: b.name })) as { address: string }
      assert.equal(found.address, ((await b.handle('status', {})) as Status).address)
    })

    it('a garbage overlay message closes that peer, counted; others go on', async () => {
      const before = (await status()).overlay.drops['bad-message'] ?? 0
      const closed = once(peer, 'closed')
      peer.send(Uint8Array.of(0xee, 1, 2, 3))
      await closed
      assert.equal((await status()).overlay.drops['bad-message'], before + 1)
      await b.handle('ping', { name: a.name })
    })
  })
})
