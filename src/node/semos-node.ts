/**
 * The library: a semos node in this process, and streams to other nodes by name.
 *
 *   const node = await createNode({ bootstrap: ['192.0.2.1:7400'], stateDir: '/tmp/a' })
 *   node.listen(7, (stream, peer) => stream.pipe(stream))
 *   const s = node.connect(otherName, 7)          // a Duplex, usable at once
 *
 * The node runs an OverlayDaemon (overlay, DHT and session manager over TCP links) and
 * maps the session manager's streams onto Duplexes (session-stream.ts). Every manager
 * event arrives here from inside the daemon's pump, in order: stream events go to their
 * Duplex, stream opens to the port's handler (or are reset `refused`), session changes to
 * the 'session' event.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { pino } from 'pino'
import type { SessionManager } from '../session/session-manager.ts'
import type {
  SessionCloseReason,
  SessionEvent,
  SessionHandle,
  StreamRef,
} from '../session/session-manager-types.ts'
import { assertNever } from '../session/srm/srm-frames.ts'
import { RESET_CODE } from '../session/srm/srm-types.ts'
import { encodeStreamMeta, MAX_PORT } from '../session/stream-meta.ts'
import { type OverlayDaemon, startDaemon } from './daemon.ts'
import { resolveNodeOptions, SemosNodeError, type SemosNodeOptions } from './node-options.ts'
import { SessionEntry, type SessionRow } from './session-ledger.ts'
import { SessionStream } from './session-stream.ts'

export {
  SemosNodeError,
  type SemosNodeErrorCode,
  type SemosNodeOptions,
} from './node-options.ts'
export type { SessionPhase, SessionRow } from './session-ledger.ts'
export { SemosStreamError, type SemosStreamErrorCode } from './session-stream.ts'

/** A session change, as the 'session' event reports it. */
export type SessionInfo =
  | { readonly type: 'established'; readonly peerName: string; readonly initiator: boolean }
  | { readonly type: 'suspended'; readonly peerName: string }
  /** `suspendedForMs`: how long the session was suspended (0 if it never was). */
  | { readonly type: 'resumed'; readonly peerName: string; readonly suspendedForMs: number }
  | { readonly type: 'closed'; readonly peerName: string; readonly reason: SessionCloseReason }

/** Handles a stream a peer opened to a listened port. */
export type StreamHandler = (stream: Duplex, peerName: string) => void

export interface ListenOptions {
  /** Whether to take streams from `peerName` (default: from anyone). */
  readonly allow?: (peerName: string) => boolean
}

/** What `status()` reports. */
export interface SemosNodeStatus {
  readonly name: string
  /** This node's overlay address, if it has joined. */
  readonly address: string | undefined
  readonly sessions: readonly SessionRow[]
  /** The daemon's status (links, overlay, DHT, counters). */
  readonly overlay: unknown
}

/** Starts a node: listens for links, joins (or starts) the overlay. */
export async function createNode(options: SemosNodeOptions = {}): Promise<SemosNode> {
  const { daemonOptions, identity } = resolveNodeOptions(options)
  const daemon = await startDaemon(daemonOptions, {
    identity,
    log: options.log ?? pino({ level: 'silent' }),
    session: options.session ?? {},
  })
  return new SemosNode(daemon)
}

/**
 * A running node. Events: 'session' (SessionInfo) on every session change; 'address'
 * (string | undefined) when its overlay address changes.
 */
export class SemosNode extends EventEmitter<{
  session: [SessionInfo]
  address: [string | undefined]
}> {
  /** This node's permanent name. */
  readonly name: string
  readonly #daemon: OverlayDaemon
  readonly #listeners = new Map<
    number,
    { handler: StreamHandler; allow: ((peerName: string) => boolean) | undefined }
  >()
  /** Open sessions by handle: the peer, the session's Duplexes by stream id, its history. */
  readonly #sessions = new Map<SessionHandle, SessionEntry>()
  /** Wall-clock ms of this node's last placement in the overlay (a join or re-join). */
  #placedAtMs: number | undefined
  #closing: Promise<void> | undefined

  /** Use createNode. */
  constructor(daemon: OverlayDaemon) {
    super()
    this.#daemon = daemon
    this.name = daemon.name
    daemon.onSession = (e) => this.#onSession(e)
    daemon.onAddress = (address) => {
      if (address !== undefined) this.#placedAtMs = Date.now()
      this.emit('address', address?.toString())
    }
  }

  /** Sessions known to the library (established, maybe suspended). */
  get sessionCount(): number {
    return this.#sessions.size
  }

  /** Streams open over all sessions. */
  get streamCount(): number {
    let n = 0
    for (const s of this.#sessions.values()) n += s.streams.size
    return n
  }

  /** This node's overlay address, once it has joined. */
  get address(): string | undefined {
    return this.#daemon.overlay?.address?.toString()
  }

  /** The "host:port" other nodes dial to join through this one (its bootstrap address). */
  get endpoint(): string {
    return this.#daemon.overlay?.endpoint ?? ''
  }

  /** Resolves once the node has an overlay address (at once if it has one). */
  joined(): Promise<void> {
    if (this.address !== undefined) return Promise.resolve()
    return new Promise((resolve) => {
      const onAddress = (address: string | undefined): void => {
        if (address === undefined) return
        this.off('address', onAddress)
        resolve()
      }
      this.on('address', onAddress)
    })
  }

  /**
   * A stream to `port` on the node named `peerName`, usable at once: writes queue until
   * the session is established. It emits 'connect' when the peer has taken the stream (as
   * a net.Socket does once connected). A failed connect destroys it with a
   * SemosStreamError coded `not-found`, `unreachable`, `refused` (nobody listens on the
   * port) or `forbidden` (the listener does not take streams from this node). Throws a
   * SemosNodeError (bad-option) for a bad name or port, (closed) after close().
   */
  connect(peerName: string, port: number): Duplex {
    let meta: Uint8Array
    try {
      meta = encodeStreamMeta(port)
    } catch (error) {
      throw new SemosNodeError('bad-option', (error as Error).message)
    }
    return this.#call((manager, now) => {
      let ref: StreamRef
      try {
        ref = manager.connect(peerName, meta, now)
      } catch (error) {
        throw new SemosNodeError('bad-option', (error as Error).message)
      }
      return this.#attach(ref, manager.session(ref.session)?.peerName ?? peerName)
    })
  }

  /**
   * Accepts streams peers open to `port`: `handler` gets each as a Duplex with the peer's
   * name. With `allow`, a peer it returns false for is refused (its connect fails with
   * `forbidden`) before any handler runs. Throws a SemosNodeError: bad-option (not a port
   * 0..65535), port-in-use.
   */
  listen(port: number, handler: StreamHandler, options: ListenOptions = {}): void {
    if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) {
      throw new SemosNodeError('bad-option', `port must be 0..${MAX_PORT}, got ${port}`)
    }
    if (this.#listeners.has(port)) {
      throw new SemosNodeError('port-in-use', `port ${port} has a listener already`)
    }
    this.#listeners.set(port, { handler, allow: options.allow })
  }

  /** Stops accepting streams to `port` (streams already open stay); idempotent. */
  unlisten(port: number): void {
    this.#listeners.delete(port)
  }

  /** The node's sessions and the daemon's status. */
  async status(): Promise<SemosNodeStatus> {
    const sessions = this.#daemon.withSessions((m) =>
      [...this.#sessions].map(([handle, s]) => s.row(m.session(handle)?.srm.stats().srttMs)),
    )
    const overlay = await this.#daemon.handle('status', {})
    return { name: this.name, address: this.address, sessions, overlay }
  }

  /**
   * Closes every session (open streams fail with `node-closed`), leaves the overlay and
   * closes every link: afterwards the node holds no socket or timer. Idempotent.
   */
  /**
   * Cuts the node off the network at once (every link dropped, none made) until
   * `reconnect`: a pulled cable or a closed laptop, for tests and demos. Its
   * sessions suspend; their streams stay open.
   */
  disconnect(): void {
    this.#daemon.disconnect()
  }

  /** Back on the network: re-joins at once, through `via` (host:port) first. */
  reconnect(via: readonly string[] = []): void {
    this.#daemon.reconnect(via)
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#listeners.clear()
    const handles = [...this.#sessions.keys()]
    this.#daemon.withSessions((manager, now) => {
      for (const handle of handles) manager.close(handle, now)
    })
    await this.#daemon.stop()
  }

  #call<T>(fn: (manager: SessionManager, nowMs: number) => T): T {
    if (this.#closing !== undefined) throw new SemosNodeError('closed', 'the node is closed')
    return this.#daemon.withSessions(fn)
  }

  #attach(ref: StreamRef, peerName: string): SessionStream {
    const entry = this.#session(ref.session, peerName)
    const stream = new SessionStream(ref, peerName, {
      call: (fn) => this.#daemon.withSessions(fn),
      sent: (n) => {
        entry.bytesOut += n
      },
    })
    entry.streams.set(ref.streamId, stream)
    return stream
  }

  #session(handle: SessionHandle, peerName: string) {
    let s = this.#sessions.get(handle)
    if (s === undefined) {
      s = new SessionEntry(peerName, Date.now())
      this.#sessions.set(handle, s)
    }
    return s
  }

  #onSession(e: SessionEvent): void {
    switch (e.type) {
      case 'established':
        this.#session(e.session, e.peerName).established(e.initiator, Date.now())
        this.emit('session', { type: e.type, peerName: e.peerName, initiator: e.initiator })
        return
      case 'suspended': {
        const s = this.#sessions.get(e.session)
        if (s === undefined) return
        s.suspended(Date.now())
        this.emit('session', { type: e.type, peerName: s.peerName })
        return
      }
      case 'resumed': {
        const s = this.#sessions.get(e.session)
        if (s === undefined) return
        const { suspendedForMs } = e
        s.resumed(suspendedForMs, this.#placedAtMs, Date.now())
        this.emit('session', { type: e.type, peerName: s.peerName, suspendedForMs })
        return
      }
      case 'closed': {
        // A half-open session that never became established was never reported either.
        const s = this.#sessions.get(e.session)
        if (s === undefined) return
        this.#sessions.delete(e.session)
        for (const stream of s.streams.values()) stream.onSessionClosed(e.reason)
        this.emit('session', { type: 'closed', peerName: e.peerName, reason: e.reason })
        return
      }
      case 'stream-opened':
        this.#onStreamOpened(e.session, e.peerName, e.streamId, e.port)
        return
      case 'roamed':
        return
      default:
        this.#onStreamEvent(e)
    }
  }

  #onStreamOpened(
    handle: SessionHandle,
    peerName: string,
    streamId: number,
    port: number | undefined,
  ): void {
    const ref = { session: handle, streamId }
    const listener = port === undefined ? undefined : this.#listeners.get(port)
    if (listener === undefined) {
      this.#daemon.withSessions((m, now) => m.reset(ref, now, RESET_CODE.refused))
      return
    }
    if (listener.allow !== undefined && !listener.allow(peerName)) {
      this.#daemon.withSessions((m, now) => m.reset(ref, now, RESET_CODE.forbidden))
      return
    }
    // Accepted, then flushed once the handler ran: a reply it writes at once (a banner)
    // shares the acceptance's record.
    this.#daemon.withSessions((m, now) => m.accept(ref, now, false))
    try {
      listener.handler(this.#attach(ref, peerName), peerName)
    } finally {
      this.#daemon.withSessions((m, now) => m.flush(handle, now))
    }
  }

  #onStreamEvent(e: Extract<SessionEvent, { streamId: number }>): void {
    const entry = this.#sessions.get(e.session)
    const streams = entry?.streams
    const stream = streams?.get(e.streamId)
    if (entry === undefined || streams === undefined || stream === undefined) return
    switch (e.type) {
      case 'data':
        entry.bytesIn += e.bytes.length
        stream.onData(e.bytes)
        return
      case 'end':
        stream.onEnd()
        return
      case 'writable':
        stream.onWritable()
        return
      case 'stream-accepted':
        stream.onAccepted()
        return
      case 'reset':
        streams.delete(e.streamId)
        stream.onReset(e.code)
        return
      case 'stream-closed':
        streams.delete(e.streamId)
        stream.onStreamClosed()
        return
      case 'stream-opened':
        return
      default:
        assertNever(e)
    }
  }
}
