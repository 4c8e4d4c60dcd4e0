/**
 * Builds the frames of one reliable record from what the stream table has waiting:
 * stream opens first (a stream's data never precedes its open), then credit updates,
 * then resets, then data from the ready streams in round-robin order, each limited by
 * its stream credit and the session credit. Sizes are upper bounds (varints of 8 bytes),
 * so the encoded record never exceeds the budget.
 */
import { DATA_FRAME_OVERHEAD_BYTES, RECORD_HEADER_BYTES, type ReliableFrame } from './srm-frames.ts'
import type { Stream } from './stream.ts'
import type { DataPart, StreamTable } from './stream-table.ts'

const ID_FRAME_BYTES = 1 + 8 + 8

export type Packed = { readonly frames: ReliableFrame[]; readonly parts: DataPart[] }

/** The next record's frames within `maxRecordBytes`, or undefined when nothing waits. */
export function packRecord(table: StreamTable, maxRecordBytes: number): Packed | undefined {
  const frames: ReliableFrame[] = []
  let budget = maxRecordBytes - RECORD_HEADER_BYTES
  const spend = (frame: ReliableFrame, size: number): boolean => {
    if (size > budget) return false
    frames.push(frame)
    budget -= size
    return true
  }
  const p = table.pending
  for (const [streamId, meta] of p.opens) {
    if (!spend({ type: 'stream-open', streamId, meta }, ID_FRAME_BYTES + meta.length)) break
    p.opens.delete(streamId)
    const s = table.streams.get(streamId)
    if (s) s.openSent = true
    table.ready.add(streamId)
  }
  for (const [streamId, maxOffset] of p.streamWindows) {
    // A window must follow its stream's open, or the peer would not know the stream.
    if (table.streams.get(streamId)?.openSent === false) continue
    if (!spend({ type: 'stream-window', streamId, maxOffset }, ID_FRAME_BYTES)) break
    p.streamWindows.delete(streamId)
  }
  if (p.sessionWindow !== undefined && spend(sessionWindow(p.sessionWindow), ID_FRAME_BYTES)) {
    p.sessionWindow = undefined
  }
  for (const [streamId, code] of p.resets) {
    if (!spend({ type: 'reset', streamId, code }, ID_FRAME_BYTES)) break
    p.resets.delete(streamId)
  }
  const parts = packData(table, frames, budget)
  return frames.length > 0 ? { frames, parts } : undefined
}

function sessionWindow(maxBytes: number): ReliableFrame {
  return { type: 'session-window', maxBytes }
}

function packData(table: StreamTable, frames: ReliableFrame[], budget: number): DataPart[] {
  const parts: DataPart[] = []
  let room = budget
  // Each stream id is visited at most once per record; a stream with more to send goes
  // to the back of the ready set, which is what makes the order round-robin.
  for (const id of [...table.ready]) {
    if (room <= DATA_FRAME_OVERHEAD_BYTES) break
    const s = table.streams.get(id)
    if (!s?.wantsToSend()) {
      table.ready.delete(id)
      continue
    }
    room = packStream(table, s, frames, parts, room)
    table.ready.delete(id)
    if (s.wantsToSend()) table.ready.add(id)
  }
  return parts
}

/**
 * One visit of a stream: as many data frames as the room and the credit allow, one per
 * queued write it reaches (dequeue hands out views, never joins writes), contiguous in
 * the stream. Returns the room left.
 */
function packStream(
  table: StreamTable,
  s: Stream,
  frames: ReliableFrame[],
  parts: DataPart[],
  room: number,
): number {
  let left = room
  while (left > DATA_FRAME_OVERHEAD_BYTES) {
    const credit = table.peerSessionLimit - table.sessionSent
    const max = Math.min(left - DATA_FRAME_OVERHEAD_BYTES, credit)
    const finPending = s.sendPhase === 'ending'
    if (max <= 0 && !(finPending && s.queuedBytes === 0)) break
    const { offset, bytes } = s.dequeue(Math.max(0, max))
    const fin = finPending && s.queuedBytes === 0
    if (bytes.length === 0 && !fin) break
    if (fin) s.sendPhase = 'fin-sent'
    frames.push({ type: 'data', streamId: s.id, offset, fin, bytes })
    parts.push({ streamId: s.id, bytes: bytes.length, fin })
    table.sessionSent += bytes.length
    left -= DATA_FRAME_OVERHEAD_BYTES + bytes.length
    if (fin || !s.wantsToSend()) break
  }
  return left
}
