/**
 * What arrives for PROTO.session, sans-I/O. `deliverRecord` sorts it:
 *
 *   not a record  dropped, counted (`not-a-record`);
 *   hello        a byte-for-byte repeat gets the remembered reply again (no second
 *                session); otherwise, within `maxHalfOpen`, acceptHello → a half-open
 *                session and its reply to the source address; the streams the hello opens
 *                early open then (stream-opened). With `maxSessions` held,
 *                the reply is followed by a sealed `close` (refused): authentic, so the
 *                initiator can tell a refusal from an outage.
 *   hello-reply  finds the dial by its partial id, reads the reply, and the session is
 *                established at the reply's source address; its queued streams go out.
 *   sealed       the session with that id opens it (session.ts); no such session:
 *                dropped, counted (`unknown-session`), and nothing is ever sent back.
 *
 * `recordUndeliverable`: the overlay could not deliver one of this node's records to the
 * session's current peer address: a hint that the peer moved, so look it up afresh.
 *
 * Every drop is counted (`handshake:<code>`, `half-open-limit`); nothing is answered then.
 */
import type { Identity } from '../identity/keys.ts'
import type { Address } from '../overlay/address.ts'
import type { HelloMemory } from './hello-memory.ts'
import type { Session } from './session.ts'
import { SessionCrypto } from './session-crypto.ts'
import { acceptHello } from './session-handshake.ts'
import {
  CLOSE_CODE,
  type RouteKind,
  type SessionHandle,
  type SessionManagerSettings,
} from './session-manager-types.ts'
import { decodeRecord, decodeRecordHeader, PARTIAL_ID_BYTES } from './session-records.ts'
import type { SessionTable } from './session-table.ts'
import { decodeEarlyOpens } from './srm/srm-frames.ts'

/** What the inbound handshake needs from the manager. */
export interface InboundContext {
  readonly identity: Identity
  readonly settings: SessionManagerSettings
  readonly hellos: HelloMemory
  readonly randomBytes: ((n: number) => Uint8Array) | undefined
  readonly table: SessionTable
  full(): boolean
  newSession(peerName: string): Session
  /** The peer may have moved: a fresh lookup (rate-limited). */
  relookup(peerName: string, nowMs: number): void
  /** The dial's handshake failed past Noise: start it over with a new hello. */
  renewDial(session: Session): void
  route(dest: Address, payload: Uint8Array, kind: RouteKind, session?: SessionHandle): void
  count(code: string): void
}

export function deliverRecord(
  ctx: InboundContext,
  payload: Uint8Array,
  src: Address,
  nowMs: number,
): void {
  const record = decodeRecord(payload)
  if (!record.ok) {
    ctx.count('not-a-record')
    return
  }
  const { header } = record.value
  switch (header.type) {
    case 'hello':
      acceptIncomingHello(ctx, payload, src, nowMs)
      return
    case 'hello-reply':
      readIncomingReply(ctx, payload, header.sessionId, src, nowMs)
      return
    default:
      break
  }
  const session = ctx.table.byId(hex(header.sessionId))
  if (session === undefined) {
    ctx.count('unknown-session')
    return
  }
  const before = session.peerAddress
  session.receive(payload, src, nowMs)
  if (session.peerAddress !== before) ctx.table.suspect.delete(session.handle)
}

export function recordUndeliverable(
  ctx: InboundContext,
  payload: Uint8Array,
  dest: Address,
  nowMs: number,
): void {
  ctx.count('undeliverable')
  // Only the header matters, and may be all there is: the overlay echoes a failed
  // message's first bytes only, and a record that fails at its origin comes back as its
  // header (its sealed body travelled as the message's tail).
  const record = decodeRecordHeader(payload)
  if (!record.ok || record.value.header.type === 'hello') return
  const session = ctx.table.byId(hex(record.value.header.sessionId))
  if (session === undefined || !session.peerAddress?.equals(dest)) return
  ctx.table.suspect.add(session.handle)
  ctx.relookup(session.peerName, nowMs)
}

function acceptIncomingHello(
  ctx: InboundContext,
  hello: Uint8Array,
  src: Address,
  nowMs: number,
): void {
  const again = ctx.hellos.replyTo(hello)
  if (again !== undefined) {
    ctx.count('repeated-hello')
    ctx.route(src, again, 'hello-reply')
    return
  }
  if (ctx.table.halfOpenCount() >= ctx.settings.maxHalfOpen) {
    ctx.count('half-open-limit')
    return
  }
  const random = ctx.randomBytes
  const accepted = acceptHello(ctx.identity, hello, random ? { randomBytes: random } : {})
  if (!accepted.ok) {
    ctx.count(`handshake:${accepted.code}`)
    return
  }
  const { reply, keys } = accepted.value
  if (ctx.full()) {
    const crypto = new SessionCrypto(keys, nowMs)
    ctx.count('refused-sent')
    ctx.route(src, reply, 'hello-reply')
    ctx.route(src, crypto.seal('close', 0, Uint8Array.of(CLOSE_CODE.refused), nowMs), 'close')
    return
  }
  const session = ctx.newSession(keys.peerName)
  session.keysReady(keys, src, nowMs, nowMs + ctx.settings.halfOpenTimeoutMs)
  ctx.table.register(session)
  ctx.hellos.remember(hello, reply)
  ctx.route(src, reply, 'hello-reply', session.handle)
  if (accepted.value.early.length === 0) return
  // Early opens: the streams open now, half-open, so that the application can answer
  // right behind the reply. A replayed hello (past the hello memory) opens them too, but
  // nothing the replayer can read comes of it, and they close when the half-open session
  // expires. Bad ones are only counted: the initiator's first record opens them again.
  const opens = decodeEarlyOpens(accepted.value.early)
  if (!opens.ok) {
    ctx.count('bad-early-opens')
    return
  }
  session.srm.openEarly(opens.value)
  session.flush(nowMs, false)
}

function readIncomingReply(
  ctx: InboundContext,
  reply: Uint8Array,
  sessionId: Uint8Array,
  src: Address,
  nowMs: number,
): void {
  const found =
    ctx.table.dialFor(hex(sessionId.subarray(0, PARTIAL_ID_BYTES))) ??
    ctx.table.dialFor(hex(sessionId.subarray(PARTIAL_ID_BYTES)))
  if (found === undefined) {
    ctx.count('handshake:wrong-state')
    return
  }
  const { session, dial } = found
  const keys = dial.pending.readReply(reply)
  if (!keys.ok) {
    ctx.count(`handshake:${keys.code}`)
    if (keys.code === 'bad-handshake' || keys.code === 'bad-session-id') ctx.renewDial(session)
    return
  }
  session.keysReady(keys.value, src, nowMs)
  ctx.table.register(session)
  session.flush(nowMs)
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
