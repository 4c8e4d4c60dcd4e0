/**
 * The contract between the overlay daemon (`daemon.ts`) and its edges: the
 * options the command line and config file resolve to, and what a running
 * daemon offers. The edges own the state directory, the logger and the control
 * socket: `semos node` serves the control socket at `controlPath` and passes
 * each request to `Daemon.handle`, so the daemon itself never listens on it.
 */
import type { Identity } from '../identity/keys.ts'
import type { Logger } from './logger.ts'

export interface DaemonOptions {
  /** Holds identity.key and control.sock (see state-dir.ts). */
  readonly stateDir: string
  /** TCP address for overlay links. */
  readonly listen: { host: string; port: number }
  /** "host:port" others should dial; default = listen. */
  readonly advertise?: string
  /** "host:port" members to join through; empty = start a new overlay (root). */
  readonly bootstrap: readonly string[]
  /** Default 1000. */
  readonly keepaliveIntervalMs: number
  /** Default 3000. */
  readonly deadAfterMs: number
  /** Overlay degree, default 4. */
  readonly q: number
  /** DHT R, default 3. */
  readonly replicas: number
  /** Name record lease, default 60_000. */
  readonly recordLifetimeMs: number
  /** Overlay tuning for tests and benchmarks (shortcut count, join climb); defaults otherwise. */
  readonly overlayTuning?: { readonly maxShortcuts?: number; readonly joinClimb?: number }
}

export interface Daemon {
  readonly name: string
  readonly controlPath: string
  /** Handles one control request; throws a ControlError for an error the client should print. */
  handle(method: string, params: Record<string, unknown>): Promise<unknown>
  /** Graceful: leave the overlay, close links. Idempotent. */
  stop(): Promise<void>
  /** Resolves when the daemon has stopped (by stop() or a fatal error). */
  readonly stopped: Promise<void>
}

/** What `startDaemon` needs besides its options. */
export interface DaemonDeps {
  readonly identity: Identity
  readonly log: Logger
}

export type StartDaemon = (options: DaemonOptions, deps: DaemonDeps) => Promise<Daemon>
