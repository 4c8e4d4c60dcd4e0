/**
 * The TCP driver's public types, options and their defaults (tcp-link.ts has
 * the driver, link-types.ts the session's own options).
 */
import type { Socket } from 'node:net'
import type { LinkCounters } from './link-counters.ts'
import type { LinkCloseReason, LinkSessionInit } from './link-types.ts'

// Tuning constants.
/** How long a closed link waits for the peer to close its side before destroying the socket. */
export const CLOSE_LINGER_MS = 1000
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000
/**
 * Sixteen full frames. A socket's own mark (64 KiB) would refuse after every full-size send;
 * past the mark a link also writes at once rather than at the end of the turn, so a larger
 * one means fewer, larger writevs (1 MiB against 256 KiB: about 10 % more throughput through
 * one session, docs/wire-link.md).
 */
export const DEFAULT_HIGH_WATER_MARK_BYTES = 16 * 65_536

/**
 * Why a TcpLink closed: the session's reasons, plus the driver's own —
 * `connect-failed` (dial refused, unreachable or timed out), `socket-closed`
 * (the connection ended or was reset without a close record), `socket-error`
 * (any other socket error).
 */
export type TcpLinkCloseReason =
  | LinkCloseReason
  | 'connect-failed'
  | 'socket-closed'
  | 'socket-error'

export interface TcpLinkInit extends LinkSessionInit {
  /** A connected (responder) or connecting (initiator) socket; the link owns it from now on. */
  readonly socket: Socket
  /** Monotonic milliseconds. Default: performance.now(). */
  readonly now?: () => number
  /** Every close is counted here by reason, if given. */
  readonly counters?: LinkCounters
  /**
   * `send` returns false while the socket holds more unwritten bytes than this.
   * Default 1 MiB; never below the socket's writableHighWaterMark, so that the
   * socket's own 'drain' always follows.
   */
  readonly highWaterMarkBytes?: number
}

/** The options `dialLink` takes: a TcpLinkInit without the socket, always the initiator. */
export type DialInit = Omit<TcpLinkInit, 'socket' | 'initiator'>

export type TcpLinkEvents = {
  /** The peer is authenticated as `peerName`; `send` may be called. */
  open: [peerName: string]
  /**
   * One payload, in order. `sealedTail`: how many of its last bytes came sealed end to
   * end (LinkSession.send). The array is the link's to give away unless `borrowed`: then
   * it is the link's own memory, to use or copy before this link's next 'data'
   * (LinkEvent 'data').
   */
  data: [payload: Uint8Array, sealedTail: number, borrowed: boolean]
  /** The write buffer emptied after a `send` returned false. */
  drain: []
  /** Exactly once; nothing follows. */
  closed: [reason: TcpLinkCloseReason, detail: string]
}
