/**
 * One stream's two directions. Sending: bytes written and not yet acknowledged (queued
 * or in flight) are bounded by `sendBufferBytes`, and bytes sent by the peer's credit
 * (`sendLimit`, an absolute offset raised by stream-window frames). Receiving: bytes
 * delivered but not consumed by the application are bounded by the credit this side
 * granted, which grows as the application consumes.
 */

export type SendPhase = 'open' | 'ending' | 'fin-sent' | 'fin-acked'

export class Stream {
  readonly id: number
  // Send side.
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #written = 0
  #sent = 0
  #acked = 0
  sendLimit: number
  sendPhase: SendPhase = 'open'
  /** Its stream-open frame has been packed; data may follow it. */
  openSent: boolean
  /** write() refused bytes since the last `writable` event. */
  blocked = false
  /** The peer has taken the stream (its first frame that is not a reset); true if it opened it. */
  accepted: boolean
  /** Its receive window was announced to the peer (a peer-opened stream: once accepted). */
  announced = true
  // Receive side.
  received = 0
  consumed = 0
  advertised: number
  finReceived = false

  constructor(id: number, sendLimit: number, receiveWindow: number, openSent: boolean) {
    this.id = id
    this.sendLimit = sendLimit
    this.advertised = receiveWindow
    this.openSent = openSent
    this.accepted = openSent
  }

  /** Written but not yet acknowledged: what the send buffer holds. */
  get bufferedBytes(): number {
    return this.#written - this.#acked
  }

  get queuedBytes(): number {
    return this.#queuedBytes
  }

  get unconsumed(): number {
    return this.received - this.consumed
  }

  /** Accepts up to `n` bytes of `bytes` (the caller computed the room). */
  enqueue(bytes: Uint8Array, n: number): void {
    if (n <= 0) return
    // A copy: the application may reuse its buffer once write() returns.
    this.#queue.push(bytes.slice(0, n))
    this.#queuedBytes += n
    this.#written += n
  }

  /** How many queued bytes the peer's stream credit lets out now. */
  get sendable(): number {
    return Math.min(this.#queuedBytes, this.sendLimit - this.#sent)
  }

  /** Whether a data frame (bytes, or a bare FIN) could be packed now. */
  wantsToSend(): boolean {
    if (!this.openSent) return false
    return this.sendable > 0 || (this.sendPhase === 'ending' && this.#queuedBytes === 0)
  }

  /**
   * Takes up to `max` queued bytes for a data frame, from one write only (a view of it,
   * never a copy: call again for the rest); returns them and their offset.
   */
  dequeue(max: number): { offset: number; bytes: Uint8Array } {
    const offset = this.#sent
    const first = this.#queue[0]
    const n = Math.min(max, this.sendable, first?.length ?? 0)
    if (first === undefined || n === 0) return { offset, bytes: new Uint8Array(0) }
    // The queue holds copies (enqueue): a view of one is safe to hand out.
    const bytes = first.subarray(0, n)
    if (n === first.length) this.#queue.shift()
    else this.#queue[0] = first.subarray(n)
    this.#queuedBytes -= n
    this.#sent += n
    return { offset, bytes }
  }

  /** Bytes of this stream in a record were acknowledged. */
  onAcked(bytes: number, fin: boolean): void {
    this.#acked += bytes
    if (fin) this.sendPhase = 'fin-acked'
  }

  /** Drops what was never sent (a reset); returns the bytes released from the buffer. */
  dropQueued(): number {
    const n = this.#queuedBytes
    this.#queue = []
    this.#queuedBytes = 0
    this.#written -= n
    return n
  }

  /** Both directions are finished and nothing is left for the application. */
  get done(): boolean {
    return (
      this.sendPhase === 'fin-acked' &&
      this.bufferedBytes === 0 &&
      this.finReceived &&
      this.unconsumed === 0
    )
  }
}
