/**
 * `npm run bench -- session`: the session layer's three figures, each beside a
 * baseline measured in the same run, on 127.0.0.1.
 *
 *   1. bulk throughput through one stream (receiver's node = the root, the sender
 *      joined through it: one overlay hop), beside raw TCP loopback (two sockets);
 *      and beside the sealed floor (bench/sealed-floor.ts: the same bytes sealed into
 *      AES-256-GCM records with nothing else: the least work any Node design does);
 *      MB/s at the receiver, CPU seconds per GB (process.threadCpuUsage per worker)
 *   2. set-up of a first stream to a name in no cache (DHT lookup + Noise IK handshake):
 *      connect(name, port) → first byte of the listener's one-byte reply, over
 *      --targets fresh target nodes, beside a TCP connect + one-byte reply
 *   3. resumption: during a continuous transfer the sender's node is cut off
 *      (disconnect), stays off --gap-ms, re-joins through another member
 *      (reconnect): reconnect → first new byte at the receiver, over --moves moves,
 *      beside a fresh TCP connect + first byte (measured during each gap, idle)
 *
 * Every participant (node or socket end) runs in its own worker thread: this file
 * is both the main thread's bench and, started as a worker, the participant (a
 * small request/reply host, `Host` below). Times that cross threads use
 * performance.timeOrigin + performance.now(), one clock for the whole process.
 * A benchmark reports; it asserts nothing.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createNode, type SemosNode, type SessionInfo } from '../src/node/semos-node.ts'
import { Opener, Sealer } from './sealed-floor.ts'

const HOST = '127.0.0.1'
const CHUNK_BYTES = 1024 * 1024
const SINK_PORT = 9
const REPLY_PORT = 7
/** After a target node has joined: time for its name record's put to reach its owners. */
const TARGET_SETTLE_MS = 250
/** Before each move: let the resumed transfer run again at full speed. */
const STEADY_MS = 500
const STOP_TIMEOUT_MS = 5000
const WORKER_FLAG = 'semos-session-bench'

/** One clock for all threads of the process, in ms. */
const absMs = (): number => performance.timeOrigin + performance.now()

function cpuUs(): number {
  const u = process.threadCpuUsage()
  return u.user + u.system
}

/** Resolves on the stream's next 'drain' or 'close', leaving no listener behind. */
function drainOrClose(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

// ---------------------------------------------------------------- the participant (a worker)

type Req = { readonly id: number; readonly cmd: string; readonly [k: string]: unknown }

interface Delivered {
  readonly bytes: number
  readonly firstMs: number
  readonly lastMs: number
}

/** What one worker thread runs: nodes, sockets, and the counters of what they received. */
class Host {
  readonly #nodes = new Map<string, SemosNode>()
  readonly #servers = new Set<Server>()
  readonly #sockets = new Set<Socket>()
  readonly #streams = new Set<Duplex>()
  readonly #payload = randomBytes(CHUNK_BYTES)
  /** Bytes received by every sink of this thread. */
  #bytesIn = 0
  #firstMs = 0
  #lastMs = 0
  #ended: ((d: Delivered) => void) | undefined
  /** Armed: the time of the next byte any sink receives goes here. */
  #armed: ((t: number) => void) | undefined
  #nextArmed: Promise<number> | undefined
  #continuous: { stop: boolean } | undefined
  readonly #sessionEvents: string[] = []

  #data(n: number): void {
    const t = absMs()
    if (this.#bytesIn === 0) this.#firstMs = t
    this.#bytesIn += n
    this.#lastMs = t
    const armed = this.#armed
    if (armed !== undefined) {
      this.#armed = undefined
      armed(t)
    }
  }

  #ended_(): void {
    this.#ended?.({ bytes: this.#bytesIn, firstMs: this.#firstMs, lastMs: this.#lastMs })
  }

  #node(key: unknown): SemosNode {
    const node = this.#nodes.get(String(key))
    if (node === undefined) throw new Error(`no node ${String(key)}`)
    return node
  }

  async #listenTcp(onSocket: (s: Socket) => void): Promise<number> {
    const server = createServer({ noDelay: true }, (s) => {
      this.#sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => this.#sockets.delete(s))
      onSocket(s)
    })
    this.#servers.add(server)
    server.listen(0, HOST)
    await once(server, 'listening')
    const a = server.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }

  #dialTcp(port: number): Socket {
    const s = tcpConnect({ host: HOST, port, noDelay: true })
    this.#sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => this.#sockets.delete(s))
    return s
  }

  /** Writes `bytes` (Infinity: until told to stop) honouring backpressure, then ends. */
  async #write(stream: Duplex, bytes: number, flag?: { stop: boolean }): Promise<void> {
    for (let sent = 0; sent < bytes && flag?.stop !== true; sent += CHUNK_BYTES) {
      const c =
        bytes - sent >= CHUNK_BYTES ? this.#payload : this.#payload.subarray(0, bytes - sent)
      if (!stream.write(c)) {
        await drainOrClose(stream)
        if (stream.destroyed) return
      }
    }
    if (flag === undefined) stream.end()
  }

  /** As #write, each chunk sealed into records first (the sealed floor's writer). */
  async #writeSealed(s: Socket, sealer: Sealer, bytes: number): Promise<void> {
    for (let sent = 0; sent < bytes; sent += CHUNK_BYTES) {
      const parts = sealer.seal(this.#payload.subarray(0, Math.min(CHUNK_BYTES, bytes - sent)))
      s.cork()
      let ok = true
      for (const p of parts) ok = s.write(p)
      s.uncork()
      if (!ok) {
        await drainOrClose(s)
        if (s.destroyed) return
      }
    }
    s.end()
  }

  async handle(req: Req): Promise<unknown> {
    switch (req.cmd) {
      case 'cpu':
        return { cpuUs: cpuUs(), bytesIn: this.#bytesIn }
      case 'node': {
        const node = await createNode({ bootstrap: (req.bootstrap as string[]) ?? [] })
        this.#nodes.set(String(req.key), node)
        node.on('session', (e: SessionInfo) => this.#sessionEvents.push(e.type))
        await node.joined()
        return { name: node.name, endpoint: node.endpoint, address: node.address }
      }
      case 'node-status': {
        const node = this.#node(req.key)
        const s = (await node.status()).overlay as { dht?: { cacheHits?: number } }
        return {
          address: node.address,
          cacheHits: s.dht?.cacheHits ?? 0,
          sessionEvents: this.#sessionEvents,
        }
      }
      case 'close-node': {
        const node = this.#node(req.key)
        this.#nodes.delete(String(req.key))
        await node.close()
        return {}
      }
      case 'sink': {
        // A node counts what any stream to SINK_PORT delivers.
        this.#node(req.key).listen(SINK_PORT, (stream) => {
          this.#streams.add(stream)
          stream.on('error', () => {})
          stream.on('data', (c: Buffer) => this.#data(c.length))
          stream.on('end', () => this.#ended_())
        })
        return {}
      }
      case 'replier': {
        // A node answers every stream to REPLY_PORT with one byte at once.
        this.#node(req.key).listen(REPLY_PORT, (stream) => {
          this.#streams.add(stream)
          stream.on('error', () => {})
          stream.write(Buffer.of(1))
          stream.resume()
        })
        return {}
      }
      case 'tcp-sink':
        return {
          port: await this.#listenTcp((s) => {
            s.on('data', (c: Buffer) => this.#data(c.length))
            s.on('end', () => this.#ended_())
          }),
        }
      case 'floor-sink':
        // The sealed floor's reader (bench/sealed-floor.ts): counts the plaintext it opens.
        return {
          port: await this.#listenTcp((s) => {
            const opener = new Opener(Buffer.from(String(req.key), 'hex'))
            s.on('data', (c: Buffer) => {
              for (const p of opener.push(c)) this.#data(p.length)
            })
            s.on('end', () => this.#ended_())
          }),
        }
      case 'tcp-replier':
        return {
          port: await this.#listenTcp((s) => {
            s.write(Buffer.of(1))
            s.resume()
          }),
        }
      case 'expect-end':
        // Resolves when a sink sees the end of its stream.
        return new Promise<Delivered>((resolve) => {
          this.#ended = resolve
        })
      case 'arm':
        this.#nextArmed = new Promise<number>((resolve) => {
          this.#armed = resolve
        })
        return {}
      case 'next-byte':
        return { t: await this.#nextArmed }
      case 'send': {
        // Bulk: `bytes` through a stream to (peer, SINK_PORT), or a TCP socket to `port`.
        const bytes = req.bytes as number
        if (req.tcp === true) {
          const s = this.#dialTcp(req.port as number)
          await once(s, 'connect')
          await this.#write(s, bytes)
          return {}
        }
        if (req.floor !== undefined) {
          const s = this.#dialTcp(req.port as number)
          await once(s, 'connect')
          await this.#writeSealed(s, new Sealer(Buffer.from(String(req.floor), 'hex')), bytes)
          return {}
        }
        const stream = this.#node(req.key).connect(String(req.peer), SINK_PORT)
        this.#streams.add(stream)
        stream.on('error', () => {})
        if (bytes === Number.POSITIVE_INFINITY || req.continuous === true) {
          this.#continuous = { stop: false }
          void this.#write(stream, Number.POSITIVE_INFINITY, this.#continuous)
          return {}
        }
        await this.#write(stream, bytes)
        return {}
      }
      case 'first-reply': {
        // connect → first byte of the reply, in ms, in this thread's clock.
        const t0 = performance.now()
        let s: Duplex
        if (req.tcp === true) s = this.#dialTcp(req.port as number)
        else {
          s = this.#node(req.key).connect(String(req.peer), REPLY_PORT)
          this.#streams.add(s)
        }
        const error = once(s, 'error').then(([e]) => {
          throw e
        })
        error.catch(() => {})
        await Promise.race([once(s, 'data'), error])
        const ms = performance.now() - t0
        s.destroy()
        return { ms }
      }
      case 'tcp-first-byte': {
        // A fresh TCP connect that writes one byte once connected; the receiver stamps it.
        const t = absMs()
        const s = this.#dialTcp(req.port as number)
        await once(s, 'connect')
        s.end(Buffer.of(1))
        return { t }
      }
      case 'disconnect':
        this.#node(req.key).disconnect()
        return { t: absMs() }
      case 'reconnect': {
        const t = absMs()
        this.#node(req.key).reconnect(req.via as string[])
        return { t }
      }
      case 'stop':
        await this.stop()
        return {}
      default:
        throw new Error(`unknown command ${req.cmd}`)
    }
  }

  async stop(): Promise<void> {
    if (this.#continuous !== undefined) this.#continuous.stop = true
    for (const s of this.#streams) s.destroy()
    for (const s of this.#sockets) s.destroy()
    await Promise.all([...this.#nodes.values()].map((n) => n.close()))
    this.#nodes.clear()
    await Promise.all(
      [...this.#servers].map((s) => new Promise<void>((done) => s.close(() => done()))),
    )
  }
}

if (!isMainThread && (workerData as { flag?: string } | null)?.flag === WORKER_FLAG) {
  const port = parentPort
  if (port === null) throw new Error('no parent port')
  const host = new Host()
  port.on('message', (req: Req) => {
    host.handle(req).then(
      (value) => port.postMessage({ id: req.id, ok: true, value }),
      (err: unknown) => port.postMessage({ id: req.id, ok: false, error: String(err) }),
    )
  })
}

// ---------------------------------------------------------------- the main thread's handle

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }

class Participant {
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>()
  #nextId = 1
  #failure: Error | undefined
  #closed = false

  constructor(label: string, all: Participant[]) {
    all.push(this)
    this.#worker = new Worker(new URL(import.meta.url), { workerData: { flag: WORKER_FLAG } })
    this.#worker.on('message', (r: Reply) => {
      const p = this.#pending.get(r.id)
      if (p === undefined) return
      this.#pending.delete(r.id)
      if (r.ok) p.resolve(r.value as never)
      else p.reject(new Error(`${label}: ${r.error}`))
    })
    this.#worker.on('error', (e) => this.#fail(e))
    this.#worker.on('exit', (code) => this.#fail(new Error(`${label} exited (${code})`)))
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: never) => void, reject })
      this.#worker.postMessage({ ...args, id, cmd })
    })
  }

  /** Stops everything in the thread (bounded wait), then terminates it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#failure === undefined) {
      const timeout = new Promise((done) => setTimeout(done, STOP_TIMEOUT_MS).unref())
      await Promise.race([this.call('stop').catch(() => {}), timeout])
    }
    await this.#worker.terminate()
  }

  #fail(e: Error): void {
    this.#failure ??= e
    for (const p of this.#pending.values()) p.reject(e)
    this.#pending.clear()
  }
}

async function closeAll(all: Participant[]): Promise<void> {
  await Promise.all(all.map((p) => p.close()))
}

interface NodeInfo {
  readonly name: string
  readonly endpoint: string
  readonly address: string
}

// ---------------------------------------------------------------- 1. throughput

interface Throughput {
  readonly mbPerS: number
  readonly cpuSPerGb: number
  readonly cpuSender: number
  readonly cpuReceiver: number
}

/** What carries the bulk transfer: a semos stream, two TCP sockets, or the sealed floor. */
type Carrier = 'semos' | 'tcp' | 'floor'

async function throughput(carrier: Carrier, bytes: number): Promise<Throughput> {
  const all: Participant[] = []
  try {
    const rx = new Participant('receiver', all)
    const tx = new Participant('sender', all)
    let send: Record<string, unknown>
    if (carrier === 'semos') {
      const root = await rx.call<NodeInfo>('node', { key: 'r' })
      await rx.call('sink', { key: 'r' })
      await tx.call('node', { key: 's', bootstrap: [root.endpoint] })
      send = { key: 's', peer: root.name, bytes }
    } else if (carrier === 'floor') {
      const key = randomBytes(32).toString('hex')
      const { port } = await rx.call<{ port: number }>('floor-sink', { key })
      send = { floor: key, port, bytes }
    } else {
      const { port } = await rx.call<{ port: number }>('tcp-sink')
      send = { tcp: true, port, bytes }
    }
    const c0 = await Promise.all([rx, tx].map((p) => p.call<{ cpuUs: number }>('cpu')))
    const ended = rx.call<Delivered>('expect-end')
    await tx.call('send', send)
    const d = await ended
    const c1 = await Promise.all([rx, tx].map((p) => p.call<{ cpuUs: number }>('cpu')))
    const cpu = (i: number): number => ((c1[i]?.cpuUs ?? 0) - (c0[i]?.cpuUs ?? 0)) / 1e6
    const gb = d.bytes / 1e9
    if (d.bytes !== bytes) process.stderr.write(`  (received ${d.bytes} of ${bytes} bytes)\n`)
    return {
      mbPerS: d.bytes / 1e6 / ((d.lastMs - d.firstMs) / 1000),
      cpuSPerGb: (cpu(0) + cpu(1)) / gb,
      cpuReceiver: cpu(0) / gb,
      cpuSender: cpu(1) / gb,
    }
  } finally {
    await closeAll(all)
  }
}

// ---------------------------------------------------------------- 2 and 3: one small overlay

interface Overlay {
  readonly all: Participant[]
  /** The root; the sink of part 3 and its TCP baseline. */
  readonly rx: Participant
  readonly root: NodeInfo
  readonly members: readonly NodeInfo[]
  /** The sender node of parts 2 and 3. */
  readonly tx: Participant
  /** Hosts the fresh target nodes of part 2 and the TCP replier. */
  readonly targets: Participant
}

async function overlay(memberCount: number): Promise<Overlay> {
  const all: Participant[] = []
  const rx = new Participant('root', all)
  const m = new Participant('members', all)
  const tx = new Participant('sender', all)
  const targets = new Participant('targets', all)
  try {
    const root = await rx.call<NodeInfo>('node', { key: 'r' })
    await rx.call('sink', { key: 'r' })
    const members: NodeInfo[] = []
    for (let i = 0; i < memberCount; i++) {
      members.push(await m.call<NodeInfo>('node', { key: `m${i}`, bootstrap: [root.endpoint] }))
    }
    await tx.call('node', { key: 's', bootstrap: [root.endpoint] })
    return { all, rx, root, members, tx, targets }
  } catch (error) {
    await closeAll(all)
    throw error
  }
}

interface SetupFigures {
  readonly semosMs: number[]
  readonly tcpMs: number[]
  readonly cacheHits: number
}

async function setupTimes(o: Overlay, count: number): Promise<SetupFigures> {
  const { port } = await o.targets.call<{ port: number }>('tcp-replier')
  const hits0 = (await o.tx.call<{ cacheHits: number }>('node-status', { key: 's' })).cacheHits
  const semosMs: number[] = []
  const tcpMs: number[] = []
  const via = [o.root, ...o.members]
  for (let i = 0; i < count; i++) {
    const key = `t${i}`
    const bootstrap = [(via[i % via.length] as NodeInfo).endpoint]
    const target = await o.targets.call<NodeInfo>('node', { key, bootstrap })
    await o.targets.call('replier', { key })
    await sleep(TARGET_SETTLE_MS)
    const s = await o.tx.call<{ ms: number }>('first-reply', { key: 's', peer: target.name })
    const t = await o.tx.call<{ ms: number }>('first-reply', { tcp: true, port })
    semosMs.push(s.ms)
    tcpMs.push(t.ms)
    await o.targets.call('close-node', { key })
    process.stderr.write(
      `  set-up ${i + 1}/${count}: semos ${s.ms.toFixed(2)} ms, TCP ${t.ms.toFixed(2)} ms\n`,
    )
  }
  const hits1 = (await o.tx.call<{ cacheHits: number }>('node-status', { key: 's' })).cacheHits
  return { semosMs, tcpMs, cacheHits: hits1 - hits0 }
}

interface ResumeFigures {
  readonly semosMs: number[]
  readonly tcpMs: number[]
  readonly addresses: string[]
  readonly sessionEvents: string[]
  readonly mbDuring: number
}

async function resumeTimes(o: Overlay, moves: number, gapMs: number): Promise<ResumeFigures> {
  const { port } = await o.rx.call<{ port: number }>('tcp-sink')
  const bytesIn = async (): Promise<number> => (await o.rx.call<{ bytesIn: number }>('cpu')).bytesIn
  const eventsBefore = (await o.tx.call<{ sessionEvents: string[] }>('node-status', { key: 's' }))
    .sessionEvents.length
  await o.tx.call('send', { key: 's', peer: o.root.name, continuous: true })
  const flowing = async (): Promise<void> => {
    const b0 = await bytesIn()
    while ((await bytesIn()) < b0 + 4 * CHUNK_BYTES) await sleep(10)
  }
  await flowing()
  const start = await bytesIn()
  const semosMs: number[] = []
  const tcpMs: number[] = []
  const addresses: string[] = []
  for (let i = 0; i < moves; i++) {
    await sleep(STEADY_MS)
    await o.tx.call('disconnect', { key: 's' })
    const gapStart = absMs()
    // The baseline, while the transfer is stalled (both threads idle): TCP connect + 1 byte.
    await sleep(Math.min(gapMs / 2, 500))
    await o.rx.call('arm')
    const tcpNext = o.rx.call<{ t: number }>('next-byte')
    const { t: tcp0 } = await o.tx.call<{ t: number }>('tcp-first-byte', { port })
    tcpMs.push((await tcpNext).t - tcp0)
    await sleep(Math.max(0, gapStart + gapMs - absMs()))
    await o.rx.call('arm')
    const next = o.rx.call<{ t: number }>('next-byte')
    const via = [(o.members[i % o.members.length] as NodeInfo).endpoint]
    const { t: t0 } = await o.tx.call<{ t: number }>('reconnect', { key: 's', via })
    const ms = (await next).t - t0
    semosMs.push(ms)
    const s = await o.tx.call<{ address: string }>('node-status', { key: 's' })
    addresses.push(s.address)
    process.stderr.write(
      `  move ${i + 1}/${moves}: first new byte ${ms.toFixed(1)} ms after reconnect (TCP connect + byte ${(tcpMs.at(-1) as number).toFixed(2)} ms), address ${s.address}\n`,
    )
    await flowing()
  }
  const status = await o.tx.call<{ sessionEvents: string[] }>('node-status', { key: 's' })
  return {
    semosMs,
    tcpMs,
    addresses,
    sessionEvents: status.sessionEvents.slice(eventsBefore),
    mbDuring: ((await bytesIn()) - start) / 1e6,
  }
}

// ---------------------------------------------------------------- report

function median(xs: readonly number[]): number {
  const s = [...xs].sort((p, q) => p - q)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

const max = (xs: readonly number[]): number => Math.max(...xs)

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), sep, ...rows.map(line)].join('\n')
}

interface Options {
  readonly mb: number
  readonly runs: number
  readonly targets: number
  readonly moves: number
  readonly gapMs: number
  readonly members: number
}

export async function benchSession(
  args: Record<string, string | boolean | undefined>,
): Promise<void> {
  const o: Options = {
    mb: Number(args.mb ?? 200),
    runs: Number(args.runs ?? 3),
    targets: Number(args.targets ?? 20),
    moves: Number(args.moves ?? 10),
    gapMs: Number(args['gap-ms'] ?? 2000),
    members: Number(args.members ?? 4),
  }
  for (const [k, v] of Object.entries(o)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`--${k}: a positive integer, got ${v}`)
  }
  const only = args.only
  if (only !== undefined && !['throughput', 'setup', 'resume'].includes(String(only))) {
    throw new Error(`--only: throughput, setup or resume, got ${only}`)
  }
  const wanted = (part: string): boolean => only === undefined || only === part
  const bytes = o.mb * 1e6
  const tcpRuns: Throughput[] = []
  const floorRuns: Throughput[] = []
  const semosRuns: Throughput[] = []
  for (let run = 1; run <= (wanted('throughput') ? o.runs : 0); run++) {
    const t = await throughput('tcp', bytes)
    const f = await throughput('floor', bytes)
    const s = await throughput('semos', bytes)
    tcpRuns.push(t)
    floorRuns.push(f)
    semosRuns.push(s)
    process.stderr.write(
      `run ${run}: raw TCP ${t.mbPerS.toFixed(0)} MB/s, sealed floor ${f.mbPerS.toFixed(0)} MB/s, semos ${s.mbPerS.toFixed(1)} MB/s\n`,
    )
  }
  const net = await overlay(o.members)
  let setup: SetupFigures = { semosMs: [], tcpMs: [], cacheHits: 0 }
  let resume: ResumeFigures = {
    semosMs: [],
    tcpMs: [],
    addresses: [],
    sessionEvents: [],
    mbDuring: 0,
  }
  try {
    if (wanted('setup')) setup = await setupTimes(net, o.targets)
    if (wanted('resume')) resume = await resumeTimes(net, o.moves, o.gapMs)
  } finally {
    await closeAll(net.all)
  }
  process.stdout.write(report(o, tcpRuns, floorRuns, semosRuns, setup, resume))
}

function report(
  o: Options,
  tcp: Throughput[],
  floor: Throughput[],
  semos: Throughput[],
  setup: SetupFigures,
  resume: ResumeFigures,
): string {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—')
  const mTcp = median(tcp.map((t) => t.mbPerS))
  const mSemos = median(semos.map((t) => t.mbPerS))
  const mFloor = median(floor.map((t) => t.mbPerS))
  const cpuT = median(tcp.map((t) => t.cpuSPerGb))
  const cpuS = median(semos.map((t) => t.cpuSPerGb))
  const sMed = median(setup.semosMs)
  const sBase = median(setup.tcpMs)
  const rMed = median(resume.semosMs)
  const rBase = median(resume.tcpMs)
  const rows = [
    [
      `1. bulk throughput, one stream (median of ${o.runs}, ${o.mb} MB each)`,
      `${f(mSemos, 1)} MB/s`,
      '—',
      `${f(mTcp, 0)} MB/s`,
      f(mSemos / mTcp, 3),
      '≥ 0.5 of TCP',
    ],
    [
      '   CPU s per GB (sender + receiver threads)',
      f(cpuS, 2),
      '—',
      f(cpuT, 2),
      f(cpuS / cpuT, 1),
      '',
    ],
    [
      '   the sealed floor: AES-256-GCM records and nothing else',
      `${f(mFloor, 1)} MB/s`,
      '—',
      `${f(mTcp, 0)} MB/s`,
      f(mFloor / mTcp, 3),
      `semos ${f(mSemos / mFloor, 2)} of it`,
    ],
    [
      `2. first stream to a fresh name (${setup.semosMs.length} targets)`,
      `${f(sMed, 2)} ms`,
      `${f(max(setup.semosMs), 2)} ms`,
      `${f(sBase, 3)} ms`,
      f(sMed / sBase, 1),
      '≤ 10 ms',
    ],
    [
      `3. resumption after a ${o.gapMs} ms outage (${resume.semosMs.length} moves)`,
      `${f(rMed, 1)} ms`,
      `${f(max(resume.semosMs), 1)} ms`,
      `${f(rBase, 3)} ms`,
      f(rMed / rBase, 1),
      '≤ 200 ms',
    ],
  ]
  const header = ['figure', 'semos median', 'semos max', 'baseline median', 'ratio', 'goal']
  const perRun = (xs: Throughput[]): string => xs.map((t) => t.mbPerS.toFixed(1)).join(', ')
  const cpuSplit = (xs: Throughput[]): string =>
    `sender ${f(median(xs.map((t) => t.cpuSender)), 2)}, receiver ${f(median(xs.map((t) => t.cpuReceiver)), 2)}`
  const established = resume.sessionEvents.filter((e) => e === 'established').length
  const resumed = resume.sessionEvents.filter((e) => e === 'resumed').length
  const suspended = resume.sessionEvents.filter((e) => e === 'suspended').length
  return [
    `session bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, 127.0.0.1, each participant in its own worker thread; 1 MB = 10^6 bytes`,
    `command: npm run bench -- session --mb ${o.mb} --runs ${o.runs} --targets ${o.targets} --moves ${o.moves} --gap-ms ${o.gapMs} --members ${o.members}`,
    '',
    table(header, rows),
    '',
    'baselines: 1. two net sockets on loopback; 2. TCP connect + one-byte reply; 3. fresh TCP connect + first byte at the receiver (measured idle, during each gap)',
    `1. per run, MB/s: semos ${perRun(semos)}; sealed floor ${perRun(floor)}; raw TCP ${perRun(tcp)}`,
    `1. CPU s/GB by thread: semos ${cpuSplit(semos)}; sealed floor ${cpuSplit(floor)}; raw TCP ${cpuSplit(tcp)}`,
    '1. the sealed floor (bench/sealed-floor.ts): one AES-256-GCM seal per 64 KiB record with node:crypto, a u32 length, a TCP write; opened as the socket delivers it — no headers, ACKs, windows or retransmission buffer: the least work any Node design sealing with node:crypto does, one thread per end',
    `2. semos ms: ${setup.semosMs.map((x) => x.toFixed(1)).join(' ')}; sender's name-cache hits during the trials: ${setup.cacheHits}`,
    `3. semos ms: ${resume.semosMs.map((x) => x.toFixed(1)).join(' ')}; TCP ms: ${resume.tcpMs.map((x) => x.toFixed(2)).join(' ')}`,
    `3. sender's session events during the moves: ${established} established, ${suspended} suspended, ${resumed} resumed; ${f(resume.mbDuring, 0)} MB delivered across the moves; addresses ${resume.addresses.join(' ')}`,
    '',
  ].join('\n')
}
