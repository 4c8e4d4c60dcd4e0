/**
 * The SRM's options with their defaults, its events and its usage errors
 * (docs/session-reliability.md). Every bound is here, named, with its unit.
 */
import { CodedError } from '../../core/coded-error.ts'

/** Options of `SessionReliability`; every field has a documented default. */
export type SrmInit = {
  /**
   * Which end of the session this is. Streams opened by the initiator have even ids,
   * by the responder odd ones, so that both can open streams without a handshake.
   */
  readonly role: 'initiator' | 'responder'
  /** Largest record body this side builds. Default 60,000 bytes (see the docs for why). */
  readonly maxRecordBytes?: number
  /** Send an ACK after this many reliable records (Algorithm 1's Max_i). Default 8 (docs/session-reliability.md: why). */
  readonly ackEveryRecords?: number
  /** …or this long after the first unacknowledged one arrived. Default 10 ms. */
  readonly ackDelayMs?: number
  /** Bytes a stream holds unacknowledged (unsent + in flight) before write() refuses. 4 MiB. */
  readonly streamSendBufferBytes?: number
  /** The same bound over all streams of the session. Default 64 MiB. */
  readonly sessionSendBufferBytes?: number
  /** Credit per stream: bytes delivered but not consumed by the application. 4 MiB. */
  readonly streamReceiveWindowBytes?: number
  /** Credit over all streams of the session. Default 16 MiB. */
  readonly sessionReceiveWindowBytes?: number
  /** The reorder buffer (records received above a gap), advertised in every ACK. 4 MiB. */
  readonly reorderWindowBytes?: number
  /**
   * The credit the peer grants on a new stream before its first window frame, if the
   * handshake announced one. Default INITIAL_STREAM_CREDIT_BYTES.
   */
  readonly peerStreamWindowBytes?: number
  /** The same for the session credit. Default INITIAL_SESSION_CREDIT_BYTES. */
  readonly peerSessionWindowBytes?: number
  /** Streams open at once; the peer's opens beyond it are reset with `refused`. 4096. */
  readonly maxStreams?: number
  /** RTO bounds (RFC 6298 with a 200 ms floor instead of 1 s). Defaults 200 ms / 60 s. */
  readonly minRtoMs?: number
  readonly maxRtoMs?: number
  /** RTO before any RTT sample (RFC 6298 §2.1). Default 1,000 ms. */
  readonly initialRtoMs?: number
  /** No ACK progress for max(this, 2 × RTO) with data outstanding → suspended. 1,500 ms. */
  readonly suspendAfterMs?: number
  /** First Re-Hello interval after the immediate one; doubles up to the cap. 250 ms. */
  readonly probeInitialMs?: number
  /** Re-Hello interval cap. Default 5,000 ms. */
  readonly probeMaxMs?: number
  /** A session suspended this long is closed; `Infinity` (default) never closes it. */
  readonly suspendLimitMs?: number
}

export type SrmConfig = Required<SrmInit>

// Specification constants: both ends assume them until a frame says otherwise.

/** Credit on a new stream before the receiver's first stream-window frame. */
export const INITIAL_STREAM_CREDIT_BYTES = 64 * 1024
/** Session credit before the receiver's first session-window frame. */
export const INITIAL_SESSION_CREDIT_BYTES = 1024 * 1024
/** The reorder window a sender assumes before the first ACK tells it the real one. */
export const INITIAL_REORDER_WINDOW_BYTES = 1024 * 1024

export const SRM_DEFAULTS: Omit<SrmConfig, 'role'> = {
  maxRecordBytes: 60_000,
  ackEveryRecords: 8,
  ackDelayMs: 10,
  streamSendBufferBytes: 4 * 1024 * 1024,
  sessionSendBufferBytes: 64 * 1024 * 1024,
  streamReceiveWindowBytes: 4 * 1024 * 1024,
  sessionReceiveWindowBytes: 16 * 1024 * 1024,
  reorderWindowBytes: 4 * 1024 * 1024,
  peerStreamWindowBytes: 0,
  peerSessionWindowBytes: 0,
  maxStreams: 4096,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  initialRtoMs: 1000,
  suspendAfterMs: 1500,
  probeInitialMs: 250,
  probeMaxMs: 5000,
  suspendLimitMs: Number.POSITIVE_INFINITY,
}

/** The largest record body the datagram service below carries (64,000 minus SSM headers). */
export const MAX_RECORD_BYTES = 60_000
/** A record must hold a stream-open with the longest meta (MAX_STREAM_META_BYTES). */
export const MIN_RECORD_BYTES = 2048

/** Fills in defaults and checks bounds; throws `SrmError('bad-config')`. */
export function resolveConfig(init: SrmInit): SrmConfig {
  const merged = { ...SRM_DEFAULTS, ...stripUndefined(init) } as SrmConfig
  const c: SrmConfig = {
    ...merged,
    peerStreamWindowBytes: merged.peerStreamWindowBytes || INITIAL_STREAM_CREDIT_BYTES,
    peerSessionWindowBytes: merged.peerSessionWindowBytes || INITIAL_SESSION_CREDIT_BYTES,
  }
  const positive = (Object.keys(SRM_DEFAULTS) as (keyof typeof SRM_DEFAULTS)[]).filter(
    (k) => !(c[k] > 0),
  )
  if (positive.length > 0) throw new SrmError('bad-config', `not positive: ${positive.join(', ')}`)
  if (c.maxRecordBytes < MIN_RECORD_BYTES || c.maxRecordBytes > MAX_RECORD_BYTES) {
    const range = `${MIN_RECORD_BYTES}..${MAX_RECORD_BYTES}`
    throw new SrmError('bad-config', `maxRecordBytes must be ${range}`)
  }
  if (c.streamSendBufferBytes > c.sessionSendBufferBytes) {
    throw new SrmError('bad-config', 'streamSendBufferBytes exceeds sessionSendBufferBytes')
  }
  if (
    c.streamReceiveWindowBytes < INITIAL_STREAM_CREDIT_BYTES ||
    c.sessionReceiveWindowBytes < INITIAL_SESSION_CREDIT_BYTES
  ) {
    throw new SrmError('bad-config', 'a receive window below the initial credit peers assume')
  }
  if (c.reorderWindowBytes < c.maxRecordBytes) {
    throw new SrmError('bad-config', 'reorderWindowBytes must hold one record')
  }
  if (c.role !== 'initiator' && c.role !== 'responder') {
    throw new SrmError('bad-config', `role: ${String(c.role)}`)
  }
  return c
}

function stripUndefined(init: SrmInit): Partial<SrmConfig> {
  return Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined))
}

/** Where the session stands. `closed` only by `close()` or the suspend limit. */
export type SrmState = 'active' | 'suspended' | 'closed'

/** Why the session was suspended, resumed or closed. */
export type SuspendReason = 'ack-timeout'
export type ResumeReason = 'record-received' | 'probe-reply' | 'driver'
export type CloseReason = 'local' | 'suspend-limit'

/** Reset codes the SRM itself uses; applications may send any other number. */
/**
 * Why a stream was reset: `refused` — nobody listens on its port; `forbidden` — the
 * listener does not take streams from this peer (an allow-list).
 */
export const RESET_CODE = { cancelled: 0, refused: 1, protocolError: 2, forbidden: 3 } as const

/** What the application (the forwarder) learns from `takeEvents()`, in order. */
export type SrmEvent =
  | { readonly type: 'stream-opened'; readonly streamId: number; readonly meta: Uint8Array }
  | { readonly type: 'data'; readonly streamId: number; readonly bytes: Uint8Array }
  /**
   * The peer took a stream this side opened: its first frame for it that is not a reset
   * (the taker always announces the stream's window at once). Before any data or end.
   */
  | { readonly type: 'stream-accepted'; readonly streamId: number }
  /** The peer half-closed its direction (FIN → the local socket's end()). */
  | { readonly type: 'end'; readonly streamId: number }
  /** The peer reset the stream (RST → destroy(err)); both directions are gone. */
  | { readonly type: 'reset'; readonly streamId: number; readonly code: number }
  /** write() had refused bytes on this stream; it accepts some again. */
  | { readonly type: 'writable'; readonly streamId: number }
  /** Both directions finished and acknowledged: the stream id is gone. */
  | { readonly type: 'stream-closed'; readonly streamId: number }
  | { readonly type: 'suspended'; readonly reason: SuspendReason; readonly atMs: number }
  | {
      readonly type: 'resumed'
      readonly reason: ResumeReason
      readonly atMs: number
      readonly suspendedForMs: number
    }
  | { readonly type: 'closed'; readonly reason: CloseReason; readonly atMs: number }

/** Where the buffers stand: every figure here has a configured bound. */
export type SrmStats = {
  readonly state: SrmState
  readonly streams: number
  readonly flightBytes: number
  readonly retransmitBufferBytes: number
  readonly reorderBytes: number
  readonly sendBufferedBytes: number
  readonly unconsumedBytes: number
  readonly srttMs: number | undefined
  readonly rtoMs: number
  readonly dropped: Readonly<Record<string, number>>
}

/** A record body to seal and send; `probe` ones go to the peer's freshly looked-up address. */
export type OutgoingRecord = {
  readonly kind: 'data' | 'retransmit' | 'ack' | 'probe' | 'probe-reply'
  /** The record body in parts (their concatenation): large data is not copied into it. */
  readonly body: readonly Uint8Array[]
}

/** Local misuse of the SRM. */
export type SrmUsageError =
  /** An option out of range. */
  | 'bad-config'
  /** No such stream, or not one this side may use. */
  | 'unknown-stream'
  /** write() or end() after end() or after a reset. */
  | 'stream-finished'
  /** openStream() with maxStreams already open. */
  | 'too-many-streams'
  /** Any call after close(). */
  | 'session-closed'

export class SrmError extends CodedError<SrmUsageError> {}
