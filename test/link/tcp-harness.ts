/**
 * Loopback helpers for the TCP driver tests: listeners and dialled links that are
 * cleaned up after each test whatever happens, raw sockets, and a relay whose
 * forwarding a test can stop, to fake a peer that is connected but silent.
 */
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import type { Identity } from '../../src/identity/keys.ts'
import { LinkListener, type LinkListenerInit } from '../../src/link/link-listener.ts'
import {
  type DialInit,
  dialLink,
  type TcpLink,
  type TcpLinkCloseReason,
} from '../../src/link/tcp-link.ts'

export const HOST = '127.0.0.1'

/** A link with its events recorded from the moment it was made. */
export interface Watched {
  readonly link: TcpLink
  /** Resolves to the peer name; rejects if the link closes first. */
  readonly open: Promise<string>
  readonly closed: Promise<{ reason: TcpLinkCloseReason; detail: string }>
  readonly data: Uint8Array[]
  /** How many 'closed' events were emitted (must end at 1). */
  closes: number
}

export function watch(link: TcpLink): Watched {
  const data: Uint8Array[] = []
  let closes = 0
  const closed = new Promise<{ reason: TcpLinkCloseReason; detail: string }>((resolve) => {
    link.on('closed', (reason, detail) => {
      closes++
      resolve({ reason, detail })
    })
  })
  const open = new Promise<string>((resolve, reject) => {
    link.once('open', resolve)
    link.once('closed', (reason, detail) =>
      reject(new Error(`closed before open: ${reason}: ${detail}`)),
    )
  })
  open.catch(() => {}) // a test that expects a failure never awaits `open`
  link.on('data', (p) => data.push(p))
  return {
    link,
    open,
    closed,
    data,
    get closes() {
      return closes
    },
  }
}

/** The next 'data' payload of `link`. */
export async function nextData(link: TcpLink): Promise<Uint8Array> {
  const [payload] = (await once(link, 'data')) as [Uint8Array]
  return payload
}

export interface TestNode {
  readonly listener: LinkListener
  readonly port: number
  /** The next link this listener hands to onLink (already open). */
  accepted(): Promise<Watched>
  /** Dials this node's listener; the link is destroyed after the test. */
  dial(init: DialInit): Watched
}

/** A listener for `identity` on 127.0.0.1, port 0; it and every link are closed after the test. */
export async function startNode(
  t: TestContext,
  identity: Identity,
  opts: Partial<LinkListenerInit> = {},
): Promise<TestNode> {
  const links: TcpLink[] = []
  const ready: Watched[] = []
  const waiting: ((w: Watched) => void)[] = []
  const listener = new LinkListener({
    identity,
    ...opts,
    onLink: (link) => {
      const w = watch(link)
      links.push(link)
      opts.onLink?.(link)
      const waiter = waiting.shift()
      if (waiter) waiter(w)
      else ready.push(w)
    },
  })
  t.after(() => {
    listener.close()
    for (const l of links) l.destroy()
  })
  const { port } = await listener.listen({ host: HOST, port: 0 })
  return {
    listener,
    port,
    accepted: () => {
      const w = ready.shift()
      return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve))
    },
    dial: (init) => dialTo(t, port, init),
  }
}

/** Dials 127.0.0.1:`port`; the link is destroyed after the test. */
export function dialTo(t: TestContext, port: number, init: DialInit): Watched {
  const link = dialLink(HOST, port, init)
  t.after(() => link.destroy())
  return watch(link)
}

/** A raw client socket, connected and reading (so it sees the server's FIN); destroyed after the test. */
export async function rawClient(t: TestContext, port: number): Promise<Socket> {
  const socket = connect({ host: HOST, port })
  t.after(() => socket.destroy())
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.resume()
  return socket
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface Relay {
  readonly port: number
  /** Stops reading from the dialler: its writes back up while the other way still flows. */
  pauseUpstream(): void
  resumeUpstream(): void
  /** Stops forwarding both ways, connections left open: a dead but connected peer. */
  stall(): void
}

/** A TCP relay to 127.0.0.1:`target` whose forwarding the test controls. */
export async function startRelay(t: TestContext, target: number): Promise<Relay> {
  const pairs: [up: Socket, down: Socket][] = []
  const server: Server = createServer((up) => {
    const down = connect({ host: HOST, port: target })
    for (const [from, to] of [
      [up, down],
      [down, up],
    ] as const) {
      from.on('data', (chunk) => to.write(chunk))
      from.on('error', () => {})
      from.on('close', () => to.destroy())
    }
    pairs.push([up, down])
  })
  t.after(() => {
    server.close()
    for (const [up, down] of pairs) {
      up.destroy()
      down.destroy()
    }
  })
  server.listen(0, HOST)
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    pauseUpstream: () => {
      for (const [up] of pairs) up.pause()
    },
    resumeUpstream: () => {
      for (const [up] of pairs) up.resume()
    },
    stall: () => {
      for (const [up, down] of pairs) {
        up.pause()
        down.pause()
      }
    },
  }
}
