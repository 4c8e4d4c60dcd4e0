import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { Rng } from '../../src/core/rng.ts'
import { generateIdentity } from '../../src/identity/keys.ts'
import { LinkError } from '../../src/link/link-session.ts'
import { closedPort, dialTo, nextData, startNode, startRelay, type Watched } from './tcp-harness.ts'

const alice = generateIdentity()
const bob = generateIdentity()
const carol = generateIdentity()
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const TIMEOUT = { timeout: 20_000 }

/** Sends every payload in order, waiting for 'drain' whenever send says the buffer is full. */
async function sendAll(w: Watched, payloads: Uint8Array[]): Promise<void> {
  for (const p of payloads) {
    if (!w.link.send(p)) await once(w.link, 'drain')
  }
}

/** Resolves once `w` has received `n` payloads. */
async function receivedCount(w: Watched, n: number): Promise<void> {
  while (w.data.length < n) await once(w.link, 'data')
}

describe('TCP link', () => {
  it('opens both ways with each other’s names and carries data', TIMEOUT, async (t) => {
    const nodeB = await startNode(t, bob)
    const nodeA = await startNode(t, alice)
    const ab = nodeB.dial({ identity: alice, expectedPeerName: bob.name })
    const ba = nodeA.dial({ identity: bob })
    assert.equal(await ab.open, bob.name)
    assert.equal(await ba.open, alice.name)
    const atB = await nodeB.accepted()
    const atA = await nodeA.accepted()
    assert.equal(atB.link.peerName, alice.name)
    assert.equal(atA.link.peerName, bob.name)
    assert.equal(ab.link.initiator, true)
    assert.equal(atB.link.initiator, false)
    assert.equal(ab.link.state, 'open')
    assert.equal(ab.link.remoteAddress, '127.0.0.1')
    assert.equal(ab.link.remotePort, nodeB.port)
    assert.ok(ba.link.id > ab.link.id)

    assert.equal(ab.link.send(text('hello bob')), true)
    assert.deepEqual(await nextData(atB.link), text('hello bob'))
    atA.link.send(text('hello bob, from alice’s listener'))
    assert.deepEqual(await nextData(ba.link), text('hello bob, from alice’s listener'))
    assert.ok(ab.link.bytesOut > 0 && ab.link.bytesIn > 0)
    assert.equal(nodeB.listener.handshaking, 0)
  })

  it(
    'carries 1,000 payloads of random sizes up to maxPayloadBytes, in order and intact',
    TIMEOUT,
    async (t) => {
      const node = await startNode(t, bob)
      const a = node.dial({ identity: alice })
      await a.open
      const b = await node.accepted()
      const rng = new Rng(7)
      const max = a.link.maxPayloadBytes
      const payloads = Array.from({ length: 1000 }, (_, i) =>
        randomBytes(i === 0 ? 0 : i === 1 ? max : rng.int(max + 1)),
      )
      await Promise.all([sendAll(a, payloads), receivedCount(b, payloads.length)])
      assert.equal(b.data.length, payloads.length)
      for (const [i, p] of payloads.entries())
        assert.deepEqual(b.data[i], new Uint8Array(p), `#${i}`)
      assert.throws(
        () => a.link.send(new Uint8Array(max + 1)),
        (e) => e instanceof LinkError && e.code === 'payload-too-large',
      )
    },
  )

  it('refuses a responder with another name: wrong-peer', TIMEOUT, async (t) => {
    const node = await startNode(t, bob)
    const a = node.dial({ identity: alice, expectedPeerName: carol.name })
    const { reason } = await a.closed
    assert.equal(reason, 'wrong-peer')
    assert.equal(a.link.state, 'closed')
    assert.equal(a.closes, 1)
  })

  it(
    'closes gracefully: local-close here, peer-close there; close and destroy are idempotent',
    TIMEOUT,
    async (t) => {
      const node = await startNode(t, bob)
      const a = node.dial({ identity: alice })
      await a.open
      const b = await node.accepted()
      a.link.close('shutdown')
      a.link.close()
      a.link.destroy()
      assert.deepEqual(await a.closed, {
        reason: 'local-close',
        detail: 'closed locally: shutdown (1)',
      })
      assert.deepEqual(await b.closed, {
        reason: 'peer-close',
        detail: 'peer closed: shutdown (1)',
      })
      assert.throws(
        () => a.link.send(text('late')),
        (e) => e instanceof LinkError && e.code === 'not-open',
      )
      assert.equal(a.closes, 1)
      assert.equal(b.closes, 1)
      assert.equal(node.listener.counters.get('peer-close'), 1)
    },
  )

  it('sees a destroyed peer socket as socket-closed', TIMEOUT, async (t) => {
    const node = await startNode(t, bob)
    const a = node.dial({ identity: alice })
    await a.open
    const b = await node.accepted()
    b.link.destroy()
    assert.equal((await b.closed).reason, 'local-close')
    assert.equal((await a.closed).reason, 'socket-closed')
  })

  it('declares a connected but silent peer dead: peer-dead on both sides', TIMEOUT, async (t) => {
    const node = await startNode(t, bob, { keepaliveIntervalMs: 100, deadAfterMs: 300 })
    const relay = await startRelay(t, node.port)
    const a = dialTo(t, relay.port, { identity: alice, keepaliveIntervalMs: 100, deadAfterMs: 300 })
    await a.open
    const b = await node.accepted()
    relay.stall()
    assert.equal((await a.closed).reason, 'peer-dead')
    assert.equal((await b.closed).reason, 'peer-dead')
  })

  it(
    'keeps an idle link open with keepalives across several deadAfter periods',
    TIMEOUT,
    async (t) => {
      const opts = { keepaliveIntervalMs: 50, deadAfterMs: 250 }
      const node = await startNode(t, bob, opts)
      const a = node.dial({ identity: alice, ...opts })
      await a.open
      const b = await node.accepted()
      const before = a.link.bytesIn
      await delay(1000) // four deadAfter periods with nothing but keepalives
      assert.equal(a.link.state, 'open')
      assert.equal(b.link.state, 'open')
      assert.equal(a.closes + b.closes, 0)
      assert.ok(a.link.bytesIn > before, 'keepalives arrived')
      a.link.send(text('still here'))
      assert.deepEqual(await nextData(b.link), text('still here'))
    },
  )

  it(
    'reports backpressure: send returns false while the peer does not read, then drain',
    TIMEOUT,
    async (t) => {
      const node = await startNode(t, bob)
      const relay = await startRelay(t, node.port)
      const a = dialTo(t, relay.port, { identity: alice })
      await a.open
      const b = await node.accepted()
      relay.pauseUpstream()
      const chunk = new Uint8Array(a.link.maxPayloadBytes).fill(0xab)
      let sent = 0
      while (a.link.send(chunk)) {
        sent++
        assert.ok(sent < 5000, 'send never reported a full buffer')
      }
      sent++
      assert.ok(sent >= 4, 'the driver buffers up to its high-water mark first')
      const drained = once(a.link, 'drain')
      relay.resumeUpstream()
      await drained
      await receivedCount(b, sent)
      assert.equal(b.data.length, sent)
      assert.equal(a.link.state, 'open')
    },
  )

  it('closes with connect-failed when nothing listens', TIMEOUT, async (t) => {
    const a = dialTo(t, await closedPort(), { identity: alice })
    const { reason, detail } = await a.closed
    assert.equal(reason, 'connect-failed')
    assert.match(detail, /ECONNREFUSED/)
    assert.equal(a.closes, 1)
  })
})
