/**
 * The running forwards of a node (docs/forwarding.md), in OpenSSH's terms:
 *
 *   local (-L)    a TCP listener here; each connection becomes a stream to NAME:port
 *   dynamic (-D)  a TCP listener here speaking SOCKS5; each CONNECT to NAME.semos:port
 *                 becomes a stream to NAME:port, answered once the peer took it
 *   expose (-R)   streams peers open to an overlay port, if the allow-list names them,
 *                 become TCP connections to a local service
 *
 * Local connections are never closed because the network went away (a suspended
 * session only holds bytes back); they end when the application or the remote
 * service ends them, or a limit is reached.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { CodedError } from '../core/coded-error.ts'
import type { DynamicForward, ExposeForward, ForwardSpec, LocalForward } from './forward-spec.ts'
import {
  encodeReply,
  REPLY_CONNECTION_REFUSED,
  REPLY_GENERAL_FAILURE,
  REPLY_HOST_UNREACHABLE,
  REPLY_NOT_ALLOWED,
  REPLY_SUCCEEDED,
  type ReplyCode,
  Socks5Handshake,
  semosNameFromHost,
} from './socks5.ts'
import { splice } from './splice.ts'

/** Local connections a node carries at once, over all its forwards (issue: at least 1,000). */
export const DEFAULT_MAX_CONNECTIONS = 4096
/** A SOCKS client must finish its handshake within this. */
export const SOCKS_HANDSHAKE_TIMEOUT_MS = 10_000

export type ForwardErrorCode = 'port-in-use' | 'bad-address' | 'unknown-name' | 'exists'

export class ForwardError extends CodedError<ForwardErrorCode> {}

/** Turns a name or an alias into a name, or undefined (no such name or alias). */
export type ResolveName = (nameOrAlias: string) => string | undefined

/**
 * What forwards need of a node: the library's stream API (SemosNode has it). Streams
 * fail with an error whose `code` says why (`not-found`, `unreachable`, `refused`,
 * `forbidden`, …) and emit 'connect' once the peer took them.
 */
export interface StreamNode {
  connect(peerName: string, port: number): Duplex
  listen(
    port: number,
    handler: (stream: Duplex, peerName: string) => void,
    options?: { readonly allow?: (peerName: string) => boolean },
  ): void
  unlisten(port: number): void
}

export interface ForwardsInit {
  readonly node: StreamNode
  readonly resolve?: ResolveName
  readonly maxConnections?: number
  /** Who may use an exposed port when its spec names nobody (default: nobody). */
  readonly defaultAllow?: (peerName: string) => boolean
}

/** One forward as `semos status` lists it. */
export interface ForwardInfo {
  readonly id: string
  readonly spec: ForwardSpec
  /** For a listener: the address actually bound (port 0 resolved). */
  readonly bound: string | undefined
  readonly connections: number
  /** Who may use an expose: '*' for anyone, else names. */
  readonly allow?: readonly string[] | '*'
}

interface Running {
  readonly spec: ForwardSpec
  readonly server: Server | undefined
  readonly allow?: readonly string[] | '*'
  readonly sockets: Set<Socket>
  bound: string | undefined
}

export class Forwards {
  readonly #node: StreamNode
  readonly #resolve: ResolveName
  readonly #maxConnections: number
  readonly #defaultAllow: (peerName: string) => boolean
  readonly #running = new Map<string, Running>()
  #connections = 0
  /** Counters for status and metrics. */
  readonly counters = { accepted: 0, refusedLimit: 0, failed: {} as Record<string, number> }
  /** Bytes of closed local connections: `in` from the peers to the applications, `out` back. */
  readonly bytes = { in: 0, out: 0 }

  constructor(init: ForwardsInit) {
    this.#node = init.node
    this.#resolve = init.resolve ?? ((n) => n)
    this.#maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
    this.#defaultAllow = init.defaultAllow ?? (() => false)
  }

  /** Local connections open now, over all forwards. */
  get connections(): number {
    return this.#connections
  }

  list(): ForwardInfo[] {
    return [...this.#running].map(([id, r]) => ({
      id,
      spec: r.spec,
      bound: r.bound,
      connections: r.sockets.size,
      ...(r.allow !== undefined && { allow: r.allow }),
    }))
  }

  /**
   * Starts a forward; resolves once it listens. Throws ForwardError: `exists` (the same
   * forward runs), `port-in-use`, `bad-address` (cannot bind there), `unknown-name`
   * (a -L target that is neither a name nor an alias).
   */
  async add(spec: ForwardSpec, allow?: readonly string[] | '*'): Promise<ForwardInfo> {
    const id = forwardId(spec)
    if (this.#running.has(id)) throw new ForwardError('exists', `${id} is running already`)
    if (spec.kind === 'expose') return this.#expose(id, spec, allow)
    if (spec.kind === 'local' && this.#resolve(spec.target.name) === undefined) {
      throw new ForwardError('unknown-name', `unknown name '${spec.target.name}'`)
    }
    const sockets = new Set<Socket>()
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.#accept(spec, socket, sockets),
    )
    await listen(server, spec.bind.host, spec.bind.port)
    const a = server.address()
    const port = a !== null && typeof a === 'object' ? a.port : spec.bind.port
    const bound =
      a !== null && typeof a === 'object' ? `${hostText(a.address)}:${a.port}` : undefined
    // Port 0 ("any free port") is known only now: the forward is named by the one it got.
    const named = { ...spec, bind: { ...spec.bind, port } }
    const realId = forwardId(named)
    this.#running.set(realId, { spec: named, server, sockets, bound })
    return this.list().find((f) => f.id === realId) as ForwardInfo
  }

  /** Stops a forward: its listener closes; connections already open stay. Whether it ran. */
  async remove(id: string): Promise<boolean> {
    const r = this.#running.get(id)
    if (r === undefined) return false
    this.#running.delete(id)
    if (r.spec.kind === 'expose') this.#node.unlisten(r.spec.port)
    // Stops listening at once; close's callback would wait for every open connection.
    r.server?.close()
    return true
  }

  /** Stops every forward and resets every connection. */
  async close(): Promise<void> {
    const all = [...this.#running.values()]
    await Promise.all([...this.#running.keys()].map((id) => this.remove(id)))
    for (const r of all) for (const s of r.sockets) s.resetAndDestroy()
  }

  // ---- local and dynamic ----

  #accept(spec: LocalForward | DynamicForward, socket: Socket, sockets: Set<Socket>): void {
    if (!this.#admit(socket, sockets)) return
    if (spec.kind === 'local') {
      const name = this.#resolve(spec.target.name)
      if (name === undefined) {
        socket.resetAndDestroy()
        return
      }
      splice(socket, this.#node.connect(name, spec.target.port), (e) => this.#failed(e))
      return
    }
    this.#socks(socket)
  }

  /** Counts a new connection, or refuses it (a reset) past the limit. */
  #admit(socket: Socket, sockets: Set<Socket>): boolean {
    socket.on('error', () => {})
    if (this.#connections >= this.#maxConnections) {
      this.counters.refusedLimit++
      socket.resetAndDestroy()
      return false
    }
    this.#connections++
    this.counters.accepted++
    sockets.add(socket)
    socket.once('close', () => {
      this.#connections--
      sockets.delete(socket)
      this.bytes.in += socket.bytesWritten
      this.bytes.out += socket.bytesRead
    })
    return true
  }

  #failed(error: Error | undefined): void {
    if (error === undefined) return
    const code = (error as { code?: string }).code ?? 'error'
    this.counters.failed[code] = (this.counters.failed[code] ?? 0) + 1
  }

  #socks(socket: Socket): void {
    const handshake = new Socks5Handshake()
    socket.setTimeout(SOCKS_HANDSHAKE_TIMEOUT_MS, () => socket.destroy())
    const fail = (bytes: Uint8Array): void => {
      socket.end(bytes)
      socket.destroySoon()
    }
    const onData = (chunk: Buffer): void => {
      const result = handshake.push(chunk)
      if (!result.ok) {
        socket.off('data', onData)
        fail(result.send)
        return
      }
      for (const e of result.value) {
        if (e.type === 'greeting') {
          socket.write(e.reply)
          continue
        }
        socket.off('data', onData)
        socket.pause()
        socket.setTimeout(0)
        const label = semosNameFromHost(e.target.host)
        const name = label === undefined ? undefined : this.#resolve(label)
        if (name === undefined) {
          // Not a peer: only NAME.semos (or an alias) is reachable through this proxy.
          fail(encodeReply(label === undefined ? REPLY_NOT_ALLOWED : REPLY_HOST_UNREACHABLE))
          return
        }
        const stream = this.#node.connect(name, e.target.port)
        if (e.rest.length > 0) stream.write(e.rest)
        this.#answerSocks(socket, stream)
      }
    }
    socket.on('data', onData)
  }

  /** Replies to the SOCKS client when the peer took the stream (or refused it), then splices. */
  #answerSocks(socket: Socket, stream: Duplex): void {
    const onError = (error: Error): void => {
      stream.off('connect', onConnect)
      this.#failed(error)
      const code = (error as { code?: string }).code
      socket.end(encodeReply(socksReplyFor(code)))
      socket.destroySoon()
    }
    const onConnect = (): void => {
      stream.off('error', onError)
      socket.write(encodeReply(REPLY_SUCCEEDED))
      socket.resume()
      splice(socket, stream, (e) => this.#failed(e))
    }
    stream.once('error', onError)
    stream.once('connect', onConnect)
  }

  // ---- expose ----

  async #expose(
    id: string,
    spec: ExposeForward,
    allow?: readonly string[] | '*',
  ): Promise<ForwardInfo> {
    const allowed =
      allow === '*'
        ? () => true
        : allow !== undefined && allow.length > 0
          ? (peer: string) => allow.includes(peer)
          : this.#defaultAllow
    const sockets = new Set<Socket>()
    try {
      this.#node.listen(
        spec.port,
        (stream) => {
          const socket = tcpConnect({
            host: spec.service.host,
            port: spec.service.port,
            allowHalfOpen: true,
          })
          socket.setNoDelay(true)
          if (!this.#admit(socket, sockets)) {
            stream.destroy()
            return
          }
          // Until the service answers, the stream's bytes wait in it (backpressure). A
          // stream reset meanwhile (the peer gave up, the node closes) abandons the
          // connect; it must never be an uncaught 'error' that takes the daemon down.
          const early = (e: Error): void => {
            this.#failed(e)
            socket.resetAndDestroy()
          }
          stream.once('error', early)
          socket.once('connect', () => {
            stream.off('error', early)
            splice(socket, stream, (e) => this.#failed(e))
          })
          socket.once('error', (e) => {
            stream.off('error', early)
            this.#failed(e)
            stream.destroy()
          })
        },
        { allow: allowed },
      )
    } catch (error) {
      throw new ForwardError(
        'port-in-use',
        `overlay port ${spec.port}: ${(error as Error).message}`,
      )
    }
    this.#running.set(id, {
      spec,
      server: undefined,
      sockets,
      bound: undefined,
      ...(allow !== undefined && { allow }),
    })
    return this.list().find((f) => f.id === id) as ForwardInfo
  }
}

/** The SOCKS reply for a stream that failed with `code`. */
export function socksReplyFor(code: string | undefined): ReplyCode {
  switch (code) {
    case 'not-found':
    case 'unreachable':
      return REPLY_HOST_UNREACHABLE
    case 'refused':
      return REPLY_CONNECTION_REFUSED
    case 'forbidden':
      return REPLY_NOT_ALLOWED
    default:
      return REPLY_GENERAL_FAILURE
  }
}

/** A forward's identity: its kind and where it listens (one forward per listening place). */
export function forwardId(spec: ForwardSpec): string {
  switch (spec.kind) {
    case 'local':
      return `L ${hostText(spec.bind.host)}:${spec.bind.port}`
    case 'dynamic':
      return `D ${hostText(spec.bind.host)}:${spec.bind.port}`
    case 'expose':
      return `R ${spec.port}`
  }
}

function hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** Listens, turning the usual failures into one-line ForwardErrors. */
/** Pending connects a forward's listener holds (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${hostText(host)}:${port}`
      if (error.code === 'EADDRINUSE') reject(new ForwardError('port-in-use', `${where} is in use`))
      else
        reject(
          new ForwardError(
            'bad-address',
            `cannot listen on ${where}: ${error.code ?? error.message}`,
          ),
        )
    }
    server.once('error', onError)
    // A burst of connects beyond Node's default backlog (511) would be reset by the
    // kernel before this process ever saw them.
    server.listen({ host: host === '*' ? undefined : host, port, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
