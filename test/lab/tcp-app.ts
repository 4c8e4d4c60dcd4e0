/**
 * The lab's application: a plain TCP bulk sender and receiver, the "FTP-like
 * transfer" of the papers' experiment, knowing nothing of semos. Each runs as its
 * own process inside a host's network namespace (lab.ts starts it with
 * `ip netns exec`), and speaks to the lab in JSON lines:
 *
 *   receiver --listen HOST:PORT
 *     out: {ev:'listening', port}
 *     (every receiver line carries conn: the connection's number, from 0)
 *          {ev:'tick', t, bytes}          every TICK_MS while a connection is open
 *          {ev:'resume', t, bytes, quietMs} the first byte after ≥ QUIET_MS without any
 *          {ev:'done', bytes, sha256}     the sender's FIN arrived
 *          {ev:'error', code, message}    the socket failed (reset, …): the app broke
 *   sender --connect HOST:PORT --rate MBPS [--chunk BYTES]
 *     in:  'stop' (a line): finish the chunk being written, then end()
 *     out: {ev:'connected'}, {ev:'done', bytes, sha256} once the FIN is written,
 *          {ev:'error', code, message}
 *
 * The sender paces itself (--rate MB/s, 10^6 bytes) so that data is in flight at
 * every moment, and honours backpressure: while the path is down its writes wait.
 * Times are wall-clock ms (Date.now()): the lab compares them across processes.
 */
import { createHash, randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'

const TICK_MS = 50
const QUIET_MS = 100
const BURST_S = 0.1

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

function hostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':')
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) }
}

function watchErrors(socket: Socket, conn?: number): void {
  socket.on('error', (err: NodeJS.ErrnoException) => {
    say({ ev: 'error', conn, code: err.code ?? 'error', message: err.message })
  })
}

function receiver(listen: string): void {
  const { host, port } = hostPort(listen)
  let conns = 0
  const server = createServer((socket) => {
    const conn = conns++
    watchErrors(socket, conn)
    const hash = createHash('sha256')
    let bytes = 0
    let last = Date.now()
    socket.on('data', (chunk: Buffer) => {
      const t = Date.now()
      if (t - last >= QUIET_MS && bytes > 0)
        say({ ev: 'resume', conn, t, bytes, quietMs: t - last })
      last = t
      bytes += chunk.length
      hash.update(chunk)
    })
    const tick = setInterval(() => say({ ev: 'tick', conn, t: Date.now(), bytes }), TICK_MS)
    socket.on('end', () => {
      say({ ev: 'done', conn, bytes, sha256: hash.digest('hex') })
      socket.end()
    })
    socket.on('close', () => clearInterval(tick))
  })
  server.listen(port, host, () => {
    const a = server.address()
    say({ ev: 'listening', port: a !== null && typeof a === 'object' ? a.port : port })
  })
}

async function sender(target: string, rateMBps: number, chunkBytes: number): Promise<void> {
  const { host, port } = hostPort(target)
  const socket = connect({ host, port })
  watchErrors(socket)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  say({ ev: 'connected' })
  let stop = false
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stop') stop = true
  })
  const hash = createHash('sha256')
  let bytes = 0
  // A token bucket: `rate` bytes a second, at most BURST_S seconds' worth at once, so
  // that after a stall (backpressure while the path is down) the sender goes on at its
  // rate rather than catching up on the time it lost.
  const rate = rateMBps * 1e6
  let credit = 0
  let lastMs = performance.now()
  while (!stop && !socket.destroyed) {
    const now = performance.now()
    credit = Math.min(credit + ((now - lastMs) / 1000) * rate, BURST_S * rate + chunkBytes)
    lastMs = now
    if (credit < chunkBytes) {
      await sleep(Math.max(1, ((chunkBytes - credit) / rate) * 1000))
      continue
    }
    credit -= chunkBytes
    const chunk = randomBytes(chunkBytes)
    hash.update(chunk)
    bytes += chunk.length
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done)
          socket.off('close', done)
          resolve()
        }
        socket.on('drain', done)
        socket.on('close', done)
      })
    }
  }
  if (socket.destroyed) return
  socket.end(() => say({ ev: 'done', bytes, sha256: hash.digest('hex') }))
  socket.resume()
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string' },
    connect: { type: 'string' },
    rate: { type: 'string', default: '10' },
    chunk: { type: 'string', default: '65536' },
  },
})
if (positionals[0] === 'receiver') receiver(values.listen ?? '127.0.0.1:0')
else if (positionals[0] === 'sender') {
  await sender(values.connect ?? '', Number(values.rate), Number(values.chunk))
} else {
  process.stderr.write(
    'usage: tcp-app.ts receiver --listen H:P | sender --connect H:P --rate MBPS\n',
  )
  process.exit(2)
}
