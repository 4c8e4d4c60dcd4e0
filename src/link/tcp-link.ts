/**
 * The TCP driver of one overlay link: owns a net.Socket and one timer, and
 * feeds a sans-I/O LinkSession (link-session.ts) — all policy lives there.
 *
 *   1. socket 'data' → session.receive(chunk, now) → pump
 *   2. timer fires   → session.tick(now) → pump
 *   3. pump: write every takeOutgoing() chunk in order (corked: one writev),
 *      dispatch takeEvents() as 'open' / 'data' / 'closed', re-arm the timer
 *      to nextDeadlineMs()
 *   4. once closed: flush the final close record, end the socket, and destroy
 *      it if the peer has not closed its side within CLOSE_LINGER_MS
 *
 * Contract: 'closed' is emitted exactly once, whatever ends the link, and
 * nothing is emitted after it. `send` returns false while the socket holds
 * more than highWaterMarkBytes unwritten; 'drain' follows once it has emptied.
 */
import { EventEmitter } from 'node:events'
import { connect, type Socket } from 'node:net'
import { bytesLength } from '../core/bytes.ts'
import type { LinkCounters } from './link-counters.ts'
import { type CloseCode, type LinkEvent, LinkSession, type LinkState } from './link-session.ts'
import {
  CLOSE_LINGER_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK_BYTES,
  type DialInit,
  type TcpLinkCloseReason,
  type TcpLinkEvents,
  type TcpLinkInit,
} from './tcp-link-types.ts'

export * from './tcp-link-types.ts'

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])
const defaultNow = (): number => performance.now()

export class TcpLink extends EventEmitter<TcpLinkEvents> {
  static #nextId = 1
  readonly #id = TcpLink.#nextId++
  readonly #socket: Socket
  readonly #session: LinkSession
  readonly #initiator: boolean
  readonly #now: () => number
  readonly #counters: LinkCounters | undefined
  readonly #highWaterMarkBytes: number
  #connecting: boolean
  #connectDeadlineMs = Number.POSITIVE_INFINITY
  #timer: NodeJS.Timeout | undefined
  #timerAtMs = Number.POSITIVE_INFINITY
  #closed = false
  #needDrain = false
  #flushQueued = false
  /** Payload bytes sent since the last flush (their frames are queued in the session). */
  #unflushedBytes = 0
  #remoteAddress: string | undefined
  #remotePort: number | undefined
  #bytesIn = 0
  #bytesOut = 0

  /** Throws LinkError('bad-config') on bad options (the socket is then left alone). */
  constructor(init: TcpLinkInit) {
    super()
    this.#now = init.now ?? defaultNow
    this.#session = new LinkSession(init, this.#now())
    this.#socket = init.socket
    this.#initiator = init.initiator
    this.#counters = init.counters
    this.#connecting = init.socket.connecting
    this.#highWaterMarkBytes = Math.max(
      init.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES,
      init.socket.writableHighWaterMark,
    )
    this.#noteAddress()
    const socket = init.socket
    socket.setNoDelay(true)
    socket.on('connect', () => {
      this.#connecting = false
      this.#noteAddress()
    })
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#onDrain())
    socket.on('end', () => this.#fail('socket-closed', 'the peer ended the connection'))
    socket.on('error', (err: NodeJS.ErrnoException) => this.#onSocketError(err))
    socket.on('close', () => this.#onSocketClose())
    if (socket.destroyed) queueMicrotask(() => this.#onSocketClose())
    this.#pump()
  }

  /**
   * Dials host:port as the initiator. The link closes with 'connect-failed' if
   * the connection is refused or not made within connectTimeoutMs (the
   * session's handshakeTimeoutMs also runs from now).
   */
  static dial(
    host: string,
    port: number,
    init: DialInit,
    { connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS }: { connectTimeoutMs?: number } = {},
  ): TcpLink {
    const socket = connect({ host, port })
    let link: TcpLink
    try {
      link = new TcpLink({ ...init, socket, initiator: true })
    } catch (err) {
      socket.destroy()
      throw err
    }
    link.#connectDeadlineMs = link.#now() + connectTimeoutMs
    link.#arm()
    return link
  }

  /** A process-unique number, increasing in creation order (for logs). */
  get id(): number {
    return this.#id
  }

  get initiator(): boolean {
    return this.#initiator
  }

  get state(): LinkState {
    return this.#closed ? 'closed' : this.#session.state
  }

  /** The peer's canonical name once open (kept after close). */
  get peerName(): string | undefined {
    return this.#session.peerName
  }

  /** The largest payload `send` takes. */
  get maxPayloadBytes(): number {
    return this.#session.maxPayloadBytes
  }

  get remoteAddress(): string | undefined {
    return this.#remoteAddress
  }

  get remotePort(): number | undefined {
    return this.#remotePort
  }

  /** Bytes received from the socket, framing and encryption included. */
  get bytesIn(): number {
    return this.#bytesIn
  }

  /** Bytes queued on the socket and not yet written (what backpressure is about). */
  get bufferedBytes(): number {
    return this.#socket.writableLength + this.#unflushedBytes
  }

  /** Bytes handed to the socket, framing and encryption included. */
  get bytesOut(): number {
    return this.#bytesOut
  }

  /**
   * Queues one data record. Returns false when the socket's write buffer is
   * above its high-water mark: wait for 'drain' before sending more. Throws
   * LinkError 'not-open' (also once closed) or 'payload-too-large'.
   */
  send(payload: Uint8Array, tail: readonly Uint8Array[] = []): boolean {
    this.#session.send(payload, this.#now(), tail)
    this.#unflushedBytes += payload.length + bytesLength(tail)
    // Written at the end of the caller's turn, so that a burst of records becomes one
    // writev; at once past the high-water mark, so that backpressure still shows.
    if (this.#unflushedBytes >= this.#highWaterMarkBytes) {
      this.#flush()
      this.#arm()
    } else if (!this.#flushQueued) {
      this.#flushQueued = true
      queueMicrotask(() => {
        this.#flushQueued = false
        this.#flush()
        this.#arm()
      })
    }
    return !this.#needDrain
  }

  /** Graceful: sends a close record with `code` (once keys exist), then ends the socket. Idempotent. */
  close(code: CloseCode = 'normal'): void {
    if (this.#closed) return
    this.#session.close(code, this.#now())
    // Dispatched here, not left to an outer pump, so that a close() from inside a
    // 'data' listener suppresses the rest of that batch.
    this.#pump()
  }

  /** Immediate: destroys the socket, no close record ('local-close'). Idempotent. */
  destroy(): void {
    this.#fail('local-close', 'destroyed locally')
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    this.#bytesIn += chunk.length
    if (this.#closed) return
    this.#session.receive(chunk, this.#now())
    this.#pump()
  }

  #onTimer(): void {
    this.#timer = undefined
    this.#timerAtMs = Number.POSITIVE_INFINITY
    if (this.#closed) {
      this.#socket.destroy() // the linger ran out
      return
    }
    const now = this.#now()
    if (this.#connecting && now >= this.#connectDeadlineMs) {
      this.#fail('connect-failed', 'connect timed out')
      return
    }
    // Early wake-ups (the deadline moved later) are harmless: tick checks the time.
    this.#session.tick(now)
    this.#pump()
  }

  #onDrain(): void {
    if (!this.#needDrain) return
    this.#needDrain = false
    if (!this.#closed) this.emit('drain')
  }

  #onSocketError(err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'error'
    if (this.#connecting) this.#fail('connect-failed', `${code}: ${err.message}`)
    else if (RESET_CODES.has(code)) this.#fail('socket-closed', `${code}: ${err.message}`)
    else this.#fail('socket-error', `${code}: ${err.message}`)
  }

  #onSocketClose(): void {
    this.#fail('socket-closed', 'the connection closed')
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Writes what the session queued, dispatches its events, then re-arms the timer. */
  #pump(): void {
    this.#flush()
    for (const event of this.#session.takeEvents()) this.#dispatch(event)
    this.#arm()
  }

  #dispatch(event: LinkEvent): void {
    if (this.#closed) return // destroy() or close() inside a listener: drop the rest
    switch (event.type) {
      case 'open':
        this.emit('open', event.peerName)
        return
      case 'data':
        this.emit('data', event.payload, event.sealedTail, event.borrowed)
        return
      case 'closed':
        this.#finish(event.reason, event.detail, true)
        return
      default:
        assertNever(event)
    }
  }

  #flush(): void {
    this.#unflushedBytes = 0
    const chunks = this.#session.takeOutgoing()
    const socket = this.#socket
    if (chunks.length === 0 || socket.destroyed || socket.writableEnded) return
    socket.cork()
    for (const chunk of chunks) {
      this.#bytesOut += chunk.length
      socket.write(chunk)
    }
    socket.uncork()
    if (socket.writableLength > this.#highWaterMarkBytes) this.#needDrain = true
  }

  /** Keeps one timer pending at or before the next deadline (an earlier one is kept). */
  #arm(): void {
    if (this.#closed) return
    const deadline = Math.min(
      this.#session.nextDeadlineMs() ?? Number.POSITIVE_INFINITY,
      this.#connecting ? this.#connectDeadlineMs : Number.POSITIVE_INFINITY,
    )
    if (deadline === Number.POSITIVE_INFINITY || deadline >= this.#timerAtMs) return
    this.#setTimer(deadline)
  }

  #setTimer(deadline: number): void {
    clearTimeout(this.#timer)
    this.#timerAtMs = deadline
    const delayMs = Math.max(1, Math.ceil(deadline - this.#now()))
    this.#timer = setTimeout(() => this.#onTimer(), delayMs)
    this.#timer.unref()
  }

  /** A driver-side end: the session is closed too, and nothing more is written. */
  #fail(reason: TcpLinkCloseReason, detail: string): void {
    this.#finish(reason, detail, false)
  }

  /**
   * The one place a link closes. `graceful`: flush the session's last bytes (its
   * close record) and end the socket; otherwise (or if it never connected) destroy it.
   */
  #finish(reason: TcpLinkCloseReason, detail: string, graceful: boolean): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#session.state !== 'closed') this.#session.close('normal', this.#now())
    this.#session.takeEvents()
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAtMs = Number.POSITIVE_INFINITY
    if (graceful && !this.#connecting) {
      this.#flush()
      this.#socket.end()
      if (!this.#socket.destroyed) this.#setTimer(this.#now() + CLOSE_LINGER_MS)
    } else {
      this.#session.takeOutgoing()
      this.#socket.destroy()
    }
    this.#counters?.count(reason)
    this.emit('closed', reason, detail)
  }

  #noteAddress(): void {
    this.#remoteAddress ??= this.#socket.remoteAddress
    this.#remotePort ??= this.#socket.remotePort
  }
}

/** Dials host:port as the initiator; see TcpLink.dial. */
export function dialLink(
  host: string,
  port: number,
  init: DialInit,
  options: { connectTimeoutMs?: number } = {},
): TcpLink {
  return TcpLink.dial(host, port, init, options)
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`)
}
