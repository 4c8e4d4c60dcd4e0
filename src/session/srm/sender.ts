/**
 * The sending half of the session's sequence space: session-level sequence numbers, the
 * retransmission buffer (encoded bodies kept until acknowledged), RTT sampling (Karn:
 * only records sent once), the RTO timer with backoff, and fast retransmit of a record
 * that `LOSS_THRESHOLD` later records overtook (SACK).
 *
 * In flight counts every record above the cumulative ACK, SACKed ones included, so that
 * what the receiver must hold above a gap never exceeds the window it advertised.
 * SACKed bodies are freed at once: the receiver never reneges on what it holds.
 */

import { bytesLength } from '../../core/bytes.ts'
import type { RttEstimator } from './rtt.ts'
import type { SackRange } from './srm-frames.ts'

/** A record is presumed lost once a record this many sequence numbers later was acked. */
export const LOSS_THRESHOLD = 3

type Sent<T> = {
  readonly seq: number
  /** The body in parts (OutgoingRecord), until acknowledged. */
  body: readonly Uint8Array[] | undefined
  readonly size: number
  readonly meta: T
  lastSentMs: number
  /**
   * Whether its acknowledgement times the path: sent once (Karn), and not caught in a
   * suspension — an ACK of a record sent before an outage (a probe reply's "last
   * received", a late ACK) measures the outage, and one 10 s sample would leave the RTO
   * at seconds long after the path is back.
   */
  timed: boolean
  fastResent: boolean
}

/** What an ACK did: records now acknowledged (their meta), and whether anything moved. */
export type AckOutcome<T> = { readonly acked: readonly T[]; readonly progress: boolean }

export class Sender<T> {
  readonly #rtt: RttEstimator
  readonly #sent = new Map<number, Sent<T>>()
  #nextSeq = 1
  #cumulative = 0
  #largestAcked = 0
  #flightBytes = 0
  #bufferedBytes = 0
  #rtoDeadlineMs: number | undefined
  #peerWindowBytes: number
  readonly #resend: number[] = []

  constructor(rtt: RttEstimator, peerWindowBytes: number) {
    this.#rtt = rtt
    this.#peerWindowBytes = peerWindowBytes
  }

  /** The last sequence number handed out (0 before the first record). */
  get lastSent(): number {
    return this.#nextSeq - 1
  }

  get nextSeq(): number {
    return this.#nextSeq
  }

  /** Bytes of records above the cumulative ACK (the window's measure). */
  get flightBytes(): number {
    return this.#flightBytes
  }

  /** Bytes of bodies kept for retransmission (unacknowledged, not SACKed). */
  get retransmitBufferBytes(): number {
    return this.#bufferedBytes
  }

  /** Whether a record is unacknowledged. */
  get outstanding(): boolean {
    return this.#cumulative < this.#nextSeq - 1
  }

  /** Whether a record of `size` bytes fits the peer's advertised window now. */
  fits(size: number): boolean {
    return this.#flightBytes + size <= this.#peerWindowBytes
  }

  /** Records a freshly sealed-to-be body under the next sequence number. */
  record(body: readonly Uint8Array[], meta: T, nowMs: number): void {
    const seq = this.#nextSeq++
    const size = bytesLength(body)
    this.#sent.set(seq, {
      seq,
      body,
      size,
      meta,
      lastSentMs: nowMs,
      timed: true,
      fastResent: false,
    })
    this.#flightBytes += size
    this.#bufferedBytes += size
    this.#rtoDeadlineMs ??= nowMs + this.#rtt.rtoMs
  }

  /** Applies an ACK (or a probe's "last received"); stale ones change nothing. */
  onAck(cumulative: number, ranges: readonly SackRange[], nowMs: number): AckOutcome<T> {
    const acked: T[] = []
    let sample: Sent<T> | undefined
    const take = (s: Sent<T>): void => {
      if (s.body === undefined) return
      this.#bufferedBytes -= s.size
      s.body = undefined
      acked.push(s.meta)
      if (s.timed && (!sample || s.lastSentMs > sample.lastSentMs)) sample = s
    }
    const top = Math.min(cumulative, this.#nextSeq - 1)
    for (const [seq, s] of this.#sent) {
      if (seq > top) break
      take(s)
      this.#sent.delete(seq)
      this.#flightBytes -= s.size
    }
    const advanced = top > this.#cumulative
    this.#cumulative = Math.max(this.#cumulative, top)
    // Clamped to what was sent: a range past it would be a bug, and must not cost a loop.
    const last = this.#nextSeq - 1
    for (const r of ranges) {
      for (let seq = Math.max(r.start, this.#cumulative + 1); seq <= Math.min(r.end, last); seq++) {
        const s = this.#sent.get(seq)
        if (s) take(s)
      }
    }
    const sacked = Math.min(ranges.at(-1)?.end ?? 0, last)
    this.#largestAcked = Math.max(this.#largestAcked, this.#cumulative, sacked)
    if (sample) this.#rtt.sample(nowMs - sample.lastSentMs)
    const progress = advanced || acked.length > 0
    if (progress) this.#rtoDeadlineMs = this.#hasUnacked() ? nowMs + this.#rtt.rtoMs : undefined
    this.#detectLoss()
    return { acked, progress }
  }

  /** The receiver's advertised reorder window. */
  setPeerWindow(bytes: number): void {
    this.#peerWindowBytes = bytes
  }

  #hasUnacked(): boolean {
    for (const s of this.#sent.values()) if (s.body) return true
    return false
  }

  #detectLoss(): void {
    for (const s of this.#sent.values()) {
      if (s.seq + LOSS_THRESHOLD > this.#largestAcked) break
      if (s.body && !s.fastResent) {
        s.fastResent = true
        this.#resend.push(s.seq)
      }
    }
  }

  /** When the RTO timer fires, if armed. */
  rtoDeadlineMs(): number | undefined {
    return this.#rtoDeadlineMs
  }

  /** The RTO fired: resend the oldest unacknowledged record, back off, re-arm. */
  onRtoExpired(nowMs: number): void {
    this.#rtt.backOff()
    const oldest = [...this.#sent.values()].find((s) => s.body)
    if (!oldest) {
      this.#rtoDeadlineMs = undefined
      return
    }
    oldest.fastResent = false
    this.#resend.push(oldest.seq)
    this.#rtoDeadlineMs = nowMs + this.#rtt.rtoMs
  }

  /** Queues every unacknowledged record for immediate resending (resumption). */
  resendAll(nowMs: number): void {
    this.#rtt.clearBackoff()
    this.#resend.length = 0
    for (const s of this.#sent.values()) if (s.body) this.#resend.push(s.seq)
    this.#rtoDeadlineMs = this.#resend.length > 0 ? nowMs + this.#rtt.rtoMs : undefined
  }

  /**
   * Stops the RTO timer: a suspended session does not resend blindly. Whatever is in
   * flight now will be acknowledged across the outage, so it no longer times the path.
   */
  disarm(): void {
    this.#rtoDeadlineMs = undefined
    this.#resend.length = 0
    for (const s of this.#sent.values()) s.timed = false
  }

  /** Bodies queued for resending, oldest first, skipping any acknowledged meanwhile. */
  takeResends(nowMs: number): (readonly Uint8Array[])[] {
    const out: (readonly Uint8Array[])[] = []
    for (const seq of this.#resend) {
      const s = this.#sent.get(seq)
      if (!s?.body) continue
      s.timed = false
      s.lastSentMs = nowMs
      out.push(s.body)
    }
    this.#resend.length = 0
    return out
  }
}
