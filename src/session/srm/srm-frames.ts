/**
 * The SRM record bodies and their frames (docs/session-reliability.md, "Records"): the
 * only encoder and decoder. A record body is what the SSM seals into one datagram.
 *
 *   record   = seq (varint) ‖ frames
 *   seq ≥ 1  a reliable record: zero or more reliable frames, acknowledged and resent whole
 *   seq = 0  a control record: exactly one control frame, never acknowledged nor resent
 *
 *   reliable frames                         control frames
 *   1 stream-open   id ‖ meta len ‖ meta     6 ack          cum ‖ window ‖ n ‖ n × (start ‖ len)
 *   2 data          id ‖ offset ‖ fin ‖      7 probe        id ‖ last received ‖ last sent
 *                   len ‖ bytes             8 probe-reply  id ‖ last received ‖ last sent
 *   3 reset         id ‖ code
 *   4 stream-window id ‖ max offset
 *   5 session-window max bytes
 *
 * Every number is an unsigned LEB128 varint (core/bytes.ts). Decoding never throws: bad
 * input is a coded `FrameError`.
 */
import { ByteReader, ByteWriter, concatBytes, MAX_VARINT_BYTES } from '../../core/bytes.ts'
import { type Decoded, fail, ok } from '../../core/result.ts'

// Specification constants.

export const FRAME_TYPE = {
  streamOpen: 1,
  data: 2,
  reset: 3,
  streamWindow: 4,
  sessionWindow: 5,
  ack: 6,
  probe: 7,
  probeReply: 8,
} as const

/** A stream-open may name what the stream is for (a forward target): at most this much. */
export const MAX_STREAM_META_BYTES = 1024
/** An ACK carries at most this many SACK ranges; older gaps wait for the next ACK. */
export const MAX_SACK_RANGES = 32
/** Bytes a data frame adds before its payload, at most (type, id, offset, fin, length). */
export const DATA_FRAME_OVERHEAD_BYTES = 1 + 8 + 8 + 1 + 8
/** Bytes a record adds before its frames, at most (seq). */
export const RECORD_HEADER_BYTES = 8

export type SackRange = { readonly start: number; readonly end: number }

export type ReliableFrame =
  | { readonly type: 'stream-open'; readonly streamId: number; readonly meta: Uint8Array }
  | {
      readonly type: 'data'
      readonly streamId: number
      readonly offset: number
      readonly fin: boolean
      readonly bytes: Uint8Array
    }
  | { readonly type: 'reset'; readonly streamId: number; readonly code: number }
  | { readonly type: 'stream-window'; readonly streamId: number; readonly maxOffset: number }
  | { readonly type: 'session-window'; readonly maxBytes: number }

/** What a probe (the Re-Hello) and its reply carry: where each side stands. */
export type ProbeFields = {
  readonly probeId: number
  /** The highest sequence number received in order (the cumulative acknowledgement). */
  readonly lastReceived: number
  /** The highest sequence number sent so far. */
  readonly lastSent: number
}

export type ControlFrame =
  | {
      readonly type: 'ack'
      readonly cumulative: number
      readonly windowBytes: number
      /** Received ranges above `cumulative`, ascending, inclusive, disjoint. */
      readonly ranges: readonly SackRange[]
    }
  | ({ readonly type: 'probe' } & ProbeFields)
  | ({ readonly type: 'probe-reply' } & ProbeFields)

export type SrmRecord =
  | { readonly kind: 'reliable'; readonly seq: number; readonly frames: readonly ReliableFrame[] }
  | { readonly kind: 'control'; readonly frame: ControlFrame }

export type FrameError =
  | 'truncated'
  | 'unknown-frame'
  | 'misplaced-frame'
  | 'bad-control'
  | 'bad-ranges'
  | 'bad-meta'
  | 'bad-flags'

export function encodeRecord(record: SrmRecord): Uint8Array {
  if (record.kind === 'control') {
    const w = new ByteWriter(256)
    w.varint(0)
    writeControl(w, record.frame)
    return w.finish()
  }
  const parts = encodeRecordParts(record)
  return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts)
}

/** Data of at least this many bytes stays where it is, a part of its own (not copied). */
export const DATA_PART_MIN_BYTES = 512

/**
 * A reliable record as parts whose concatenation is encodeRecord's: the frames' encoding,
 * with every data payload of DATA_PART_MIN_BYTES or more left as the caller's bytes (a
 * view, not a copy) between the encoded pieces. For sealing part by part: a 60 KB record
 * is then never copied on its way to the socket.
 */
export function encodeRecordParts(record: Extract<SrmRecord, { kind: 'reliable' }>): Uint8Array[] {
  if (record.seq < 1) throw new RangeError('a reliable record has seq ≥ 1')
  // Sized for the worst case up front, so that the writer never grows (and copies).
  let bound = MAX_VARINT_BYTES
  for (const f of record.frames) {
    const inline = f.type === 'data' && f.bytes.length >= DATA_PART_MIN_BYTES ? 0 : frameBytes(f)
    bound += FRAME_BOUND_BYTES + inline
  }
  const w = ByteWriter.bounded(bound)
  const parts: Uint8Array[] = []
  let start = 0
  w.varint(record.seq)
  for (const frame of record.frames) {
    if (frame.type !== 'data' || frame.bytes.length < DATA_PART_MIN_BYTES) {
      writeReliable(w, frame)
      continue
    }
    writeDataHeader(w, frame)
    parts.push(w.viewFrom(start), frame.bytes)
    start = w.length
  }
  if (w.length > start || parts.length === 0) parts.push(w.viewFrom(start))
  w.finishView() // zeroes the slack: the views' buffer may be reached through .buffer
  return parts
}

/** A stream-open frame: what the hello may carry early (docs/wire-session.md, "Early opens"). */
export type StreamOpenFrame = Extract<ReliableFrame, { type: 'stream-open' }>

/** The most stream opens one hello carries early. */
export const MAX_EARLY_OPENS = 1
/** The most bytes the early opens take: one frame with the longest meta. */
export const MAX_EARLY_OPEN_BYTES =
  MAX_EARLY_OPENS * (1 + 2 * MAX_VARINT_BYTES + MAX_STREAM_META_BYTES)

/**
 * Stream opens as the hello carries them early: stream-open frames, one after the other,
 * encoded as in a reliable record (no seq: they are copies of frames the initiator's first
 * reliable record carries again).
 */
export function encodeEarlyOpens(opens: readonly StreamOpenFrame[]): Uint8Array {
  if (opens.length > MAX_EARLY_OPENS) throw new RangeError(`at most ${MAX_EARLY_OPENS} early opens`)
  const w = new ByteWriter(64)
  for (const open of opens) writeReliable(w, open)
  return w.finish()
}

/** Decodes early opens; never throws. Anything but stream-open frames is `misplaced-frame`. */
export function decodeEarlyOpens(bytes: Uint8Array): Decoded<StreamOpenFrame[], FrameError> {
  const r = new ByteReader(bytes)
  const opens: StreamOpenFrame[] = []
  while (r.remaining > 0) {
    const frame = readReliable(r)
    if (!frame.ok) return frame
    if (frame.value.type !== 'stream-open') {
      return fail('misplaced-frame', `${frame.value.type} among early opens`)
    }
    if (opens.length === MAX_EARLY_OPENS) return fail('misplaced-frame', 'too many early opens')
    opens.push(frame.value)
  }
  return ok(opens)
}

/** A frame's type byte and up to three varints. */
const FRAME_BOUND_BYTES = 1 + 4 * MAX_VARINT_BYTES

function frameBytes(f: ReliableFrame): number {
  return f.type === 'data' ? f.bytes.length : f.type === 'stream-open' ? f.meta.length : 0
}

function writeReliable(w: ByteWriter, f: ReliableFrame): void {
  switch (f.type) {
    case 'stream-open':
      if (f.meta.length > MAX_STREAM_META_BYTES) throw new RangeError('stream meta too long')
      w.u8(FRAME_TYPE.streamOpen).varint(f.streamId).varint(f.meta.length).bytes(f.meta)
      return
    case 'data':
      writeDataHeader(w, f)
      w.bytes(f.bytes)
      return
    case 'reset':
      w.u8(FRAME_TYPE.reset).varint(f.streamId).varint(f.code)
      return
    case 'stream-window':
      w.u8(FRAME_TYPE.streamWindow).varint(f.streamId).varint(f.maxOffset)
      return
    case 'session-window':
      w.u8(FRAME_TYPE.sessionWindow).varint(f.maxBytes)
      return
    default:
      assertNever(f)
  }
}

/** A data frame up to its payload: type, id, offset, fin, length. */
function writeDataHeader(w: ByteWriter, f: Extract<ReliableFrame, { type: 'data' }>): void {
  w.u8(FRAME_TYPE.data)
    .varint(f.streamId)
    .varint(f.offset)
    .u8(f.fin ? 1 : 0)
    .varint(f.bytes.length)
}

function writeControl(w: ByteWriter, f: ControlFrame): void {
  switch (f.type) {
    case 'ack':
      if (f.ranges.length > MAX_SACK_RANGES) throw new RangeError('too many SACK ranges')
      w.u8(FRAME_TYPE.ack).varint(f.cumulative).varint(f.windowBytes).varint(f.ranges.length)
      for (const r of f.ranges) w.varint(r.start).varint(r.end - r.start)
      return
    case 'probe':
    case 'probe-reply':
      w.u8(f.type === 'probe' ? FRAME_TYPE.probe : FRAME_TYPE.probeReply)
      w.varint(f.probeId).varint(f.lastReceived).varint(f.lastSent)
      return
    default:
      assertNever(f)
  }
}

/**
 * Decodes one record body; never throws. Data frames are views of `bytes`: the caller
 * gives the body away (it must not change it afterwards).
 */
export function decodeRecord(bytes: Uint8Array): Decoded<SrmRecord, FrameError> {
  const r = new ByteReader(bytes)
  const seq = r.varint()
  if (seq === undefined) return fail('truncated', 'no sequence number')
  if (seq === 0) {
    const frame = readControl(r)
    if (!frame.ok) return frame
    if (r.remaining !== 0) return fail('bad-control', 'a control record holds one frame')
    return ok({ kind: 'control', frame: frame.value })
  }
  const frames: ReliableFrame[] = []
  while (r.remaining > 0) {
    const frame = readReliable(r)
    if (!frame.ok) return frame
    frames.push(frame.value)
  }
  return ok({ kind: 'reliable', seq, frames })
}

function readReliable(r: ByteReader): Decoded<ReliableFrame, FrameError> {
  const type = r.u8()
  switch (type) {
    case FRAME_TYPE.streamOpen: {
      const streamId = r.varint()
      const len = r.varint()
      if (len !== undefined && len > MAX_STREAM_META_BYTES) return fail('bad-meta', 'meta too long')
      const meta = len === undefined ? undefined : r.bytes(len)
      if (streamId === undefined || meta === undefined) return truncated('stream-open')
      return ok({ type: 'stream-open', streamId, meta: Uint8Array.from(meta) })
    }
    case FRAME_TYPE.data:
      return readData(r)
    case FRAME_TYPE.reset: {
      const streamId = r.varint()
      const code = r.varint()
      if (streamId === undefined || code === undefined) return truncated('reset')
      return ok({ type: 'reset', streamId, code })
    }
    case FRAME_TYPE.streamWindow: {
      const streamId = r.varint()
      const maxOffset = r.varint()
      if (streamId === undefined || maxOffset === undefined) return truncated('stream-window')
      return ok({ type: 'stream-window', streamId, maxOffset })
    }
    case FRAME_TYPE.sessionWindow: {
      const maxBytes = r.varint()
      if (maxBytes === undefined) return truncated('session-window')
      return ok({ type: 'session-window', maxBytes })
    }
    case FRAME_TYPE.ack:
    case FRAME_TYPE.probe:
    case FRAME_TYPE.probeReply:
      return fail('misplaced-frame', `control frame ${type} in a reliable record`)
    default:
      return fail('unknown-frame', `frame type ${type}`)
  }
}

function readData(r: ByteReader): Decoded<ReliableFrame, FrameError> {
  const streamId = r.varint()
  const offset = r.varint()
  const flags = r.u8()
  const len = r.varint()
  const bytes = len === undefined ? undefined : r.bytes(len)
  if (streamId === undefined || offset === undefined || flags === undefined) {
    return truncated('data')
  }
  if (bytes === undefined) return truncated('data')
  if (flags > 1) return fail('bad-flags', `data flags ${flags}`)
  // A view, not a copy: a record body is a buffer of its own (the AEAD's output), which
  // the frame may keep alive in the reorder buffer and in events. decodeRecord's callers
  // hand over the body and do not write to it again.
  return ok({ type: 'data', streamId, offset, fin: flags === 1, bytes })
}

function readControl(r: ByteReader): Decoded<ControlFrame, FrameError> {
  const type = r.u8()
  switch (type) {
    case FRAME_TYPE.ack:
      return readAck(r)
    case FRAME_TYPE.probe:
    case FRAME_TYPE.probeReply: {
      const probeId = r.varint()
      const lastReceived = r.varint()
      const lastSent = r.varint()
      if (probeId === undefined || lastReceived === undefined || lastSent === undefined) {
        return truncated('probe')
      }
      const kind = type === FRAME_TYPE.probe ? 'probe' : 'probe-reply'
      return ok({ type: kind, probeId, lastReceived, lastSent })
    }
    case undefined:
      return fail('bad-control', 'a control record holds one frame')
    default:
      return fail(type <= FRAME_TYPE.sessionWindow ? 'misplaced-frame' : 'unknown-frame', `${type}`)
  }
}

function readAck(r: ByteReader): Decoded<ControlFrame, FrameError> {
  const cumulative = r.varint()
  const windowBytes = r.varint()
  const count = r.varint()
  if (cumulative === undefined || windowBytes === undefined || count === undefined) {
    return truncated('ack')
  }
  if (count > MAX_SACK_RANGES) return fail('bad-ranges', `${count} ranges`)
  const ranges: SackRange[] = []
  let floor = cumulative + 1
  for (let i = 0; i < count; i++) {
    const start = r.varint()
    const span = r.varint()
    if (start === undefined || span === undefined) return truncated('ack')
    // Ranges must leave a gap above the cumulative point and above each other.
    if (start <= floor) return fail('bad-ranges', 'ranges overlap, touch or are unordered')
    ranges.push({ start, end: start + span })
    floor = start + span + 1
  }
  return ok({ type: 'ack', cumulative, windowBytes, ranges })
}

function truncated(what: string): { readonly ok: false; code: 'truncated'; detail: string } {
  return { ok: false, code: 'truncated', detail: `${what} frame cut short` }
}

/** Exhaustiveness check for switches over the unions above. */
export function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`)
}
