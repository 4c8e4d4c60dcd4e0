/**
 * The library's options (`createNode`) and how they become the daemon's: the defaults are
 * those of `semos node` (config.ts), except `listen`, which takes any free port.
 */
import { CodedError } from '../core/coded-error.ts'
import { generateIdentity, type Identity } from '../identity/keys.ts'
import { isValidQ } from '../overlay/address.ts'
import type { SessionManagerSettings } from '../session/session-manager-types.ts'
import {
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_Q,
  DEFAULT_RECORD_LIFETIME_MS,
  DEFAULT_REPLICAS,
  parseHostPort,
} from './config.ts'
import type { DaemonOptions } from './daemon-api.ts'
import type { Logger } from './logger.ts'
import { loadOrCreateIdentity } from './state-dir.ts'

export const DEFAULT_NODE_LISTEN = '127.0.0.1:0'

/** Options of `createNode`; everything has a default. */
export interface SemosNodeOptions {
  /** "host:port" for overlay links. Default "127.0.0.1:0" (any free port). */
  readonly listen?: string
  /** "host:port" others should dial; default: the address actually bound. */
  readonly advertise?: string
  /** "host:port" members to join through; default none: start a new overlay. */
  readonly bootstrap?: readonly string[]
  /** Holds identity.key (created on first use). Ignored when `identity` is given. */
  readonly stateDir?: string
  /** The node's key pair; default: from `stateDir`, else a new one (a new name each run). */
  readonly identity?: Identity
  /** Link keepalive period. Default 1,000 ms. */
  readonly keepaliveIntervalMs?: number
  /** A silent neighbour is dead after this. Default 3,000 ms. */
  readonly deadAfterMs?: number
  /** Overlay degree. Default 4. */
  readonly q?: number
  /** DHT replicas. Default 3. */
  readonly replicas?: number
  /** Name record lease. Default 60,000 ms. */
  readonly recordLifetimeMs?: number
  /**
   * Session settings (src/session/session-manager-types.ts), e.g. the connect budget:
   * `handshakeAttempts` (default 6) and `handshakeRetryMs` (default 500 ms).
   */
  readonly session?: Partial<SessionManagerSettings>
  /** Where the node logs; default a silent pino logger. */
  readonly log?: Logger
}

/** Local misuse of a node: a bad option, a port listened twice, a call after close. */
export type SemosNodeErrorCode = 'bad-option' | 'port-in-use' | 'closed'

export class SemosNodeError extends CodedError<SemosNodeErrorCode> {}

/**
 * The daemon's options and the node's identity (from `identity`, else `stateDir`, else
 * new). Throws a SemosNodeError (bad-option) for a bad `listen`, `q` or keepalive, a StateDirError for a
 * bad state directory.
 */
export function resolveNodeOptions(options: SemosNodeOptions): {
  daemonOptions: DaemonOptions
  identity: Identity
} {
  const listenText = options.listen ?? DEFAULT_NODE_LISTEN
  const listen = parseHostPort(listenText, true)
  if (listen === undefined) {
    throw new SemosNodeError('bad-option', `listen: expected "host:port", got ${listenText}`)
  }
  const identity =
    options.identity ??
    (options.stateDir !== undefined ? loadOrCreateIdentity(options.stateDir) : generateIdentity())
  const daemonOptions: DaemonOptions = {
    // The daemon names its control socket after it; the library serves none.
    stateDir: options.stateDir ?? '',
    listen,
    ...(options.advertise !== undefined ? { advertise: options.advertise } : {}),
    bootstrap: options.bootstrap ?? [],
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
    deadAfterMs: options.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS,
    q: options.q ?? DEFAULT_Q,
    replicas: options.replicas ?? DEFAULT_REPLICAS,
    recordLifetimeMs: options.recordLifetimeMs ?? DEFAULT_RECORD_LIFETIME_MS,
  }
  if (daemonOptions.deadAfterMs <= daemonOptions.keepaliveIntervalMs) {
    throw new SemosNodeError('bad-option', 'deadAfterMs must exceed keepaliveIntervalMs')
  }
  if (!isValidQ(daemonOptions.q)) throw new SemosNodeError('bad-option', `bad q: ${options.q}`)
  return { daemonOptions, identity }
}
