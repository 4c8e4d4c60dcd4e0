/**
 * The session manager's public types (session-manager.ts has the state machine): its
 * options with their defaults, what it asks of its driver (outputs), what it reports
 * (events), and its counters. Every bound is a named setting here.
 */
import { CodedError } from '../core/coded-error.ts'
import type { Identity } from '../identity/keys.ts'
import type { Address } from '../overlay/address.ts'
import type { SrmInit } from './srm/srm-types.ts'

/** Options of `SessionManager`; every field but `identity` has a documented default. */
export interface SessionManagerSettings {
  /** Sessions held at once (dialing, half-open and established). Default 1,024. */
  readonly maxSessions: number
  /**
   * Accepted sessions whose initiator has not yet sent an authentic record. A replayed
   * hello costs a slot here only (docs/wire-session.md, "Caveats"). Default 64.
   */
  readonly maxHalfOpen: number
  /** A half-open session that hears nothing for this long is dropped silently. 30,000 ms. */
  readonly halfOpenTimeoutMs: number
  /** Hello attempts (each after a lookup) before `unreachable` / `not-found`. Default 6. */
  readonly handshakeAttempts: number
  /** Wait for a hello-reply after the first attempt; doubles each attempt. Default 500 ms. */
  readonly handshakeRetryMs: number
  /** Longest wait between attempts. Default 8,000 ms. */
  readonly handshakeRetryMaxMs: number
  /** A lookup that does not answer within this long counts as failed. Default 3,000 ms. */
  readonly lookupTimeoutMs: number
  /** Least time between two fresh lookups of the same peer (hints, probes). Default 1,000 ms. */
  readonly relookupIntervalMs: number
  /** Remembered hellos (to answer a repeated one with the same reply). Default 256. */
  readonly maxRememberedHellos: number
}

export const SESSION_MANAGER_DEFAULTS: SessionManagerSettings = {
  maxSessions: 1024,
  maxHalfOpen: 64,
  halfOpenTimeoutMs: 30_000,
  handshakeAttempts: 6,
  handshakeRetryMs: 500,
  handshakeRetryMaxMs: 8000,
  lookupTimeoutMs: 3000,
  relookupIntervalMs: 1000,
  maxRememberedHellos: 256,
}

/** A local number naming one session of this manager (not the wire session id). */
export type SessionHandle = number

/** One stream: the session's local handle and the SRM stream id. */
export interface StreamRef {
  readonly session: SessionHandle
  readonly streamId: number
}

/**
 * Where a session stands:
 *   dialing      this side looks the peer up and sends hellos; streams queue in the SRM
 *   half-open    accepted a hello; waiting for the initiator's first authentic record
 *   established  records flow (the SRM may be suspended inside: see `suspended`)
 *   closed       gone; its handle means nothing any more
 */
export type SessionState = 'dialing' | 'half-open' | 'established' | 'closed'

/** Why a session ended. */
export type SessionCloseReason =
  /** close() here. */
  | 'local'
  /** The peer sent a sealed `close`. */
  | 'peer-closed'
  /** The SRM's suspend limit ran out. */
  | 'suspend-limit'
  /** Dialing: every lookup said the name has no record. */
  | 'not-found'
  /** Dialing: no hello-reply within the attempts (or no lookup answered). */
  | 'unreachable'
  /** Dialing: the peer answered the hello and closed at once (its session table is full). */
  | 'refused'

/** What a sealed `close` record's one-byte payload says. */
export const CLOSE_CODE = { closed: 0, refused: 1 } as const

/** Why a routed session payload went out (for tracing and tests). */
export type RouteKind =
  | 'hello'
  | 'hello-reply'
  | 'data'
  | 'retransmit'
  | 'ack'
  | 'probe'
  | 'probe-reply'
  | 'announce'
  | 'close'

/** What the manager asks its driver to do, in order. */
export type SessionOutput =
  /** overlay.route(dest, PROTO.session, payload). */
  | {
      readonly type: 'route'
      readonly dest: Address
      readonly payload: Uint8Array
      readonly kind: RouteKind
      readonly session: SessionHandle | undefined
      /**
       * What follows `payload` on the wire: a record's sealed body (ciphertext, tag),
       * encrypted end to end already, in parts so that nothing copies it. The links
       * send it as it is; the record is `payload ‖ tail`.
       */
      readonly tail: readonly Uint8Array[]
    }
  /** Look `name` up; `fresh`: bypass any cache. Answer with `onLookup`. */
  | { readonly type: 'lookup'; readonly name: string; readonly fresh: boolean }

/** A lookup's answer as the manager takes it. */
export type LookupResult =
  | { readonly outcome: 'found'; readonly address: Address }
  | { readonly outcome: 'not-found' }
  /** Timeout, not joined: nothing learnt. */
  | { readonly outcome: 'failed' }

/** What the layer above (the library's Duplexes, the forwarder) learns, in order. */
export type SessionEvent =
  | {
      readonly type: 'established'
      readonly session: SessionHandle
      readonly peerName: string
      readonly sessionId: Uint8Array
      readonly initiator: boolean
      readonly atMs: number
    }
  | { readonly type: 'suspended'; readonly session: SessionHandle; readonly atMs: number }
  | {
      readonly type: 'resumed'
      readonly session: SessionHandle
      readonly atMs: number
      readonly suspendedForMs: number
      readonly reason: 'record-received' | 'probe-reply' | 'driver'
    }
  /** An authentic record came from a new overlay address: replies go there now. */
  | {
      readonly type: 'roamed'
      readonly session: SessionHandle
      readonly from: Address | undefined
      readonly to: Address
      readonly atMs: number
    }
  | {
      readonly type: 'closed'
      readonly session: SessionHandle
      readonly peerName: string
      readonly reason: SessionCloseReason
      readonly atMs: number
    }
  | {
      readonly type: 'stream-opened'
      readonly session: SessionHandle
      /** The opener: this event may come before the session's `established` (early opens). */
      readonly peerName: string
      readonly streamId: number
      readonly meta: Uint8Array
      /** The listener's port, if the meta is the stream-meta format (stream-meta.ts). */
      readonly port: number | undefined
    }
  | {
      readonly type: 'data'
      readonly session: SessionHandle
      readonly streamId: number
      readonly bytes: Uint8Array
    }
  | {
      /** `stream-accepted`: the peer took a stream this side opened (before its data). */
      readonly type: 'end' | 'writable' | 'stream-closed' | 'stream-accepted'
      readonly session: SessionHandle
      readonly streamId: number
    }
  | {
      readonly type: 'reset'
      readonly session: SessionHandle
      readonly streamId: number
      readonly code: number
    }

/**
 * Counts since creation, by code: `open:<OpenError>` for sealed records a session dropped,
 * `handshake:<HandshakeError>` for hellos and replies dropped, and `unknown-session`,
 * `not-a-record`, `half-open-limit`, `half-open-expired`, `refused-sent`, `repeated-hello`,
 * `undeliverable`, `roamed`, `announce`, `bad-close`, `unexpected-reset`.
 */
export type SessionManagerCounters = Readonly<Record<string, number>>

/** The options: settings, the SRM's options (its role is set per session), and components. */
export interface SessionManagerInit extends Partial<SessionManagerSettings> {
  readonly identity: Identity
  /** SRM options for every session (role excluded). */
  readonly srm?: Omit<SrmInit, 'role'>
  /** Partial ids (8 bytes); default node:crypto randomBytes. Inject for tests. */
  readonly randomBytes?: (n: number) => Uint8Array
}

/** Fills in defaults and checks bounds; throws RangeError. */
export function resolveSettings(init: Partial<SessionManagerSettings>): SessionManagerSettings {
  const s: Record<string, number> = { ...SESSION_MANAGER_DEFAULTS }
  for (const key of Object.keys(SESSION_MANAGER_DEFAULTS) as (keyof SessionManagerSettings)[]) {
    const v = init[key]
    if (v === undefined) continue
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${key} must be positive, got ${v}`)
    s[key] = v
  }
  return s as unknown as SessionManagerSettings
}

/** Local misuse of the manager. */
export type SessionManagerUsageError =
  /** A malformed name (or this node's own), or a bad option. */
  | 'bad-config'
  /** `maxSessions` sessions are held already. */
  | 'too-many-sessions'
  /** No open session with that handle. */
  | 'unknown-session'

export class SessionManagerError extends CodedError<SessionManagerUsageError> {}
