/**
 * The link session's public types, its options with their defaults, and its
 * local-misuse errors (link-session.ts has the state machine).
 */
import { CodedError } from '../core/coded-error.ts'
import type { Identity } from '../identity/keys.ts'
import { canonicalName } from '../identity/name.ts'
import { MAX_FRAME_BYTES, MAX_TAIL_BYTES } from './framing.ts'

/** The smallest maxFrameBytes that fits every handshake message and `auth` record. */
export const MIN_FRAME_BYTES = 256

// Tuning defaults.
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 1000
export const DEFAULT_DEAD_AFTER_MS = 3000
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
export const DEFAULT_MAX_TAIL_BYTES = 4 * 1024 * 1024

export type LinkState = 'handshaking' | 'authenticating' | 'open' | 'closed'

/** Why a link closed (the `closed` event); docs/wire-link.md lists when each happens. */
export type LinkCloseReason =
  | 'local-close'
  | 'peer-close'
  | 'peer-dead'
  | 'handshake-timeout'
  | 'handshake-failed'
  | 'auth-failed'
  | 'wrong-peer'
  | 'bad-frame'
  | 'bad-record'
  | 'decrypt-failed'

export type LinkEvent =
  | { readonly type: 'open'; readonly peerName: string }
  | {
      readonly type: 'data'
      readonly payload: Uint8Array
      /** How many of the payload's last bytes came as a split frame's tail (sealed end to end). */
      readonly sealedTail: number
      /**
       * The payload is in the link's own memory, which its next chunk may write over
       * (framing.ts, Frame): use it at once, or copy what must outlive that.
       */
      readonly borrowed: boolean
    }
  | { readonly type: 'closed'; readonly reason: LinkCloseReason; readonly detail: string }

export interface LinkSessionInit {
  readonly identity: Identity
  readonly initiator: boolean
  /** When set, a peer with any other name is refused ('wrong-peer'). Any case. */
  readonly expectedPeerName?: string
  /** Send a keepalive when nothing was sent for this long. Default 1000. */
  readonly keepaliveIntervalMs?: number
  /** Close ('peer-dead') when no byte was received for this long. Default 3000. */
  readonly deadAfterMs?: number
  /** The handshake and both `auth` records must be done within this. Default 5000. */
  readonly handshakeTimeoutMs?: number
  /** The largest frame accepted and sent, MIN_FRAME_BYTES..65535. Default 65535. */
  readonly maxFrameBytes?: number
  /** The largest split-frame tail accepted and sent (docs/wire-link.md). Default 4 MiB. */
  readonly maxTailBytes?: number
}

/** The options with defaults filled in and checked. */
export interface LinkOptions {
  readonly expectedPeerName: string | undefined
  readonly keepaliveIntervalMs: number
  readonly deadAfterMs: number
  readonly handshakeTimeoutMs: number
  readonly maxFrameBytes: number
  readonly maxTailBytes: number
}

/** Local misuse: `bad-config` (constructor), `not-open` and `payload-too-large` (send). */
export type LinkUsageError = 'bad-config' | 'not-open' | 'payload-too-large'

export class LinkError extends CodedError<LinkUsageError> {}

/** Fills in defaults; throws LinkError('bad-config') on a bad value. */
export function resolveOptions(init: LinkSessionInit): LinkOptions {
  const maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
  if (
    !Number.isInteger(maxFrameBytes) ||
    maxFrameBytes < MIN_FRAME_BYTES ||
    maxFrameBytes > MAX_FRAME_BYTES
  ) {
    throw new LinkError(
      'bad-config',
      `maxFrameBytes must be in ${MIN_FRAME_BYTES}..${MAX_FRAME_BYTES}`,
    )
  }
  const maxTailBytes = init.maxTailBytes ?? DEFAULT_MAX_TAIL_BYTES
  if (!Number.isInteger(maxTailBytes) || maxTailBytes < 0 || maxTailBytes > MAX_TAIL_BYTES) {
    throw new LinkError('bad-config', `maxTailBytes must be in 0..${MAX_TAIL_BYTES}`)
  }
  let expectedPeerName: string | undefined
  if (init.expectedPeerName !== undefined) {
    expectedPeerName = canonicalName(init.expectedPeerName)
    if (expectedPeerName === undefined) {
      throw new LinkError('bad-config', `expectedPeerName is not a name: ${init.expectedPeerName}`)
    }
  }
  return {
    expectedPeerName,
    keepaliveIntervalMs: positive(
      'keepaliveIntervalMs',
      init.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
    ),
    deadAfterMs: positive('deadAfterMs', init.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS),
    handshakeTimeoutMs: positive(
      'handshakeTimeoutMs',
      init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ),
    maxFrameBytes,
    maxTailBytes,
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new LinkError('bad-config', `${name} must be a positive number of ms, got ${value}`)
  }
  return value
}
