/**
 * One session stream as a Node.js `Duplex` (the library's face of an SRM stream).
 *
 *   write  → manager.write; the write's callback runs only once every byte was accepted
 *            (0 accepted: wait for the stream's `writable` event) — backpressure.
 *   end    → manager.end (FIN); the peer's stream emits 'end'.
 *   destroy(err) before both directions finished → manager.reset (RST).
 *   data   → push(); the bytes are consumed (credit returns to the peer) at once while
 *            push() says there is room, else when the consumer next reads (`_read`).
 *   the peer's FIN → push(null); its RST → destroy(SemosStreamError).
 *
 * The node (semos-node.ts) routes the manager's events to `onData`, `onEnd`, `onReset`,
 * `onWritable`, `onStreamClosed` and `onSessionClosed`; they are not for applications.
 */
import { Duplex } from 'node:stream'
import { CodedError } from '../core/coded-error.ts'
import type { SessionManager } from '../session/session-manager.ts'
import type { SessionCloseReason, StreamRef } from '../session/session-manager-types.ts'
import { assertNever } from '../session/srm/srm-frames.ts'
import { RESET_CODE } from '../session/srm/srm-types.ts'

/**
 * Why a stream failed:
 *   not-found       connect: the name has no record in the DHT
 *   unreachable     connect: the peer did not answer the handshake
 *   refused         connect: nobody listens on the port (or the peer refused the session)
 *   forbidden       connect: the listener does not take streams from this node
 *   reset           the peer reset (destroyed) the stream
 *   protocol-error  the peer broke the stream protocol (reset with code 2)
 *   session-closed  the session ended (the peer closed it, or it stayed suspended too long)
 *   node-closed     this node was closed
 */
export type SemosStreamErrorCode =
  | 'not-found'
  | 'unreachable'
  | 'refused'
  | 'forbidden'
  | 'reset'
  | 'protocol-error'
  | 'session-closed'
  | 'node-closed'

/** The error a stream is destroyed with; branch on `code`. */
export class SemosStreamError extends CodedError<SemosStreamErrorCode> {}

/** What a stream needs of its node: a way to call the session manager (the node pumps after). */
export interface SessionStreamComponents {
  call<T>(fn: (manager: SessionManager, nowMs: number) => T): T
  /** `n` bytes of the application's were taken by the session (for byte counts). */
  sent?(n: number): void
}

type Callback = (error?: Error | null) => void

export class SessionStream extends Duplex {
  /** The session and stream id behind this Duplex. */
  readonly ref: StreamRef
  /** The peer's permanent name. */
  readonly peerName: string
  readonly #c: SessionStreamComponents
  /** The write waiting for room: what is left of it, and its callback. */
  #pending: { bytes: Uint8Array; callback: Callback } | undefined
  /** Bytes pushed while the readable side was full: consumed at the next `_read`. */
  #unconsumed = 0
  /** The manager no longer knows the stream (reset, closed, its session gone). */
  #gone = false
  /** A flush of the session is due at the end of this turn of the event loop. */
  #flushQueued = false
  #finSent = false
  #finReceived = false

  /** Created by the node only. */
  constructor(ref: StreamRef, peerName: string, components: SessionStreamComponents) {
    super({ allowHalfOpen: true })
    this.ref = ref
    this.peerName = peerName
    this.#c = components
  }

  // ---- Duplex ----

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#pending = { bytes: chunk, callback }
    this.#flush()
  }

  override _final(callback: Callback): void {
    if (this.#gone) {
      callback(new SemosStreamError('session-closed', 'the stream is closed'))
      return
    }
    this.#finSent = true
    this.#call((m, now) => m.end(this.ref, now))
    callback()
  }

  override _read(): void {
    if (this.#unconsumed === 0 || this.#gone) return
    const n = this.#unconsumed
    this.#unconsumed = 0
    this.#call((m, now) => m.consume(this.ref, n, now))
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#pending = undefined
    if (!this.#gone && !(this.#finSent && this.#finReceived)) {
      this.#gone = true
      this.#call((m, now) => m.reset(this.ref, now, RESET_CODE.cancelled))
    }
    callback(error)
  }

  // ---- the node's inputs ----

  /** The peer's bytes, in order. */
  onData(bytes: Uint8Array): void {
    if (this.destroyed) return
    if (this.push(bytes)) this.#call((m, now) => m.consume(this.ref, bytes.length, now))
    else this.#unconsumed += bytes.length
  }

  /** The peer half-closed (FIN). */
  onEnd(): void {
    this.#finReceived = true
    this.push(null)
  }

  /** The peer took the stream this node opened: 'connect', as a net.Socket emits it. */
  onAccepted(): void {
    if (!this.destroyed) this.emit('connect')
  }

  /** The stream's send buffer has room again. */
  onWritable(): void {
    this.#flush()
  }

  /** The peer reset the stream (RST) with `code`. */
  onReset(code: number): void {
    this.#gone = true
    const why =
      code === RESET_CODE.refused
        ? new SemosStreamError('refused', `${this.peerName} refused the stream`)
        : code === RESET_CODE.forbidden
          ? new SemosStreamError('forbidden', `${this.peerName} does not take streams from us`)
          : code === RESET_CODE.protocolError
            ? new SemosStreamError('protocol-error', `${this.peerName} saw a protocol error`)
            : new SemosStreamError('reset', `${this.peerName} reset the stream`)
    this.destroy(why)
  }

  /** Both directions are done and the manager forgot the stream. */
  onStreamClosed(): void {
    this.#gone = true
  }

  /** The stream's session ended: a stream not finished both ways fails with the reason. */
  onSessionClosed(reason: SessionCloseReason): void {
    const done = this.#finSent && this.#finReceived
    this.#gone = true
    if (done) this.destroy()
    else this.destroy(new SemosStreamError(codeOf(reason), `${this.peerName}: ${reason}`))
  }

  // ---- inside ----

  #flush(): void {
    const w = this.#pending
    if (w === undefined) return
    if (this.#gone) {
      this.#pending = undefined
      w.callback(new SemosStreamError('session-closed', 'the stream is closed'))
      return
    }
    // While records are in flight, sealed at the end of this turn (setImmediate: after
    // every read the poll phase had), not per write: a socket's 64 KiB reads then fill
    // whole records instead of a full one and a 5 KiB remnant each. The first write after
    // a pause goes at once: nothing would join it but delay (a reply, a keystroke).
    let flushed = false
    const n = this.#call((m, now) => {
      const written = m.write(this.ref, w.bytes, now, false)
      if (!this.#flushQueued && m.idle(this.ref.session)) {
        m.flush(this.ref.session, now)
        flushed = true
      }
      return written
    })
    if (n === undefined) return
    if (!this.#flushQueued && !flushed && n > 0) {
      this.#flushQueued = true
      setImmediate(() => {
        this.#flushQueued = false
        if (!this.#gone) this.#call((m, now) => m.flush(this.ref.session, now))
      })
    }
    if (n > 0) this.#c.sent?.(n)
    if (n < w.bytes.length) {
      w.bytes = w.bytes.subarray(n)
      return
    }
    this.#pending = undefined
    w.callback()
  }

  /** A call on the manager; a throw (the session is gone) destroys this stream instead. */
  #call<T>(fn: (manager: SessionManager, nowMs: number) => T): T | undefined {
    try {
      return this.#c.call(fn)
    } catch (error) {
      this.#gone = true
      const e = new SemosStreamError('session-closed', `the stream is closed: ${String(error)}`)
      this.destroy(e)
      return undefined
    }
  }
}

function codeOf(reason: SessionCloseReason): SemosStreamErrorCode {
  switch (reason) {
    case 'not-found':
    case 'unreachable':
    case 'refused':
      return reason
    case 'local':
      return 'node-closed'
    case 'peer-closed':
    case 'suspend-limit':
      return 'session-closed'
    default:
      return assertNever(reason)
  }
}
