/**
 * Issue 5's load test: 1,000 concurrent forwarded connections that each echo 64 KiB,
 * all intact. Two nodes in this process on loopback: `b` exposes a local TCP echo
 * server, `a` runs `-L` to it; 1,000 TCP clients connect to the -L port at once, each
 * writes 64 KiB of its own pseudo-random bytes, half-closes, and reads the echo back.
 *
 * That all 1,000 were open at the same moment is shown by counters, not by timing: the
 * echo server echoes at once but holds back its FIN (so every connection, and the stream
 * that carries it, stays open) until it has taken all 1,000 connections; at that moment
 * it records its own open connections, the streams both nodes hold and the -L forward's
 * open connections.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { parseForwardSpec } from '../../src/forward/forward-spec.ts'
import { Forwards } from '../../src/forward/forwards.ts'
import { canonicalName } from '../../src/identity/name.ts'
import { createNode, type SemosNode } from '../../src/node/semos-node.ts'

const CONNECTIONS = 1000
const BYTES = 64 * 1024
const HOST = '127.0.0.1'
const ECHO_PORT = 7
/** Per connection: the client's socket, the -L socket, the expose side's socket, the echo's. */
const FDS_NEEDED = CONNECTIONS * 4 + 256

function spec<K extends 'local' | 'expose'>(kind: K, text: string) {
  const parsed = parseForwardSpec(kind, text)
  assert.ok(parsed.ok, text)
  return parsed.value
}

/** The soft limit on open files of this process (`ulimit -n`), from /proc. */
function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
  } catch {
    return Number.POSITIVE_INFINITY // not Linux: let the test try
  }
}

/** 64 KiB of pseudo-random bytes of its own for connection `i` (seeded: reproducible). */
function payload(i: number): Buffer {
  const rng = new Rng(0x5e305 + i)
  const b = Buffer.alloc(BYTES)
  for (let o = 0; o < BYTES; o += 4) b.writeUInt32LE(rng.nextU32(), o)
  return b
}

/** What the echo server saw when it took its last connection. */
interface Peak {
  echoOpen: number
  exposingStreams: number
  forwardingStreams: number
  forwardConnections: number
}

describe('1,000 concurrent forwarded connections', { timeout: 240_000 }, () => {
  let skip: string | undefined
  let a: SemosNode | undefined
  let b: SemosNode | undefined
  let aForwards: Forwards | undefined
  let bForwards: Forwards | undefined
  let echo: Server | undefined
  const echoSockets = new Set<Socket>()
  const clients = new Set<Socket>()

  before(async () => {
    const limit = openFilesLimit()
    if (limit < FDS_NEEDED) {
      skip = `needs ${FDS_NEEDED} open files in this process, ulimit -n is ${limit} (raise it: ulimit -n 8192)`
    }
  })

  after(async () => {
    for (const s of clients) s.destroy()
    for (const s of echoSockets) s.destroy()
    await Promise.all([aForwards?.close(), bForwards?.close()])
    echo?.close()
    await Promise.all([a?.close(), b?.close()])
  })

  it('each of 1,000 connections through -L echoes its own 64 KiB intact, all open at once', async (t) => {
    if (skip !== undefined) return t.skip(skip)
    a = await createNode()
    b = await createNode({ bootstrap: [a.endpoint] })
    await Promise.all([a.joined(), b.joined()])
    const exposing = b

    // The echo server: echoes at once, holds its FIN until all connections are in.
    let accepted = 0
    let open = 0
    let peak: Peak | undefined
    const held: Socket[] = []
    const fwd = new Forwards({ node: a, resolve: canonicalName })
    aForwards = fwd
    echo = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      echoSockets.add(s)
      accepted++
      open++
      s.on('error', () => {})
      s.once('close', () => {
        open--
        echoSockets.delete(s)
      })
      s.pipe(s, { end: false })
      s.once('end', () => {
        if (peak === undefined) held.push(s)
        else s.end()
      })
      if (accepted === CONNECTIONS) {
        peak = {
          echoOpen: open,
          exposingStreams: exposing.streamCount,
          forwardingStreams: (a as SemosNode).streamCount,
          forwardConnections: fwd.connections,
        }
        for (const h of held.splice(0)) h.end()
      }
    })
    echo.listen({ host: HOST, port: 0, backlog: 2048 })
    await once(echo, 'listening')
    const echoPort = (echo.address() as { port: number }).port

    bForwards = new Forwards({ node: b, resolve: canonicalName })
    await bForwards.add(spec('expose', `${ECHO_PORT}:${HOST}:${echoPort}`), [a.name])
    const f = await fwd.add(spec('local', `${HOST}:0:${b.name}:${ECHO_PORT}`))
    const port = Number(f.bound?.split(':').at(-1))

    const sent = Array.from({ length: CONNECTIONS }, (_, i) => payload(i))
    // All 1,000 connect at once: every socket is created before any event runs.
    const received = await Promise.all(
      sent.map(
        (data, i) =>
          new Promise<Buffer>((resolve, reject) => {
            const s = tcpConnect({ host: HOST, port, noDelay: true })
            clients.add(s)
            const chunks: Buffer[] = []
            let ended = false
            s.once('connect', () => s.end(data)) // 64 KiB, then a half-close
            s.on('data', (c: Buffer) => chunks.push(c))
            s.once('end', () => {
              ended = true
            })
            s.once('error', (e) => reject(new Error(`connection ${i}: ${e.message}`)))
            s.once('close', () => {
              clients.delete(s)
              const got = Buffer.concat(chunks)
              if (ended) resolve(got)
              else reject(new Error(`connection ${i}: closed without FIN after ${got.length} B`))
            })
          }),
      ),
    )

    const bad: string[] = []
    for (let i = 0; i < CONNECTIONS; i++) {
      const want = sent[i] as Buffer
      const got = received[i] as Buffer
      if (got.equals(want)) continue
      let at = 0
      while (at < Math.min(got.length, want.length) && got[at] === want[at]) at++
      bad.push(`#${i}: ${got.length} B back, first difference at byte ${at}`)
    }
    assert.deepEqual(bad, [], `${bad.length} of ${CONNECTIONS} echoes differ`)
    assert.equal(accepted, CONNECTIONS, 'the echo server took one connection per client')
    assert.ok(peak !== undefined)
    assert.equal(peak.echoOpen, CONNECTIONS, 'the echo server held all of them open at once')
    assert.ok(
      peak.exposingStreams >= CONNECTIONS,
      `the exposing node held ${peak.exposingStreams} streams at the peak`,
    )
    assert.ok(
      peak.forwardingStreams >= CONNECTIONS,
      `the forwarding node held ${peak.forwardingStreams} streams at the peak`,
    )
    assert.equal(peak.forwardConnections, CONNECTIONS, '-L held every local connection')
    assert.equal(fwd.counters.accepted, CONNECTIONS)
    assert.equal(fwd.counters.refusedLimit, 0)
    assert.deepEqual(fwd.counters.failed, {}, 'no forwarded connection failed')
  })
})
