/**
 * The messages between the relay bench (relay.ts, the main thread) and its
 * workers (relay-worker.ts): one request, one reply, matched by id.
 */

/** What a worker is, fixed at spawn (its workerData). */
export type WorkerSpec =
  | { readonly role: 'tcp-sink' }
  | { readonly role: 'tcp-pump'; readonly targetPort: number }
  | { readonly role: 'tcp-source'; readonly targetPort: number; readonly payloadBytes: number }
  | {
      readonly role: 'overlay'
      readonly stateDir: string
      /** "host:port" of the member to join through; none: start the overlay. */
      readonly bootstrap: readonly string[]
      /** No shortcuts and no join climb: a joiner links to its contact only. */
      readonly noShortcuts: boolean
    }

export type Request =
  /** Listen / connect / join; reply: a Ready. */
  | { readonly id: number; readonly cmd: 'start' }
  /** Overlay sender only: send to `dest` (an address string) until stopped; reply: {}. */
  | {
      readonly id: number
      readonly cmd: 'send'
      readonly dest: string
      readonly payloadBytes: number
    }
  /** Reply: a Snapshot. */
  | { readonly id: number; readonly cmd: 'snapshot' }
  /** Close everything; reply: {} (the worker then has nothing left to run). */
  | { readonly id: number; readonly cmd: 'stop' }

export interface Ready {
  /** TCP port listened on (sinks, pumps, daemons). */
  readonly port?: number
  /** Overlay only. */
  readonly name?: string
  readonly endpoint?: string
  readonly address?: string
}

export interface Snapshot {
  /** performance.now() of the worker (only differences of one worker's snapshots mean anything). */
  readonly tMs: number
  /** Payload bytes delivered to this worker (sinks, overlay receivers). */
  readonly bytesIn: number
  readonly framesIn: number
  /** Payload frames handed to the transport (sources). */
  readonly framesOut: number
  /** This thread's CPU time, user + system, in microseconds. */
  readonly cpuUs: number
  /** Overlay only: parts of the daemon's status. */
  readonly overlay?: OverlayFigures
}

export interface OverlayFigures {
  readonly name: string
  readonly address: string | undefined
  /** Peer names of the open overlay links. */
  readonly peers: readonly string[]
  readonly forwarded: number
  readonly delivered: number
  /** The daemon's drops (link-backlog…) and the overlay's (stats.drops), summed by reason. */
  readonly drops: Record<string, number>
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }
