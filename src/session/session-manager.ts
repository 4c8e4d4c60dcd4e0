/**
 * Sessions between names over the overlay, sans-I/O: the composition of the SSM handshake
 * and records, the SRM, the DHT lookups and the overlay's routed datagrams.
 *
 * Inputs: `onOverlayEvent` (deliveries and undeliverables of PROTO.session, this node's
 * address changes), `onLookup` (answers to the lookups it asked for), the application's
 * calls (`connect`, `openStream`, `write`, `end`, `reset`, `consume`, `close`), and `tick`
 * at `nextDeadlineMs()`. Outputs, after any input: `takeOutputs()` (routes to send, lookups
 * to start) and `takeEvents()`.
 *
 *   1. connect(name): reuse a session with that name, else dial (session-dial.ts): look up,
 *      hello, retries; streams opened meanwhile wait in the SRM's buffers.
 *   2. An incoming hello opens a half-open session (bounded) and answers the reply; the
 *      first authentic record from the initiator establishes it.
 *   3. Sealed records find their session by id (unknown → dropped, counted, no answer);
 *      the session opens them and roams to the sender's new address (session.ts).
 *   4. Suspended sessions look their peer up afresh; an undeliverable record hints that the
 *      peer moved (look up again); this node's new address resumes every session at once.
 */
import { canonicalName } from '../identity/name.ts'
import type { Address } from '../overlay/address.ts'
import type { OverlayEvent } from '../overlay/node-types.ts'
import { PROTO } from '../overlay/node-types.ts'
import { HelloMemory } from './hello-memory.ts'
import { PeerLookups } from './peer-lookups.ts'
import { Session } from './session.ts'
import { Dial, type DialAction } from './session-dial.ts'
import { checkPeerName, initiateSession, type PendingSession } from './session-handshake.ts'
import { deliverRecord, type InboundContext, recordUndeliverable } from './session-inbound.ts'
import {
  type LookupResult,
  type RouteKind,
  resolveSettings,
  type SessionEvent,
  type SessionHandle,
  type SessionManagerCounters,
  SessionManagerError,
  type SessionManagerInit,
  type SessionManagerSettings,
  type SessionOutput,
  type SessionState,
  type StreamRef,
} from './session-manager-types.ts'
import { SessionTable } from './session-table.ts'
import { encodeEarlyOpens, MAX_STREAM_META_BYTES } from './srm/srm-frames.ts'
import { RESET_CODE } from './srm/srm-types.ts'

export class SessionManager {
  readonly settings: SessionManagerSettings
  readonly #init: SessionManagerInit
  readonly #table = new SessionTable()
  readonly #hellos: HelloMemory
  /** Per peer name: a lookup in flight, and when the last fresh one started. */
  readonly #lookups: PeerLookups
  readonly #counters: Record<string, number> = {}
  readonly #inbound: InboundContext
  #outputs: SessionOutput[] = []
  #events: SessionEvent[] = []
  #nextHandle = 1

  /** Throws RangeError on a setting out of range. */
  constructor(init: SessionManagerInit) {
    this.#init = init
    this.settings = resolveSettings(init)
    this.#hellos = new HelloMemory(this.settings.maxRememberedHellos)
    this.#lookups = new PeerLookups(this.settings)
    this.#inbound = this.#inboundContext()
  }

  get name(): string {
    return this.#init.identity.name
  }

  get counters(): SessionManagerCounters {
    return { ...this.#counters }
  }

  /** Sessions held (dialing, half-open, established). */
  get size(): number {
    return this.#table.size
  }

  // ---- the application's calls ----

  /**
   * Opens a stream to `peerName` carrying `meta` (stream-meta.ts: the port). Reuses a
   * session with that name, else dials one; until it is established, the stream's opens
   * and writes wait in the SRM. Throws SessionManagerError (bad-config, too-many-sessions).
   */
  connect(peerName: string, meta: Uint8Array, nowMs: number): StreamRef {
    const name = canonicalName(peerName)
    if (name === undefined || name === this.name) {
      throw new SessionManagerError('bad-config', `cannot connect to ${peerName}`)
    }
    if (meta.length > MAX_STREAM_META_BYTES) {
      throw new SessionManagerError('bad-config', `stream meta over ${MAX_STREAM_META_BYTES} bytes`)
    }
    try {
      checkPeerName(name) // now: the hello itself is made later, while the lookup runs
    } catch (error) {
      throw new SessionManagerError('bad-config', (error as Error).message)
    }
    const existing = [...this.#table.byHandle.values()].find(
      (s) => s.peerName === name && s.state !== 'closed' && s.state !== 'half-open',
    )
    if (existing !== undefined) return this.openStream(existing.handle, meta, nowMs)
    // A new session: the stream's open rides in the hello too (an early open), so that the
    // peer can take the stream, and answer on it, before the initiator's first record.
    const session = this.#newSession(name, true)
    const streamId = session.srm.openStream(meta)
    const early = encodeEarlyOpens([{ type: 'stream-open', streamId, meta }])
    session.srm.markEarly(streamId)
    this.#dial(session, early, nowMs)
    session.flush(nowMs)
    return { session: session.handle, streamId }
  }

  /** Opens another stream on a session (no handshake). Throws on an unknown handle. */
  openStream(handle: SessionHandle, meta: Uint8Array, nowMs: number): StreamRef {
    const session = this.#get(handle)
    const streamId = session.srm.openStream(meta)
    session.flush(nowMs)
    return { session: handle, streamId }
  }

  /** Bytes accepted (0: wait for `writable`); see SessionReliability.write. */
  write(ref: StreamRef, bytes: Uint8Array, nowMs: number, flush = true): number {
    const session = this.#get(ref.session)
    const n = session.srm.write(ref.streamId, bytes)
    if (flush) session.flush(nowMs)
    return n
  }

  /**
   * Whether less than a record's worth of what the session sent waits for an
   * acknowledgement (control frames, a reply): no bulk transfer is under way, so a write is
   * better sent at once than held back to fill a record.
   */
  idle(handle: SessionHandle): boolean {
    const srm = this.#table.byHandle.get(handle)?.srm
    return srm === undefined || srm.flightBytes < srm.maxRecordBytes
  }

  /**
   * Seals and routes what a session has ready: after writes made with `flush` false, so
   * that a burst of small writes (a socket's 64 KiB reads) becomes full records.
   */
  flush(handle: SessionHandle, nowMs: number): void {
    this.#table.byHandle.get(handle)?.flush(nowMs)
  }

  /**
   * Takes a stream the peer opened (after its `stream-opened` event): the peer's Duplex
   * emits 'connect'. Implied by the first write, end or consume; refuse with reset().
   * With `flush` false the acceptance waits for the next flush, so that what the
   * application writes at once shares its record.
   */
  accept(ref: StreamRef, nowMs: number, flush = true): void {
    const session = this.#get(ref.session)
    session.srm.accept(ref.streamId)
    if (flush) session.flush(nowMs)
  }

  end(ref: StreamRef, nowMs: number): void {
    const session = this.#get(ref.session)
    session.srm.end(ref.streamId)
    session.flush(nowMs)
  }

  reset(ref: StreamRef, nowMs: number, code: number = RESET_CODE.cancelled): void {
    const session = this.#get(ref.session)
    session.srm.reset(ref.streamId, code)
    session.flush(nowMs)
  }

  /** The application took `bytes` of the stream's data: credit returns to the peer. */
  consume(ref: StreamRef, bytes: number, nowMs: number): void {
    const session = this.#table.byHandle.get(ref.session)
    if (session === undefined) return
    session.srm.consume(ref.streamId, bytes)
    session.flush(nowMs)
  }

  /** Closes a session: one sealed `close` to the peer, then `closed` (local). Idempotent. */
  close(handle: SessionHandle, nowMs: number): void {
    this.#table.byHandle.get(handle)?.close(nowMs, 'local', true)
  }

  /** A session's state (`closed` for a handle no longer held). */
  state(handle: SessionHandle): SessionState {
    return this.#table.byHandle.get(handle)?.state ?? 'closed'
  }

  /** The session behind a handle, for inspection (stats, counters, addresses). */
  session(handle: SessionHandle): Session | undefined {
    return this.#table.byHandle.get(handle)
  }

  // ---- the driver's inputs ----

  /** Every overlay event; the manager takes PROTO.session ones and address changes. */
  onOverlayEvent(e: OverlayEvent, nowMs: number): void {
    switch (e.type) {
      case 'deliver':
        if (e.proto === PROTO.session) deliverRecord(this.#inbound, e.payload, e.src, nowMs)
        return
      case 'undeliverable':
        if (e.proto === PROTO.session) recordUndeliverable(this.#inbound, e.payload, e.dest, nowMs)
        return
      case 'address':
        // Every placement after an outage is announced, even at the same address.
        if (e.address !== undefined && e.reason !== 'orphaned' && e.reason !== 'left') {
          this.#moved(nowMs)
        }
        return
      default:
        return
    }
  }

  /** The answer to a `lookup` output for `name` (or any other lookup of it). */
  onLookup(name: string, result: LookupResult, nowMs: number): void {
    this.#lookups.answered(name)
    for (const session of [...this.#table.byHandle.values()]) {
      if (session.peerName !== name) continue
      const dial = this.#table.dials.get(session.handle)
      if (dial !== undefined) this.#dialActions(session, dial.onLookup(result, nowMs), nowMs)
      else if (result.outcome === 'found' && this.#mayMove(session)) {
        this.#table.suspect.delete(session.handle)
        session.peerFound(result.address, nowMs)
      }
    }
  }

  tick(nowMs: number): void {
    for (const session of [...this.#table.byHandle.values()]) {
      const dial = this.#table.dials.get(session.handle)
      if (dial !== undefined) this.#dialActions(session, dial.tick(nowMs), nowMs)
      if (session.halfOpenUntilMs !== undefined && nowMs >= session.halfOpenUntilMs) {
        this.#count('half-open-expired')
        session.close(nowMs, 'local', false)
        continue
      }
      if (session.state !== 'closed') session.tick(nowMs)
    }
  }

  nextDeadlineMs(): number | undefined {
    let next: number | undefined
    for (const session of this.#table.byHandle.values()) {
      const t = this.#table.dials.get(session.handle)?.nextDeadlineMs() ?? session.nextDeadlineMs()
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    return next
  }

  takeOutputs(): SessionOutput[] {
    return this.#outputs.splice(0)
  }

  takeEvents(): SessionEvent[] {
    return this.#events.splice(0)
  }

  // ---- inside ----

  #dial(session: Session, early: Uint8Array, nowMs: number): void {
    const dial = new Dial(() => this.#handshake(session.peerName, early), this.settings)
    this.#table.dials.set(session.handle, dial)
    this.#dialActions(session, dial.begin(nowMs), nowMs)
  }

  #handshake(peerName: string, early?: Uint8Array): PendingSession {
    const random = this.#init.randomBytes
    const identity = this.#init.identity
    return initiateSession({
      identity,
      peerName,
      ...(random && { randomBytes: random }),
      ...(early && { early }),
    })
  }

  #dialActions(session: Session, actions: DialAction[], nowMs: number): void {
    const dial = this.#table.dials.get(session.handle)
    if (dial === undefined) return
    for (const a of actions) {
      switch (a.type) {
        case 'lookup':
          this.#lookup(session.peerName, a.fresh, nowMs, false)
          break
        case 'hello':
          this.#route(a.dest, dial.pending.hello, 'hello', session.handle)
          break
        case 'fail':
          session.close(nowMs, a.reason, false)
          break
      }
    }
  }

  #lookup(name: string, fresh: boolean, nowMs: number, rateLimited: boolean): void {
    if (this.#lookups.request(name, fresh, nowMs, rateLimited)) {
      this.#outputs.push({ type: 'lookup', name, fresh })
    }
  }

  /** A lookup answer may move an established session only when its path looks broken. */
  #mayMove(session: Session): boolean {
    return session.srm.state === 'suspended' || this.#table.suspect.has(session.handle)
  }

  /**
   * This node is placed again, at a new address or its old one: every session resumes
   * (unacknowledged records go out now), every hello in flight goes again. A driver
   * that knows the path is back by other means may call it too.
   */
  resumeAll(nowMs: number): void {
    this.#moved(nowMs)
  }

  #moved(nowMs: number): void {
    for (const session of [...this.#table.byHandle.values()]) {
      const dial = this.#table.dials.get(session.handle)
      if (dial !== undefined) this.#dialActions(session, dial.addressChanged(), nowMs)
      else session.addressChanged(nowMs)
    }
  }

  #newSession(peerName: string, initiator: boolean): Session {
    if (this.#table.size >= this.settings.maxSessions) {
      throw new SessionManagerError('too-many-sessions', `${this.#table.size} sessions`)
    }
    const handle = this.#nextHandle++
    const session = new Session({
      handle,
      peerName,
      initiator,
      srm: { ...this.#init.srm, role: initiator ? 'initiator' : 'responder' },
      context: {
        route: (dest, payload, kind, h, tail) => this.#route(dest, payload, kind, h, tail),
        event: (e) => this.#events.push(e),
        count: (code) => this.#count(code),
        relookup: (s, now) => this.#lookup(s.peerName, true, now, true),
        closed: (s) => this.#table.forget(s),
      },
    })
    this.#table.add(session)
    return session
  }

  /** What session-inbound.ts needs: a narrow view of this manager. */
  #inboundContext(): InboundContext {
    return {
      identity: this.#init.identity,
      settings: this.settings,
      hellos: this.#hellos,
      randomBytes: this.#init.randomBytes,
      table: this.#table,
      relookup: (name, now) => this.#lookup(name, true, now, true),
      full: () => this.#table.size >= this.settings.maxSessions,
      newSession: (peerName) => this.#newSession(peerName, false),
      renewDial: (s) => this.#table.dials.get(s.handle)?.renew(this.#handshake(s.peerName)),
      route: (dest, payload, kind, h) => this.#route(dest, payload, kind, h),
      count: (code) => this.#count(code),
    }
  }

  #route(
    dest: Address,
    payload: Uint8Array,
    kind: RouteKind,
    session?: SessionHandle,
    tail: readonly Uint8Array[] = [],
  ): void {
    this.#outputs.push({ type: 'route', dest, payload, kind, session, tail })
  }

  #get(handle: SessionHandle): Session {
    const session = this.#table.byHandle.get(handle)
    if (session === undefined || session.state === 'closed') {
      throw new SessionManagerError('unknown-session', `no session ${handle}`)
    }
    return session
  }

  #count(code: string): void {
    this.#counters[code] = (this.#counters[code] ?? 0) + 1
  }
}
