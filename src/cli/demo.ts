/**
 * `npm run demo`: an application's connection that outlives its network.
 *
 * Five `semos up` processes on loopback form an overlay: three members, a server and a
 * laptop. A plain TCP service on the server is exposed (`semos expose`), the laptop
 * forwards a local port to it (`semos forward -L`), and a plain TCP client sends a
 * pseudo-random payload through. Mid-transfer the laptop loses every link (as if its
 * Wi-Fi dropped), stays off for a few seconds, and comes back through a different
 * member. The client never notices: its TCP connection stays open, the session
 * suspends and resumes without a new handshake, and the payload arrives whole.
 *
 *   SEMOS_DEMO_MB (200)   payload size
 *   SEMOS_DEMO_GAP_S (5)  how long the laptop stays off the network
 *
 * Every process it starts is killed and every file removed however it ends.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server, connect as tcpConnect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, type ClusterNode } from './cluster.ts'
import { formatStatus } from './commands/status.ts'

const MiB = 1024 * 1024
const TOTAL = Math.round(positive('SEMOS_DEMO_MB', 200) * MiB)
const GAP_MS = positive('SEMOS_DEMO_GAP_S', 5) * 1000
/** The laptop goes off the network when this share of the payload has arrived. */
const CUT_AT = 0.4
const CHUNK = MiB
const tty = process.stderr.isTTY === true

const out = (s: string): boolean => process.stdout.write(s)
const short = (name: string): string => `${name.slice(0, 8)}…`
const mb = (n: number): string => (n / MiB).toFixed(0)

function positive(key: string, fallback: number): number {
  const text = process.env[key]
  if (text === undefined || text === '') return fallback
  const v = Number(text)
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`semos demo: ${key} must be a positive number, got "${text}"\n`)
    process.exit(2)
  }
  return v
}

/** The receiving application: hashes what arrives and notes when it arrives. */
class Sink {
  readonly server: Server
  readonly hash = createHash('sha256')
  received = 0
  /** performance.now() of the first byte after `markAt`, once it came. */
  firstAfterMark: number | undefined
  #markAt: number | undefined
  readonly errors: string[] = []
  readonly done: Promise<string>

  constructor() {
    let finish!: (digest: string) => void
    this.done = new Promise((resolve) => {
      finish = resolve
    })
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (chunk: Buffer) => {
        if (this.#markAt !== undefined && this.firstAfterMark === undefined) {
          this.firstAfterMark = performance.now()
        }
        this.received += chunk.length
        this.hash.update(chunk)
      })
      socket.on('error', (e) => this.errors.push(e.message))
      socket.on('end', () => {
        socket.end()
        finish(this.hash.digest('hex'))
      })
    })
  }

  /** From now on, note the next byte's arrival. */
  mark(): void {
    this.#markAt = performance.now()
    this.firstAfterMark = undefined
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return (this.server.address() as { port: number }).port
  }
}

/** One line on stderr: redrawn in place on a terminal, every 10% elsewhere. */
class Progress {
  #lastTenth = -1
  #lastDraw = 0

  draw(received: number, note: string, force = false): void {
    const share = received / TOTAL
    const now = performance.now()
    if (tty) {
      if (!force && now - this.#lastDraw < 100) return
      this.#lastDraw = now
      const width = 30
      const filled = Math.min(width, Math.round(share * width))
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`
      const line = `  [${bar}] ${(share * 100).toFixed(0).padStart(3)}%  ${mb(received)}/${mb(TOTAL)} MiB  ${note}`
      process.stderr.write(`\r${line.padEnd(100)}`)
      return
    }
    const tenth = Math.floor(share * 10)
    if (force || tenth > this.#lastTenth) {
      this.#lastTenth = tenth
      process.stderr.write(
        `  ${(share * 100).toFixed(0).padStart(3)}%  ${mb(received)}/${mb(TOTAL)} MiB  ${note}\n`,
      )
    }
  }

  /** A line of its own for something that happened, above the bar. */
  event(received: number, text: string): void {
    if (!tty) {
      process.stderr.write(`  ${text}\n`)
      return
    }
    process.stderr.write(`\r${`  ${text}`.padEnd(100)}\n`)
    this.draw(received, '', true)
  }

  /** Ends the redrawn line so that what follows starts on its own. */
  break(): void {
    if (tty) process.stderr.write('\n')
  }
}

interface SessionRow {
  readonly peerName: string
  readonly state: string
  readonly resumptions: number
  readonly lastSuspendedForMs?: number
  readonly lastResumedInMs?: number
}

interface NodeStatus {
  readonly address?: string
  readonly sessions?: SessionRow[]
}

async function main(): Promise<void> {
  const cluster = new Cluster()
  const sink = new Sink()
  const stop = (): void => {
    process.stderr.write('\nsemos demo: interrupted, cleaning up\n')
    sink.server.close()
    void cluster.destroy().then(() => process.exit(130))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await run(cluster, sink)
  } finally {
    process.removeListener('SIGINT', stop)
    process.removeListener('SIGTERM', stop)
    sink.server.close()
    await cluster.destroy()
  }
}

async function run(cluster: Cluster, sink: Sink): Promise<void> {
  out(`semos demo: a connection that outlives its network.

Five semos nodes, each its own process on loopback, form an overlay:
`)
  const m0 = await cluster.start([])
  const m1 = await cluster.start([m0.endpoint])
  const m2 = await cluster.start([m1.endpoint])
  const server = await cluster.start([m0.endpoint])
  const laptop = await cluster.start([m1.endpoint])
  const address = async (n: ClusterNode): Promise<string> =>
    ((await cluster.call(n, 'status')) as NodeStatus).address ?? '-'
  for (const [n, role] of [
    [m0, 'member (started the overlay)'],
    [m1, 'member'],
    [m2, 'member'],
    [server, 'server'],
    [laptop, `laptop, joined through member ${short(m1.name)}`],
  ] as const) {
    out(`  ${short(n.name)}  ${(await address(n)).padEnd(10)} ${role}\n`)
  }

  const sinkPort = await sink.listen()
  await cluster.call(server, 'forward-add', {
    kind: 'expose',
    spec: `80:127.0.0.1:${sinkPort}`,
    allow: [laptop.name],
  })
  const forward = (await cluster.call(laptop, 'forward-add', {
    kind: 'local',
    spec: `0:${server.name}:80`,
  })) as { bound: string }
  const port = Number(forward.bound.split(':').pop())
  out(`
The server exposes a plain TCP service (a sink that hashes what it gets) to the laptop:
  semos expose 80:127.0.0.1:${sinkPort} --allow ${short(laptop.name)}
The laptop forwards a local port to it by the server's name:
  semos forward -L ${forward.bound}:${short(server.name)}:80
A plain TCP client on the laptop sends ${mb(TOTAL)} MiB of pseudo-random bytes to ${forward.bound}.
At ${CUT_AT * 100}% the laptop drops off the network for ${GAP_MS / 1000} s, then comes back through member ${short(m2.name)}.

`)

  const client = tcpConnect({ host: '127.0.0.1', port })
  const clientErrors: string[] = []
  client.on('error', (e) => clientErrors.push(e.message))
  await once(client, 'connect')
  const sent = createHash('sha256')
  const progress = new Progress()
  const started = performance.now()
  let note = ''
  // The rate over about the last second: [time, bytes received] samples.
  const samples: [number, number][] = [[started, 0]]
  const ticker = setInterval(() => {
    const now = performance.now()
    samples.push([now, sink.received])
    while (samples.length > 2 && now - (samples[1]?.[0] ?? now) >= 1000) samples.shift()
    const [t0, b0] = samples[0] ?? [started, 0]
    const rate = now > t0 ? (sink.received - b0) / MiB / ((now - t0) / 1000) : 0
    progress.draw(sink.received, note || `${rate.toFixed(0)} MiB/s`)
  }, 100)

  const writing = (async () => {
    const chunk = Buffer.allocUnsafe(CHUNK)
    for (let at = 0; at < TOTAL; at += CHUNK) {
      const piece = chunk.subarray(0, Math.min(CHUNK, TOTAL - at))
      randomFillSync(piece)
      sent.update(piece)
      // The connection's own write buffer holds a copy: the chunk is refilled next round.
      if (!client.write(Buffer.from(piece))) await once(client, 'drain')
    }
    client.end()
  })()

  while (sink.received < TOTAL * CUT_AT) await sleep(20)
  const before = await address(laptop)
  await cluster.call(laptop, 'network-down')
  const cutAt = performance.now()
  const cutWall = Date.now() - 1
  const atCut = sink.received
  progress.event(sink.received, `${mb(atCut)} MiB delivered: the laptop drops every link`)
  let suspendedAt: number | undefined
  while (performance.now() - cutAt < GAP_MS) {
    const off = ((performance.now() - cutAt) / 1000).toFixed(1)
    const suspended = laptop.lines.find(
      (l) => l.msg === 'session suspended' && Number(l.time) >= cutWall,
    )
    if (suspendedAt === undefined && suspended !== undefined) {
      suspendedAt = Number(suspended.time)
      const after = ((suspendedAt - cutWall) / 1000).toFixed(1)
      progress.event(
        sink.received,
        `${after} s later the session suspends; the client's connection stays open`,
      )
    }
    note = `laptop off for ${off} s, session ${suspendedAt === undefined ? 'active' : 'suspended'}, client still connected`
    await sleep(100)
  }
  sink.mark()
  await cluster.call(laptop, 'network-up', { via: [m2.endpoint] })
  const upAt = performance.now()
  progress.event(
    sink.received,
    `after ${GAP_MS / 1000} s the laptop is back, re-joining through ${short(m2.name)}`,
  )
  await cluster.waitFor(laptop, (l) => l.msg === 'session resumed')
  while (sink.firstAfterMark === undefined) await sleep(5)
  note = ''
  const firstByteMs = sink.firstAfterMark - upAt
  progress.event(
    sink.received,
    `session resumed; new bytes at the server ${firstByteMs.toFixed(0)} ms after the return`,
  )

  await writing
  const received = await sink.done
  clearInterval(ticker)
  progress.draw(sink.received, 'done', true)
  progress.break()
  const seconds = (performance.now() - started) / 1000
  const after = await address(laptop)
  const status = await cluster.call(laptop, 'status')
  const row = ((status as NodeStatus).sessions ?? []).find((r) => r.peerName === server.name)
  const establishedEvents = laptop.lines.filter((l) => l.msg === 'session established').length
  const expected = sent.digest('hex')
  const intact = received === expected && sink.received === TOTAL

  out(`
Transfer: ${mb(sink.received)} MiB in ${seconds.toFixed(1)} s, ${mb(atCut)} MiB before the cut.
  sent      sha256 ${expected}
  received  sha256 ${received}   ${intact ? 'match' : 'MISMATCH'}
  client connection: ${clientErrors.length === 0 && sink.errors.length === 0 ? 'never broke' : `errors: ${[...clientErrors, ...sink.errors].join('; ')}`}
Laptop: overlay address ${before} → ${after} (re-joined through ${short(m2.name)})
Session laptop → server: ${row === undefined ? 'not found' : describe(row)}
  ${establishedEvents} handshake(s) in all: resumed, not re-established
  first new byte at the server ${firstByteMs.toFixed(0)} ms after the laptop was back on the network

The laptop's own view (semos status):
`)
  out(
    formatStatus(status as Parameters<typeof formatStatus>[0])
      .split('\n')
      .map((l) => (l === '' ? l : `  ${l}`))
      .join('\n'),
  )
  out(`
Try it: bin/semos up --help, semos expose, semos forward -L/-D (docs/forwarding.md).
The overlay repairing itself after its root dies: npm run demo:overlay.
`)
  if (!intact || clientErrors.length > 0 || sink.errors.length > 0 || row === undefined) {
    throw new Error('the transfer did not arrive intact (see above)')
  }
}

function describe(row: SessionRow): string {
  const suspended = row.lastSuspendedForMs
  const resumedIn = row.lastResumedInMs
  if (suspended === undefined) return `${row.state}, never suspended`
  return `suspended for ${(suspended / 1000).toFixed(1)} s, resumed ${resumedIn === undefined ? '' : resumedIn < 1 ? 'within a millisecond of the re-join ' : `${resumedIn.toFixed(0)} ms after the re-join `}(${row.resumptions} resumption${row.resumptions === 1 ? '' : 's'})`
}

try {
  await main()
} catch (err) {
  process.stderr.write(`semos demo: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
