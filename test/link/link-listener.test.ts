import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { describe, it, type TestContext } from 'node:test'
import { createHandshake } from '../../src/core/noise/index.ts'
import { Rng } from '../../src/core/rng.ts'
import { generateIdentity } from '../../src/identity/keys.ts'
import { encodeFrame } from '../../src/link/framing.ts'
import type { LinkCountKey } from '../../src/link/link-counters.ts'
import { LinkListener, ListenerError } from '../../src/link/link-listener.ts'
import { LINK_PATTERN, LINK_PROLOGUE, LINK_SUITE } from '../../src/link/link-records.ts'
import { LinkError } from '../../src/link/link-session.ts'
import { nextData, rawClient, startNode, type TestNode, type Watched } from './tcp-harness.ts'

const alice = generateIdentity()
const bob = generateIdentity()
const TIMEOUT = { timeout: 20_000 }
const HANDSHAKE_TIMEOUT_MS = 250

function rngBytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256))
}

/** A valid Noise XX message 1 from a fresh initiator, framed. */
function message1(): Uint8Array {
  const hs = createHandshake({
    pattern: LINK_PATTERN,
    suite: LINK_SUITE,
    initiator: true,
    prologue: LINK_PROLOGUE,
    staticKeyPair: alice.dh,
  })
  return encodeFrame(hs.writeMessage(new Uint8Array(0)))
}

/** Sends `bytes` from a raw client and waits until the listener has closed it. */
async function rejected(t: TestContext, node: TestNode, bytes: Uint8Array[]): Promise<Socket> {
  const socket = await rawClient(t, node.port)
  for (const b of bytes) socket.write(b)
  await once(socket, 'close')
  return socket
}

/** The good link still works: a payload makes the round trip through the echo. */
async function roundTrip(good: Watched, label: string): Promise<void> {
  const payload = new TextEncoder().encode(label)
  good.link.send(payload)
  assert.deepEqual(await nextData(good.link), payload, label)
}

describe('link listener', () => {
  it(
    'closes and counts malformed clients by reason while a good link keeps working',
    TIMEOUT,
    async (t) => {
      const node = await startNode(t, bob, {
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
        onLink: (link) => link.on('data', (p) => link.send(p)), // echo
      })
      const counters = node.listener.counters
      const good = node.dial({ identity: alice })
      await good.open
      await roundTrip(good, 'before')

      const expectOne = async (
        reasons: LinkCountKey[],
        bytes: Uint8Array[],
        label: string,
      ): Promise<void> => {
        const sum = (): number => reasons.reduce((n, r) => n + counters.get(r), 0)
        const before = sum()
        await rejected(t, node, bytes)
        assert.equal(sum(), before + 1, `${label}: counted as ${reasons.join(' or ')}`)
        await roundTrip(good, `after ${label}`)
      }

      const rng = new Rng(42)
      for (let i = 0; i < 5; i++) {
        await expectOne(['bad-frame', 'handshake-failed'], [rngBytes(rng, 1000)], `random #${i}`)
      }
      await expectOne(['bad-frame'], [Uint8Array.of(0xff, 0xff, 1, 2, 3)], 'oversized length')
      await expectOne(['bad-frame'], [new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')], 'http')
      await expectOne(['bad-frame'], [Uint8Array.of(0, 0)], 'empty frame')
      await expectOne(
        ['handshake-timeout'],
        [Uint8Array.of(0, 64, ...rngBytes(rng, 10))],
        'truncated frame, then silence',
      )
      await expectOne(
        ['handshake-failed'],
        [message1(), encodeFrame(rngBytes(rng, 100))],
        'message 1, then garbage',
      )
      await expectOne(['handshake-timeout'], [], 'silence')

      assert.equal(node.listener.handshaking, 0)
      assert.equal(good.link.state, 'open')
      assert.equal(counters.get('handshake-timeout'), 2)
      assert.equal(counters.get('local-close') + counters.get('peer-close'), 0)
    },
  )

  it('bounds links still handshaking: the excess is destroyed and counted', TIMEOUT, async (t) => {
    const node = await startNode(t, bob, { maxHandshaking: 2, handshakeTimeoutMs: 300 })
    const first = await rawClient(t, node.port)
    const second = await rawClient(t, node.port)
    const third = await rawClient(t, node.port)
    await once(third, 'close')
    assert.equal(node.listener.counters.get('handshake-limit'), 1)
    assert.equal(node.listener.handshaking, 2)
    assert.equal(first.destroyed || second.destroyed, false)

    // The two silent ones time out and free their slots; then a good link gets in.
    await Promise.all([once(first, 'close'), once(second, 'close')])
    assert.equal(node.listener.counters.get('handshake-timeout'), 2)
    assert.equal(node.listener.handshaking, 0)
    const good = node.dial({ identity: alice })
    assert.equal(await good.open, bob.name)
  })

  it(
    'refuses an authenticated peer’s frame above its maxFrameBytes: bad-frame, counted',
    TIMEOUT,
    async (t) => {
      const node = await startNode(t, bob, { maxFrameBytes: 1024 })
      const a = node.dial({ identity: alice })
      await a.open
      const b = await node.accepted()
      a.link.send(new Uint8Array(2000))
      assert.equal((await b.closed).reason, 'bad-frame')
      assert.deepEqual(await a.closed, { reason: 'peer-close', detail: 'peer closed: error (3)' })
      assert.equal(node.listener.counters.get('bad-frame'), 1)
    },
  )

  it('stops listening on close, leaving open links alone', TIMEOUT, async (t) => {
    const node = await startNode(t, bob, { onLink: (link) => link.on('data', (p) => link.send(p)) })
    const good = node.dial({ identity: alice })
    await good.open
    node.listener.close()
    node.listener.close()
    assert.equal(node.listener.address, undefined)
    await roundTrip(good, 'after close')
    const late = node.dial({ identity: alice })
    assert.equal((await late.closed).reason, 'connect-failed')
  })

  it('refuses bad options and a second listen with coded errors', async (t) => {
    assert.throws(
      () => new LinkListener({ identity: bob, onLink: () => {}, deadAfterMs: -1 }),
      (e) => e instanceof LinkError && e.code === 'bad-config',
    )
    assert.throws(
      () => new LinkListener({ identity: bob, onLink: () => {}, maxHandshaking: 0 }),
      (e) => e instanceof ListenerError && e.code === 'bad-config',
    )
    const node = await startNode(t, bob)
    await assert.rejects(
      node.listener.listen({ host: '127.0.0.1', port: 0 }),
      (e) => e instanceof ListenerError && e.code === 'already-listening',
    )
  })
})
