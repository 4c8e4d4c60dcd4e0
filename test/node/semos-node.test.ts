/**
 * The library over real TCP on loopback: three nodes in this process (a root, two
 * members), streams by name through the whole stack (links, overlay, DHT, sessions).
 * Nothing waits on time: every step awaits an event.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { createNode, type SemosNode, type SessionInfo } from '../../src/node/semos-node.ts'

const MiB = 1024 * 1024
const CHUNK_BYTES = 64 * 1024

/** Writes `bytes` in chunks, honouring backpressure, then ends. */
async function send(stream: Duplex, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    if (!stream.write(bytes.subarray(at, at + CHUNK_BYTES))) await once(stream, 'drain')
  }
  stream.end()
}

/** Every byte the stream delivers until its end. */
async function receive(stream: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** The error a stream is destroyed with. */
async function failure(stream: Duplex): Promise<Error & { code?: string }> {
  const [error] = await once(stream, 'error')
  return error
}

describe('SemosNode over loopback TCP', { timeout: 60_000 }, () => {
  let dir: string
  let a: SemosNode
  let b: SemosNode
  /**
   * Gives up on a name quickly: two attempts, short waits; but waits out the DHT's own
   * timeout, so that owners whose tables just changed (they answer "pending" for a second
   * after a join) are asked again rather than taken for an unreachable peer.
   */
  let c: SemosNode
  const aSessions: SessionInfo[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semos-node-'))
    a = await createNode({ stateDir: join(dir, 'a') })
    a.on('session', (e) => aSessions.push(e))
    b = await createNode({ stateDir: join(dir, 'b'), bootstrap: [a.endpoint] })
    c = await createNode({
      identity: generateIdentity(),
      bootstrap: [a.endpoint],
      session: { handshakeAttempts: 2, handshakeRetryMs: 20, lookupTimeoutMs: 2500 },
    })
    await Promise.all([a.joined(), b.joined(), c.joined()])
    // An echo; its streams may fail when a peer closes (the close() test): that is expected.
    b.listen(7, (stream) => stream.on('error', () => {}).pipe(stream))
  })

  after(async () => {
    await Promise.all([a?.close(), b?.close(), c?.close()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('moves 10 MB both ways through one stream, byte for byte', async () => {
    const up = randomBytes(10 * MiB)
    const down = randomBytes(10 * MiB)
    const served = new Promise<{ got: Buffer; peer: string }>((resolve, reject) => {
      b.listen(9, (stream, peer) => {
        stream.on('error', reject)
        const got = receive(stream)
        void send(stream, down)
        got.then((bytes) => resolve({ got: bytes, peer }), reject)
      })
    })
    const stream = a.connect(b.name, 9)
    const [got] = await Promise.all([receive(stream), send(stream, up)])
    const server = await served
    assert.equal(sha256(server.got), sha256(up))
    assert.equal(sha256(got), sha256(down))
    assert.equal(server.peer, a.name)
    assert.ok(aSessions.some((e) => e.type === 'established' && e.peerName === b.name))
    b.unlisten(9)
  })

  it('carries several streams at once, each its own bytes', async () => {
    const payloads = Array.from({ length: 6 }, () => randomBytes(256 * 1024))
    const echoes = await Promise.all(
      payloads.map(async (bytes) => {
        const stream = a.connect(b.name, 7)
        const [echo] = await Promise.all([receive(stream), send(stream, bytes)])
        return echo
      }),
    )
    for (const [i, echo] of echoes.entries()) assert.equal(sha256(echo), sha256(payloads[i]!))
  })

  it("end() is a FIN: the other side reads 'end' and can still answer", async () => {
    const heard = new Promise<string>((resolve) => {
      b.listen(11, async (stream) => {
        const text = (await receive(stream)).toString()
        stream.end(`got ${text}`)
        resolve(text)
      })
    })
    const stream = c.connect(b.name, 11)
    stream.end('hi')
    assert.equal((await receive(stream)).toString(), 'got hi')
    assert.equal(await heard, 'hi')
    b.unlisten(11)
  })

  it("emits 'connect' once the peer has taken the stream, before its first byte", async () => {
    b.listen(13, (stream) =>
      stream
        .on('error', () => {})
        .end('hello')
        .resume(),
    )
    const stream = a.connect(b.name, 13)
    const order: string[] = []
    stream.on('connect', () => order.push('connect'))
    stream.once('data', () => order.push('data'))
    stream.end()
    assert.equal((await receive(stream)).toString(), 'hello')
    assert.deepEqual(order, ['connect', 'data'])
    b.unlisten(13)
  })

  it('a listener with an allow-list refuses other peers: their connect fails with forbidden', async () => {
    b.listen(
      15,
      (stream) =>
        stream
          .on('error', () => {})
          .end('in')
          .resume(),
      {
        allow: (peer) => peer === a.name,
      },
    )
    const refused = await failure(c.connect(b.name, 15))
    assert.equal(refused.code, 'forbidden')
    const allowed = a.connect(b.name, 15).end()
    assert.equal((await receive(allowed)).toString(), 'in')
    b.unlisten(15)
  })

  it('a connect to a port nobody listens on fails with refused', async () => {
    const error = await failure(a.connect(b.name, 4242))
    assert.equal(error.code, 'refused')
  })

  it('a connect to an unknown name fails with not-found', async () => {
    const error = await failure(c.connect(generateIdentity().name, 7))
    assert.equal(error.code, 'not-found')
  })

  it('a bad port or name throws at once', () => {
    assert.throws(() => a.connect(b.name, 70_000), { code: 'bad-option' })
    assert.throws(() => a.connect('not a name', 7), { code: 'bad-option' })
    assert.throws(() => a.connect(a.name, 7), { code: 'bad-option' })
  })

  it('status() lists the sessions', async () => {
    const status = await a.status()
    assert.equal(status.name, a.name)
    assert.ok(status.address !== undefined)
    assert.ok(status.sessions.some((s) => s.peerName === b.name))
  })

  it('close() fails open streams with node-closed and is idempotent', async () => {
    const d = await createNode({ bootstrap: [a.endpoint] })
    await d.joined()
    const stream = d.connect(b.name, 7)
    stream.write('x')
    await once(stream, 'data')
    const failed = failure(stream)
    const closed = new Promise<SessionInfo>((resolve) => {
      b.on('session', (e) => {
        if (e.type === 'closed' && e.peerName === d.name) resolve(e)
      })
    })
    await Promise.all([d.close(), d.close()])
    assert.equal((await failed).code, 'node-closed')
    assert.equal((await closed).type, 'closed')
    assert.throws(() => d.connect(b.name, 7), { code: 'closed' })
  })
})
