/**
 * Accepts overlay links on a TCP port: each accepted socket becomes a responder
 * TcpLink, handed to `onLink` once it is open (authenticated). Links that never
 * open — garbage, failed handshakes, silence — stay with the listener: they are
 * closed by their session's limits and counted by reason in `counters`.
 *
 * At most `maxHandshaking` accepted links may be still handshaking at once;
 * sockets beyond that are destroyed on accept and counted as `handshake-limit`,
 * so a flood of idle connections costs a bounded amount of memory and timers.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { CodedError } from '../core/coded-error.ts'
import { LinkCounters } from './link-counters.ts'
import { resolveOptions } from './link-types.ts'
import { type DialInit, TcpLink } from './tcp-link.ts'

export const DEFAULT_MAX_HANDSHAKING = 64

export interface LinkListenerInit extends DialInit {
  /** Called once per accepted link, when it opens. Attach 'data'/'closed' listeners here. */
  readonly onLink: (link: TcpLink) => void
  /** Accepted links not yet open, at most. Default 64. */
  readonly maxHandshaking?: number
  /** Where closes and refusals are counted. Default: a new LinkCounters (see `counters`). */
  readonly counters?: LinkCounters
}

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** Local misuse: `bad-config` (constructor), `already-listening` (listen twice). */
export type ListenerUsageError = 'bad-config' | 'already-listening'

export class ListenerError extends CodedError<ListenerUsageError> {}

export class LinkListener {
  readonly #init: LinkListenerInit
  readonly #maxHandshaking: number
  readonly #counters: LinkCounters
  #server: Server | undefined
  #handshaking = 0

  /** Throws LinkError('bad-config') on bad link options, ListenerError on a bad bound. */
  constructor(init: LinkListenerInit) {
    resolveOptions({ ...init, initiator: false }) // refuse bad options now, not per accept
    const max = init.maxHandshaking ?? DEFAULT_MAX_HANDSHAKING
    if (!Number.isInteger(max) || max < 1) {
      throw new ListenerError('bad-config', `maxHandshaking must be a positive integer, got ${max}`)
    }
    this.#init = init
    this.#maxHandshaking = max
    this.#counters = init.counters ?? new LinkCounters()
  }

  /** Closes of accepted links by reason, and refusals (`handshake-limit`, `accept-error`). */
  get counters(): LinkCounters {
    return this.#counters
  }

  /** Accepted links that are not open and not closed yet. */
  get handshaking(): number {
    return this.#handshaking
  }

  /** The bound address while listening. */
  get address(): ListenAddress | undefined {
    const a = this.#server?.address()
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined
  }

  /** Starts listening; resolves to the bound address (port 0 picks a free port). */
  listen({ host, port }: ListenAddress): Promise<ListenAddress> {
    if (this.#server !== undefined) {
      return Promise.reject(new ListenerError('already-listening', 'listen was already called'))
    }
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket))
    this.#server = server
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#server = undefined
        reject(err)
      }
      server.once('error', onError)
      server.listen({ host, port }, () => {
        server.off('error', onError)
        // Accept failures (say EMFILE) must not crash the process: count them.
        server.on('error', () => this.#counters.count('accept-error'))
        const a = server.address() as AddressInfo
        resolve({ host: a.address, port: a.port })
      })
    })
  }

  /** Stops accepting; links already accepted (open or handshaking) are untouched. Idempotent. */
  close(): void {
    this.#server?.close()
    this.#server = undefined
  }

  #accept(socket: Socket): void {
    if (this.#handshaking >= this.#maxHandshaking) {
      socket.destroy()
      this.#counters.count('handshake-limit')
      return
    }
    const { onLink, maxHandshaking: _, ...linkInit } = this.#init
    const link = new TcpLink({ ...linkInit, socket, initiator: false, counters: this.#counters })
    this.#handshaking++
    let pending = true
    const settle = (): void => {
      if (!pending) return
      pending = false
      this.#handshaking--
    }
    link.once('closed', settle)
    link.once('open', () => {
      settle()
      onLink(link)
    })
  }
}
