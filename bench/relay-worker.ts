/**
 * One participant of the relay bench, in its own thread: a raw TCP sink, pump
 * (relay) or source, or a whole overlay daemon (relay-overlay.ts). It answers
 * the main thread's requests (relay-protocol.ts) and measures its own CPU time
 * with process.threadCpuUsage(), so that each thread is charged for itself.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { parentPort, workerData } from 'node:worker_threads'
import { OverlayRole } from './relay-overlay.ts'
import type {
  OverlayFigures,
  Ready,
  Reply,
  Request,
  Snapshot,
  WorkerSpec,
} from './relay-protocol.ts'

/** What a participant does; the harness below turns requests into these calls. */
export interface Role {
  start(): Promise<Ready>
  send(dest: string, payloadBytes: number): void
  figures(): Promise<Figures> | Figures
  stop(): Promise<void>
}

export interface Figures {
  readonly bytesIn: number
  readonly framesIn: number
  readonly framesOut: number
  readonly overlay?: OverlayFigures
}

const HOST = '127.0.0.1'

/** Counts every byte received on every accepted connection. */
class TcpSink implements Role {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #bytesIn = 0

  constructor() {
    this.#server = createServer({ noDelay: true }, (socket) => {
      this.#sockets.add(socket)
      socket.on('data', (chunk: Buffer) => {
        this.#bytesIn += chunk.length
      })
      socket.on('error', () => {})
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  start(): Promise<Ready> {
    return listen(this.#server)
  }

  send(): void {
    throw new Error('a sink does not send')
  }

  figures(): Figures {
    return { bytesIn: this.#bytesIn, framesIn: 0, framesOut: 0 }
  }

  stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((done) => this.#server.close(() => done()))
  }
}

/** A plain byte pump: each accepted connection is piped to a new connection to the target. */
class TcpPump implements Role {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()

  constructor(targetPort: number) {
    this.#server = createServer({ noDelay: true }, (inbound) => {
      const outbound = connect({ host: HOST, port: targetPort, noDelay: true })
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => this.#sockets.delete(s))
      }
      inbound.pipe(outbound)
    })
  }

  start(): Promise<Ready> {
    return listen(this.#server)
  }

  send(): void {
    throw new Error('a pump does not send')
  }

  figures(): Figures {
    return { bytesIn: 0, framesIn: 0, framesOut: 0 }
  }

  stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((done) => this.#server.close(() => done()))
  }
}

/** Writes one payload after another, as fast as write()'s backpressure allows. */
class TcpSource implements Role {
  readonly #targetPort: number
  readonly #payload: Buffer
  #socket: Socket | undefined
  #framesOut = 0
  #stopped = false

  constructor(targetPort: number, payloadBytes: number) {
    this.#targetPort = targetPort
    this.#payload = Buffer.alloc(payloadBytes, 0x5a)
  }

  start(): Promise<Ready> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: HOST, port: this.#targetPort, noDelay: true })
      this.#socket = socket
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        socket.on('error', () => {})
        socket.on('drain', () => this.#pump())
        this.#pump()
        resolve({})
      })
    })
  }

  send(): void {
    throw new Error('a TCP source sends from the start')
  }

  /** Writes until write() says the buffer is full ('drain' resumes), yielding now and then. */
  #pump(): void {
    const socket = this.#socket
    if (socket === undefined || this.#stopped) return
    for (let i = 0; i < 256; i++) {
      this.#framesOut++
      if (!socket.write(this.#payload)) return
    }
    setImmediate(() => this.#pump())
  }

  figures(): Figures {
    return { bytesIn: 0, framesIn: 0, framesOut: this.#framesOut }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#socket?.destroy()
  }
}

function listen(server: Server): Promise<Ready> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const a = server.address()
      resolve({ port: a !== null && typeof a === 'object' ? a.port : 0 })
    })
  })
}

function roleOf(spec: WorkerSpec): Role {
  switch (spec.role) {
    case 'tcp-sink':
      return new TcpSink()
    case 'tcp-pump':
      return new TcpPump(spec.targetPort)
    case 'tcp-source':
      return new TcpSource(spec.targetPort, spec.payloadBytes)
    case 'overlay':
      return new OverlayRole(spec)
  }
}

function cpuUs(): number {
  const u = process.threadCpuUsage()
  return u.user + u.system
}

async function answer(role: Role, req: Request): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      return role.start()
    case 'send':
      role.send(req.dest, req.payloadBytes)
      return {}
    case 'snapshot': {
      const f = await role.figures()
      const snapshot: Snapshot = { ...f, tMs: performance.now(), cpuUs: cpuUs() }
      return snapshot
    }
    case 'stop':
      await role.stop()
      return {}
  }
}

const port = parentPort
if (port === null) throw new Error('relay-worker.ts runs as a worker thread')
const role = roleOf(workerData as WorkerSpec)
port.on('message', (req: Request) => {
  answer(role, req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies Reply),
    (err: unknown) =>
      port.postMessage({ id: req.id, ok: false, error: String(err) } satisfies Reply),
  )
})
