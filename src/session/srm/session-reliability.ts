/**
 * The Session Reliability Module of one session, sans I/O (docs/session-reliability.md).
 *
 * The driver's loop:
 *   1. feed it: `receive(body, now)` for every record the SSM opened for this session,
 *      the application's `write` / `end` / `reset` / `consume`, `tick(now)` at
 *      `nextDeadlineMs()`, and `resume(now)` when it knows the path is back;
 *   2. after any of these, `takeOutgoing(now)`: record bodies to seal and send, `probe`
 *      ones to the peer's address looked up afresh (it may have moved);
 *   3. `takeEvents()`: stream data, ends, resets, `writable`, and state changes.
 *
 * Nothing is dropped or duplicated: written bytes are kept until acknowledged, the
 * receiver delivers records strictly in sequence order, and once a stream's send buffer
 * is full `write` accepts nothing (backpressure) until acknowledgements free it.
 */
import { Interruption } from './interruption.ts'
import { packRecord } from './packer.ts'
import { Receiver } from './receiver.ts'
import { RttEstimator } from './rtt.ts'
import { Sender } from './sender.ts'
import {
  assertNever,
  type ControlFrame,
  decodeRecord,
  encodeRecord,
  encodeRecordParts,
  type SackRange,
  type StreamOpenFrame,
} from './srm-frames.ts'
import {
  INITIAL_REORDER_WINDOW_BYTES,
  type OutgoingRecord,
  RESET_CODE,
  type ResumeReason,
  resolveConfig,
  type SrmConfig,
  SrmError,
  type SrmEvent,
  type SrmInit,
  type SrmState,
  type SrmStats,
} from './srm-types.ts'
import { type DataPart, StreamTable } from './stream-table.ts'

export class SessionReliability {
  readonly #config: SrmConfig
  readonly #rtt: RttEstimator
  readonly #sender: Sender<readonly DataPart[]>
  readonly #receiver: Receiver
  readonly #streams: StreamTable
  readonly #link: Interruption
  readonly #events: SrmEvent[] = []
  #outgoing: OutgoingRecord[] = []
  /** Since when ACKs have made no progress while data is outstanding. */
  #waitingSinceMs: number | undefined
  readonly #dropped: Record<string, number> = {}

  /** Throws `SrmError('bad-config')` on an option out of range. */
  constructor(init: SrmInit) {
    this.#config = resolveConfig(init)
    this.#rtt = new RttEstimator(this.#config)
    this.#sender = new Sender(this.#rtt, INITIAL_REORDER_WINDOW_BYTES)
    this.#receiver = new Receiver(this.#config)
    this.#link = new Interruption(this.#config)
    this.#streams = new StreamTable(this.#config, this.#events, (code) => this.#count(code))
  }

  get state(): SrmState {
    return this.#link.state
  }

  /** Bytes of records sent and not yet acknowledged. */
  get flightBytes(): number {
    return this.#sender.flightBytes
  }

  /** The largest record body this SRM packs. */
  get maxRecordBytes(): number {
    return this.#config.maxRecordBytes
  }

  /** Opens a stream at once (no round trip); `meta` (≤ 1 KiB) reaches the peer with it. */
  openStream(meta: Uint8Array = new Uint8Array(0)): number {
    this.#usable()
    return this.#streams.open(meta)
  }

  /**
   * The open of stream `streamId` also went early, in the hello (the initiator's side of
   * early opens): a reset before the first record then still tells the peer.
   */
  markEarly(streamId: number): void {
    this.#streams.markEarly(streamId)
  }

  /**
   * Opens the streams the peer's hello opened early (the responder's side), before any
   * record from it: 'stream-opened' events follow, and the opens its first record repeats
   * are not opened twice.
   */
  openEarly(opens: readonly StreamOpenFrame[]): void {
    if (this.state === 'closed') return
    for (const open of opens) this.#streams.openEarly(open.streamId, open.meta)
  }

  /** Accepts as many bytes as the stream's send buffer has room for: 0 means wait for `writable`. */
  write(streamId: number, bytes: Uint8Array): number {
    this.#usable()
    return this.#streams.write(streamId, bytes)
  }

  /** Takes a stream the peer opened: the peer learns it was taken (see StreamTable.accept). */
  accept(streamId: number): void {
    if (this.state !== 'closed') this.#streams.accept(streamId)
  }

  /** Half-closes the stream's sending direction after what was written (FIN); idempotent. */
  end(streamId: number): void {
    this.#usable()
    this.#streams.end(streamId)
  }

  /** Resets both directions (RST); unsent bytes are discarded, the id is gone at once. */
  reset(streamId: number, code: number = RESET_CODE.cancelled): void {
    this.#usable()
    this.#streams.reset(streamId, code)
  }

  /** The application has taken `bytes` of the stream's delivered data: credit grows again. */
  consume(streamId: number, bytes: number): void {
    if (this.state !== 'closed') this.#streams.consume(streamId, bytes)
  }

  /** Bytes written on the stream and not yet acknowledged (its send buffer). */
  bufferedBytes(streamId: number): number {
    return this.#streams.streams.get(streamId)?.bufferedBytes ?? 0
  }

  /**
   * One record body the SSM opened; false if it was dropped (and counted). The body is
   * given away: its data frames, views of it, reach the application as they are.
   */
  receive(body: Uint8Array, nowMs: number): boolean {
    if (this.state === 'closed') return false
    const decoded = decodeRecord(body)
    if (!decoded.ok) {
      this.#count(decoded.code)
      return false
    }
    const record = decoded.value
    if (record.kind === 'control') {
      this.#onControl(record.frame, nowMs)
      return true
    }
    this.#resume(nowMs, 'record-received')
    const arrival = this.#receiver.accept(record.seq, record.frames, body.length, nowMs)
    switch (arrival.kind) {
      case 'deliver':
        for (const frames of arrival.records) for (const f of frames) this.#streams.apply(f)
        return true
      case 'buffered':
        return true
      case 'duplicate':
      case 'dropped':
        this.#count(`${arrival.kind}-record`)
        return false
      default:
        return assertNever(arrival)
    }
  }

  #onControl(frame: ControlFrame, nowMs: number): void {
    switch (frame.type) {
      case 'ack':
        this.#sender.setPeerWindow(frame.windowBytes)
        this.#onAck(frame.cumulative, frame.ranges, nowMs)
        this.#resume(nowMs, 'record-received')
        return
      case 'probe':
        // The peer lost us and hears us again: what it lacks goes now, not at an RTO that
        // backed off through the outage (a short one that never suspended this side).
        this.#onAck(frame.lastReceived, [], nowMs)
        this.#queueControl('probe-reply', this.#probeFrame('probe-reply', frame.probeId))
        this.#pathBack(nowMs, 'record-received')
        return
      case 'probe-reply':
        this.#onAck(frame.lastReceived, [], nowMs)
        this.#resume(nowMs, 'probe-reply')
        return
      default:
        assertNever(frame)
    }
  }

  #onAck(cumulative: number, ranges: readonly SackRange[], nowMs: number): void {
    const { acked, progress } = this.#sender.onAck(cumulative, ranges, nowMs)
    for (const parts of acked) this.#streams.onAcked(parts)
    if (!this.#sender.outstanding) this.#waitingSinceMs = undefined
    else if (progress) this.#waitingSinceMs = nowMs
  }

  /** Handles whatever timer is due at `nowMs`: suspension, RTO, probes, the suspend limit. */
  tick(nowMs: number): void {
    switch (this.state) {
      case 'closed':
        return
      case 'active': {
        const suspendAt = this.#suspendDeadlineMs()
        if (suspendAt !== undefined && nowMs >= suspendAt) {
          this.#link.suspend(nowMs)
          this.#sender.disarm()
          this.#events.push({ type: 'suspended', reason: 'ack-timeout', atMs: nowMs })
          this.#probe(nowMs)
          return
        }
        const rtoAt = this.#sender.rtoDeadlineMs()
        if (rtoAt !== undefined && nowMs >= rtoAt) this.#sender.onRtoExpired(nowMs)
        return
      }
      case 'suspended':
        if (this.#link.limitReached(nowMs)) this.#close(nowMs, 'suspend-limit')
        else this.#probe(nowMs)
        return
      default:
        assertNever(this.state)
    }
  }

  #probe(nowMs: number): void {
    const id = this.#link.probeDue(nowMs)
    if (id !== undefined) this.#queueControl('probe', this.#probeFrame('probe', id))
  }

  #probeFrame(type: 'probe' | 'probe-reply', probeId: number): ControlFrame {
    const lastReceived = this.#receiver.cumulative
    return { type, probeId, lastReceived, lastSent: this.#sender.lastSent }
  }

  #queueControl(kind: OutgoingRecord['kind'], frame: ControlFrame): void {
    this.#outgoing.push({ kind, body: [encodeRecord({ kind: 'control', frame })] })
  }

  /**
   * The path is back or new (this node re-joined, the peer roamed): a suspended
   * session resumes; an active one with data outstanding resends it at once rather
   * than waiting for its retransmission timer (a short outage never suspended it).
   * Either way every unacknowledged record goes out with the next `takeOutgoing(nowMs)`.
   */
  resume(nowMs: number): void {
    this.#pathBack(nowMs, 'driver')
  }

  #pathBack(nowMs: number, reason: ResumeReason): void {
    if (this.state === 'active' && this.#sender.outstanding) {
      this.#sender.resendAll(nowMs)
      this.#waitingSinceMs = nowMs
      return
    }
    this.#resume(nowMs, reason)
  }

  #resume(nowMs: number, reason: ResumeReason): void {
    if (this.state !== 'suspended') return
    const suspendedForMs = this.#link.resume(nowMs)
    this.#sender.resendAll(nowMs)
    this.#waitingSinceMs = this.#sender.outstanding ? nowMs : undefined
    this.#events.push({ type: 'resumed', reason, atMs: nowMs, suspendedForMs })
  }

  /** Closes the session for good (the owner's decision, never an outage's); idempotent. */
  close(nowMs: number): void {
    if (this.state !== 'closed') this.#close(nowMs, 'local')
  }

  #close(nowMs: number, reason: 'local' | 'suspend-limit'): void {
    this.#link.close()
    this.#sender.disarm()
    this.#outgoing = []
    this.#events.push({ type: 'closed', reason, atMs: nowMs })
  }

  /** When `tick` must next run, or undefined if no timer is armed. */
  nextDeadlineMs(): number | undefined {
    const candidates = [this.#receiver.ackDeadlineMs()]
    switch (this.state) {
      case 'closed':
        return undefined
      case 'active':
        candidates.push(this.#suspendDeadlineMs(), this.#sender.rtoDeadlineMs())
        break
      case 'suspended':
        candidates.push(this.#link.deadlineMs())
        break
      default:
        assertNever(this.state)
    }
    const defined = candidates.filter((t): t is number => t !== undefined)
    return defined.length > 0 ? Math.min(...defined) : undefined
  }

  #suspendDeadlineMs(): number | undefined {
    if (this.#waitingSinceMs === undefined) return undefined
    const after = Math.max(this.#config.suspendAfterMs, 2 * this.#rtt.baseRtoMs)
    return this.#waitingSinceMs + after
  }

  /**
   * Record bodies to seal and send now, in order: probes and replies, the due ACK,
   * resends, then new records as far as the peer's window allows (none while suspended).
   */
  takeOutgoing(nowMs: number): OutgoingRecord[] {
    if (this.state === 'closed') return []
    const out = this.#outgoing
    this.#outgoing = []
    const ack = this.#receiver.takeAck(nowMs)
    if (ack) out.push({ kind: 'ack', body: [encodeRecord({ kind: 'control', frame: ack })] })
    if (this.state !== 'active') return out
    for (const body of this.#sender.takeResends(nowMs)) out.push({ kind: 'retransmit', body })
    const max = this.#config.maxRecordBytes
    while (this.#sender.fits(max) || this.#sender.flightBytes === 0) {
      const packed = packRecord(this.#streams, max)
      if (!packed) break
      const seq = this.#sender.nextSeq
      const body = encodeRecordParts({ kind: 'reliable', seq, frames: packed.frames })
      this.#waitingSinceMs ??= nowMs
      this.#sender.record(body, packed.parts, nowMs)
      out.push({ kind: 'data', body })
    }
    return out
  }

  /** Events since the last call, in the order they happened. */
  takeEvents(): SrmEvent[] {
    return this.#events.splice(0)
  }

  stats(): SrmStats {
    return {
      state: this.state,
      streams: this.#streams.streams.size,
      flightBytes: this.#sender.flightBytes,
      retransmitBufferBytes: this.#sender.retransmitBufferBytes,
      reorderBytes: this.#receiver.heldBytes,
      sendBufferedBytes: this.#streams.sessionBufferedBytes,
      unconsumedBytes: this.#streams.sessionUnconsumedBytes,
      srttMs: this.#rtt.srttMs,
      rtoMs: this.#rtt.rtoMs,
      dropped: { ...this.#dropped },
    }
  }

  #count(code: string): void {
    this.#dropped[code] = (this.#dropped[code] ?? 0) + 1
  }

  #usable(): void {
    if (this.state === 'closed') throw new SrmError('session-closed', 'the session is closed')
  }
}
