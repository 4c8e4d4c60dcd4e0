/**
 * What the node remembers about each of its sessions for `semos status`: when it
 * was established, whether it is suspended and since when, the application's bytes
 * each way, and how its last suspension ended. Wall-clock times (they are shown to
 * people); durations from the same clock's differences.
 */
import type { SessionStream } from './session-stream.ts'

export type SessionPhase = 'connecting' | 'active' | 'suspended'

/** One session as `status()` reports it. */
export interface SessionRow {
  readonly peerName: string
  readonly initiator: boolean | undefined
  readonly state: SessionPhase
  /** Wall-clock ms when the session entered its state. */
  readonly sinceMs: number
  readonly streams: number
  /** Application bytes received from the peer and written to it. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** Smoothed round-trip time of the session's records, once measured. */
  readonly rttMs: number | undefined
  readonly suspensions: number
  readonly resumptions: number
  /** The last suspension that ended: how long it lasted. */
  readonly lastSuspendedForMs: number | undefined
  /**
   * How long the last resumption took from this node's re-join to the overlay (its
   * new placement) to the session's resumption; undefined when the node did not
   * re-join during that suspension (the peer moved, or the path healed by itself).
   */
  readonly lastResumedInMs: number | undefined
}

export class SessionEntry {
  readonly peerName: string
  readonly streams = new Map<number, SessionStream>()
  initiator: boolean | undefined
  state: SessionPhase = 'connecting'
  sinceMs: number
  bytesIn = 0
  bytesOut = 0
  suspensions = 0
  resumptions = 0
  lastSuspendedForMs: number | undefined
  lastResumedInMs: number | undefined

  constructor(peerName: string, nowMs: number) {
    this.peerName = peerName
    this.sinceMs = nowMs
  }

  established(initiator: boolean, nowMs: number): void {
    this.initiator = initiator
    this.state = 'active'
    this.sinceMs = nowMs
  }

  suspended(nowMs: number): void {
    this.state = 'suspended'
    this.sinceMs = nowMs
    this.suspensions++
  }

  /** `placedAtMs`: when this node last took a place in the overlay (re-joined). */
  resumed(suspendedForMs: number, placedAtMs: number | undefined, nowMs: number): void {
    const suspendedAt = this.state === 'suspended' ? this.sinceMs : nowMs - suspendedForMs
    this.lastResumedInMs =
      placedAtMs !== undefined && placedAtMs >= suspendedAt ? nowMs - placedAtMs : undefined
    this.lastSuspendedForMs = suspendedForMs
    this.state = 'active'
    this.sinceMs = nowMs
    this.resumptions++
  }

  row(rttMs: number | undefined): SessionRow {
    return {
      peerName: this.peerName,
      initiator: this.initiator,
      state: this.state,
      sinceMs: this.sinceMs,
      streams: this.streams.size,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      rttMs,
      suspensions: this.suspensions,
      resumptions: this.resumptions,
      lastSuspendedForMs: this.lastSuspendedForMs,
      lastResumedInMs: this.lastResumedInMs,
    }
  }
}
