/**
 * The session's streams and its per-session credit: the application's operations
 * (open, write, end, reset, consume), the peer's reliable frames applied in order, and
 * the acknowledgement of sent bytes. Frames to send wait in `pending` for the packer.
 *
 * Stream ids: the initiator's are even, the responder's odd, each side counting up, so a
 * stream opens with one frame and no round trip. An id of the peer's parity at or below
 * the highest it opened, or of ours below the next we would use, that is not in the table
 * is closed: frames for it are late, not errors.
 */
import { assertNever, type ReliableFrame } from './srm-frames.ts'
import {
  INITIAL_SESSION_CREDIT_BYTES,
  INITIAL_STREAM_CREDIT_BYTES,
  RESET_CODE,
  type SrmConfig,
  SrmError,
  type SrmEvent,
} from './srm-types.ts'
import { Stream } from './stream.ts'

/** The stream bytes (and FIN) one record carries, settled when it is acknowledged. */
export type DataPart = { readonly streamId: number; readonly bytes: number; readonly fin: boolean }

/** Frames waiting for a record, in the order the packer takes them. */
export type PendingControl = {
  readonly opens: Map<number, Uint8Array>
  readonly streamWindows: Map<number, number>
  sessionWindow: number | undefined
  readonly resets: Map<number, number>
}

export class StreamTable {
  readonly #config: SrmConfig
  readonly #events: SrmEvent[]
  readonly #onViolation: (code: string) => void
  readonly streams = new Map<number, Stream>()
  /** Streams that may have a data frame to send, in round-robin order. */
  readonly ready = new Set<number>()
  readonly #blocked = new Set<number>()
  readonly pending: PendingControl = {
    opens: new Map(),
    streamWindows: new Map(),
    sessionWindow: undefined,
    resets: new Map(),
  }
  #nextLocalId: number
  #highestPeerId = -1
  /** Opens of ours that the hello carried early: the peer may know these streams already. */
  readonly #earlySent = new Set<number>()
  /** The peer's streams opened early (from its hello), by id: their open comes again. */
  readonly #earlyOpened = new Map<number, Uint8Array>()
  /** Session credit, sending: total stream bytes sent, and the peer's limit on it. */
  sessionSent = 0
  peerSessionLimit: number
  #sessionBuffered = 0
  #sessionReceived = 0
  #sessionConsumed = 0
  #sessionAdvertised: number

  constructor(config: SrmConfig, events: SrmEvent[], onViolation: (code: string) => void) {
    this.#config = config
    this.#events = events
    this.#onViolation = onViolation
    this.#nextLocalId = config.role === 'initiator' ? 0 : 1
    this.peerSessionLimit = config.peerSessionWindowBytes
    // The peer assumes the initial credit; a larger window is announced with the first record.
    this.#sessionAdvertised = config.sessionReceiveWindowBytes
    if (this.#sessionAdvertised > INITIAL_SESSION_CREDIT_BYTES) {
      this.pending.sessionWindow = this.#sessionAdvertised
    }
  }

  #add(id: number, openSent: boolean): Stream {
    const c = this.#config
    const s = new Stream(id, c.peerStreamWindowBytes, c.streamReceiveWindowBytes, openSent)
    // A stream this side opens announces its window with the open. One the peer opened
    // is announced when the application takes it (accept), even at the initial credit:
    // that first window is how the opener learns the stream was taken, and a stream
    // refused at once (a reset) must not have announced anything first.
    if (!openSent && s.advertised > INITIAL_STREAM_CREDIT_BYTES) {
      this.pending.streamWindows.set(id, s.advertised)
    }
    s.announced = !openSent
    this.streams.set(id, s)
    return s
  }

  /** Bytes written on all streams and not yet acknowledged. */
  get sessionBufferedBytes(): number {
    return this.#sessionBuffered
  }

  /** Bytes delivered to the application and not yet consumed, over all streams. */
  get sessionUnconsumedBytes(): number {
    return this.#sessionReceived - this.#sessionConsumed
  }

  open(meta: Uint8Array): number {
    if (this.streams.size >= this.#config.maxStreams) {
      throw new SrmError('too-many-streams', `${this.streams.size} streams open`)
    }
    const id = this.#nextLocalId
    this.#nextLocalId += 2
    this.#add(id, false)
    this.pending.opens.set(id, Uint8Array.from(meta))
    return id
  }

  write(id: number, bytes: Uint8Array): number {
    this.accept(id)
    const s = this.#get(id)
    if (s.sendPhase !== 'open') throw new SrmError('stream-finished', `stream ${id} has ended`)
    const n = Math.min(bytes.length, this.#room(s))
    if (n < bytes.length) {
      s.blocked = true
      this.#blocked.add(id)
    }
    if (n > 0) {
      s.enqueue(bytes, n)
      this.#sessionBuffered += n
      this.ready.add(id)
    }
    return n
  }

  /** Half-closes this side's direction; idempotent. */
  end(id: number): void {
    this.accept(id)
    const s = this.#get(id)
    if (s.sendPhase !== 'open') return
    s.sendPhase = 'ending'
    this.ready.add(id)
  }

  /**
   * The open of stream `id` (ours, not yet sent) went early, in the hello: the peer may
   * open the stream before our first record, which carries the open again.
   */
  markEarly(id: number): void {
    if (this.pending.opens.has(id)) this.#earlySent.add(id)
  }

  /**
   * Opens a stream the peer's hello opened early, before its first record: as a
   * stream-open frame would, and the same frame in that record is then a repeat.
   */
  openEarly(id: number, meta: Uint8Array): void {
    if (!this.#onOpen(id, meta)) return
    this.#earlyOpened.set(id, Uint8Array.from(meta))
  }

  /**
   * Resets both directions; the peer gets a reset frame unless it never learnt of it. An
   * open that went early is still sent (before the reset), so the peer's copy closes too.
   */
  reset(id: number, code: number): void {
    const s = this.#get(id)
    if (s.openSent || this.#earlySent.has(id)) this.pending.resets.set(id, code)
    else this.pending.opens.delete(id)
    this.#drop(s)
  }

  /**
   * The application takes a stream the peer opened: its window goes out, and with it the
   * peer's `stream-accepted`. Implied by the first consume, write or end; idempotent.
   */
  accept(id: number): void {
    const s = this.streams.get(id)
    if (!s || s.announced) return
    s.announced = true
    this.pending.streamWindows.set(id, s.advertised)
  }

  /** The application has taken `n` delivered bytes of the stream: grant credit again. */
  consume(id: number, n: number): void {
    this.accept(id)
    const s = this.streams.get(id)
    if (!s || n <= 0) return
    const k = Math.min(n, s.unconsumed)
    s.consumed += k
    this.#sessionConsumed += k
    const w = this.#config.streamReceiveWindowBytes
    if (!s.finReceived && s.advertised - s.consumed <= w / 2) {
      s.advertised = s.consumed + w
      this.pending.streamWindows.set(id, s.advertised)
    }
    this.#grantSession()
    this.#maybeClose(s)
  }

  #grantSession(): void {
    const w = this.#config.sessionReceiveWindowBytes
    if (this.#sessionAdvertised - this.#sessionConsumed > w / 2) return
    this.#sessionAdvertised = this.#sessionConsumed + w
    this.pending.sessionWindow = this.#sessionAdvertised
  }

  /** A record carrying these parts was acknowledged. */
  onAcked(parts: readonly DataPart[]): void {
    for (const p of parts) {
      this.#sessionBuffered -= p.bytes
      const s = this.streams.get(p.streamId)
      if (!s) continue
      s.onAcked(p.bytes, p.fin)
      this.#maybeClose(s)
    }
    this.#wakeBlocked()
  }

  /** Applies one reliable frame from the peer, in sequence order. */
  apply(frame: ReliableFrame): void {
    switch (frame.type) {
      case 'stream-open':
        this.#onOpen(frame.streamId, frame.meta)
        return
      case 'data':
        this.#onData(frame.streamId, frame.offset, frame.bytes, frame.fin)
        return
      case 'reset': {
        const s = this.streams.get(frame.streamId)
        if (!s) return
        this.#drop(s)
        this.#events.push({ type: 'reset', streamId: s.id, code: frame.code })
        return
      }
      case 'stream-window': {
        const s = this.streams.get(frame.streamId)
        if (s) this.#accepted(s)
        if (!s || frame.maxOffset <= s.sendLimit) return
        s.sendLimit = frame.maxOffset
        this.ready.add(s.id)
        return
      }
      case 'session-window':
        this.peerSessionLimit = Math.max(this.peerSessionLimit, frame.maxBytes)
        return
      default:
        assertNever(frame)
    }
  }

  /** The peer's first frame about a stream this side opened, other than a reset. */
  #accepted(s: Stream): void {
    if (s.accepted) return
    s.accepted = true
    this.#events.push({ type: 'stream-accepted', streamId: s.id })
  }

  /** The peer opens stream `id`; false if the open broke the rules (counted, ignored). */
  #onOpen(id: number, meta: Uint8Array): boolean {
    const early = this.#earlyOpened.get(id)
    if (early !== undefined) {
      // The hello opened it already (it may even be closed since): this is the repeat.
      this.#earlyOpened.delete(id)
      if (Buffer.compare(early, meta) !== 0) this.#onViolation('bad-stream-open')
      return true
    }
    if (!this.#isPeerId(id) || id <= this.#highestPeerId) {
      this.#onViolation('bad-stream-open')
      return false
    }
    this.#highestPeerId = id
    if (this.streams.size >= this.#config.maxStreams) {
      this.pending.resets.set(id, RESET_CODE.refused)
      return true
    }
    this.#add(id, true)
    this.#events.push({ type: 'stream-opened', streamId: id, meta })
    return true
  }

  #onData(id: number, offset: number, bytes: Uint8Array, fin: boolean): void {
    const s = this.streams.get(id)
    if (!s) {
      if (!this.#isClosedId(id)) {
        this.#onViolation('unknown-stream')
        return
      }
      // Credit the peer spent on a stream we closed must still count, or it leaks.
      this.#sessionReceived += bytes.length
      this.#sessionConsumed += bytes.length
      this.#grantSession()
      return
    }
    this.#accepted(s)
    const overrun =
      s.received + bytes.length > s.advertised ||
      this.#sessionReceived + bytes.length > this.#sessionAdvertised
    if (s.finReceived || offset !== s.received || overrun) {
      this.#onViolation('bad-data')
      this.reset(id, RESET_CODE.protocolError)
      this.#events.push({ type: 'reset', streamId: id, code: RESET_CODE.protocolError })
      return
    }
    s.received += bytes.length
    this.#sessionReceived += bytes.length
    if (bytes.length > 0) this.#events.push({ type: 'data', streamId: id, bytes })
    if (fin) {
      s.finReceived = true
      this.#events.push({ type: 'end', streamId: id })
      this.#maybeClose(s)
    }
  }

  #isPeerId(id: number): boolean {
    return id % 2 === (this.#config.role === 'initiator' ? 1 : 0)
  }

  #isClosedId(id: number): boolean {
    return this.#isPeerId(id) ? id <= this.#highestPeerId : id < this.#nextLocalId
  }

  #get(id: number): Stream {
    const s = this.streams.get(id)
    if (!s) throw new SrmError('unknown-stream', `no stream ${id}`)
    return s
  }

  #room(s: Stream): number {
    const c = this.#config
    return Math.min(
      c.streamSendBufferBytes - s.bufferedBytes,
      c.sessionSendBufferBytes - this.#sessionBuffered,
    )
  }

  /** Forgets a stream: unsent bytes and undelivered credit are released at once. */
  #drop(s: Stream): void {
    this.#sessionBuffered -= s.dropQueued()
    this.#sessionConsumed += s.unconsumed
    this.#grantSession()
    this.streams.delete(s.id)
    this.ready.delete(s.id)
    this.#blocked.delete(s.id)
    this.pending.streamWindows.delete(s.id)
    this.#wakeBlocked()
  }

  #maybeClose(s: Stream): void {
    if (!s.done) return
    this.streams.delete(s.id)
    this.ready.delete(s.id)
    this.#events.push({ type: 'stream-closed', streamId: s.id })
  }

  #wakeBlocked(): void {
    for (const id of this.#blocked) {
      const s = this.streams.get(id)
      if (s && this.#room(s) <= 0) continue
      this.#blocked.delete(id)
      if (!s) continue
      s.blocked = false
      this.#events.push({ type: 'writable', streamId: id })
    }
  }
}
