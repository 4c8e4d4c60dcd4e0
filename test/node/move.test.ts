/**
 * The move test, on loopback TCP: two nodes stream a 200 MB
 * pseudo-random payload; mid-transfer the sender's node loses all its links
 * abruptly (disconnect), stays off 20 s, then re-joins through a different
 * member at a new overlay address. The transfer completes with a matching
 * SHA-256, neither stream saw an error, and the session was resumed — not
 * re-established. The 20 s outage is the scenario itself, not a wait for an
 * event (SEMOS_MOVE_GAP_MS shortens it; SEMOS_MOVE_MB sizes the payload).
 */
import assert from 'node:assert/strict'
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createNode, type SemosNode, type SessionInfo } from '../../src/node/semos-node.ts'

const MB = Number(process.env.SEMOS_MOVE_MB ?? 200)
const GAP_MS = Number(process.env.SEMOS_MOVE_GAP_MS ?? 20_000)
const CHUNK = 1024 * 1024

const KEY = Buffer.alloc(16, 7)
const ZEROS = Buffer.alloc(CHUNK)

/** Chunk i of a pseudo-random payload (AES-CTR keystream: cheap, reproducible). */
function chunk(i: number): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(i, 0)
  return createCipheriv('aes-128-ctr', KEY, iv).update(ZEROS)
}

describe(`a ${MB} MB transfer across a ${GAP_MS / 1000} s move`, { timeout: 180_000 }, () => {
  let root: SemosNode
  let other: SemosNode
  let receiver: SemosNode
  let sender: SemosNode
  before(async () => {
    root = await createNode({})
    other = await createNode({ bootstrap: [root.endpoint] })
    receiver = await createNode({ bootstrap: [root.endpoint] })
    sender = await createNode({ bootstrap: [root.endpoint] })
    await Promise.all([other.joined(), receiver.joined(), sender.joined()])
  })
  after(async () => {
    await Promise.all([sender, receiver, other, root].map((n) => n?.close()))
  })

  it('completes intact, without a stream error, in the same session', async () => {
    const events: SessionInfo[] = []
    sender.on('session', (e) => events.push(e))
    const received = createHash('sha256')
    let got = 0
    let firstByteAfterReconnect: number | undefined
    let reconnectedAt: number | undefined
    const errors: Error[] = []
    let quarter!: () => void
    const quarterArrived = new Promise<void>((resolve) => {
      quarter = resolve
    })
    const done = new Promise<void>((resolve) => {
      receiver.listen(9, (stream) => {
        stream.on('error', (e) => errors.push(e))
        stream.on('data', (c: Buffer) => {
          got += c.length
          received.update(c)
          if (got >= (MB * CHUNK) / 4) quarter()
          if (reconnectedAt !== undefined && firstByteAfterReconnect === undefined) {
            firstByteAfterReconnect = performance.now()
          }
        })
        stream.on('end', () => resolve())
        stream.resume()
      })
    })
    const stream = sender.connect(receiver.name, 9)
    stream.on('error', (e) => errors.push(e))
    const sent = createHash('sha256')
    const addressBefore = sender.address
    const writing = (async () => {
      for (let i = 0; i < MB; i++) {
        const c = chunk(i)
        sent.update(c)
        if (!stream.write(c)) await once(stream, 'drain')
      }
      stream.end()
    })()
    await quarterArrived
    sender.disconnect()
    const gotAtCut = got
    await sleep(GAP_MS)
    const stalled = got - gotAtCut
    reconnectedAt = performance.now()
    sender.reconnect([other.endpoint])
    await Promise.all([writing, done])
    assert.equal(got, MB * CHUNK)
    assert.equal(received.digest('hex'), sent.digest('hex'))
    assert.deepEqual(errors, [])
    assert.notEqual(sender.address, addressBefore, 'a new overlay address')
    const kinds = events.map((e) => e.type)
    assert.equal(kinds.filter((k) => k === 'established').length, 1, `events: ${kinds}`)
    assert.ok(kinds.includes('suspended') && kinds.includes('resumed'), `events: ${kinds}`)
    const resumeMs = (firstByteAfterReconnect as number) - reconnectedAt
    console.log(
      `# ${MB} MB intact; ${(stalled / 1e6).toFixed(1)} MB arrived during the ${GAP_MS} ms outage (in flight at the cut); first new byte ${resumeMs.toFixed(0)} ms after reconnect; address ${addressBefore} → ${sender.address}`,
    )
  })
})
