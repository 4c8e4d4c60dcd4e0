/**
 * Network-change detection for the daemon: this host's addresses, polled, and read at
 * once when the kernel says something changed.
 *
 * Node.js has no portable event for "an address appeared or went away", so the
 * watcher reads `os.networkInterfaces()` every `intervalMs` (default 100 ms; one
 * getifaddrs(3) call, some tens of microseconds) and reports when the set of
 * usable addresses differs from the last one seen. On Linux it also runs
 * `ip -o monitor link address` (iproute2), which prints a line for every rtnetlink
 * message about a link or an address: each line makes it read the table at once
 * rather than up to a poll period later (in the mobility benchmark, a move was seen
 * in 5 ms instead of 60). Without `ip`, or if the monitor dies, the poll alone goes on.
 *
 * libuv lists only interfaces that are up *and* running (carrier present), so a pulled
 * cable, a veth whose peer went down, a lost Wi-Fi association and a removed address
 * all look the same here: addresses vanish; a new network makes new ones appear.
 *
 * Usable means non-internal and not IPv6 link-local (fe80::/10 comes and goes with
 * every link and is never what a peer dials). One poller and one monitor serve every
 * watcher in the process (a library user may run many nodes in one process); neither
 * its timer nor its child keeps a process alive.
 */
import { spawn } from 'node:child_process'
import type { Socket } from 'node:net'
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os'

/** One usable address of this host. */
export interface HostAddress {
  readonly address: string
  readonly family: 'IPv4' | 'IPv6'
  /** "address/prefix", as os.networkInterfaces() gives it. */
  readonly cidr: string
  readonly iface: string
}

/** What changed between two polls. */
export interface NetworkChange {
  readonly added: readonly HostAddress[]
  readonly removed: readonly HostAddress[]
  /** Every usable address now. */
  readonly current: readonly HostAddress[]
}

export const DEFAULT_NETWATCH_INTERVAL_MS = 100

/**
 * The command whose every output line means "links or addresses changed"; none off Linux.
 * `ip monitor` runs under a shell that kills it when its stdin ends: the monitor's stdin is
 * a pipe from this process, which ends when we stop it or whenever this process dies, even
 * by SIGKILL, so no orphaned `ip` is left behind (the shell exits only after it). Without
 * `ip` the shell exits at once.
 */
export const MONITOR_COMMAND: readonly string[] | undefined =
  process.platform === 'linux'
    ? [
        'sh',
        '-c',
        'command -v ip >/dev/null || exit; ip -o monitor link address & read _; kill $!; wait',
      ]
    : undefined

/** A running monitor command (see startMonitor). */
export interface Monitor {
  /** Ends the command's stdin, on which it exits; idempotent. */
  stop(): void
  /** Settles when the command has exited (or could not start). */
  readonly exited: Promise<void>
}

/**
 * Runs `command` and calls `onEvent` for each chunk it prints (a line or a burst of
 * them: either way "read the table again"). Never throws: a command that cannot start
 * (ENOENT) or dies only means no events. Neither the child nor its pipes keep the
 * process alive. The command must exit when its stdin ends: that is how `stop()` ends
 * it, and what it sees if this process dies without stopping it.
 */
export function startMonitor(command: readonly string[], onEvent: () => void): Monitor {
  const [file, ...args] = command
  const child = spawn(file ?? '', args, { stdio: ['pipe', 'pipe', 'ignore'] })
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve())
    child.once('error', () => resolve()) // did not start: no 'close' follows
  })
  child.stdin?.on('error', () => {}) // EPIPE if the child is already gone
  child.stdout?.on('data', () => onEvent())
  child.unref()
  // A child's pipes are net.Sockets, though typed as streams.
  ;(child.stdin as unknown as Socket | null)?.unref()
  ;(child.stdout as Socket | null)?.unref()
  return {
    stop: () => {
      child.stdout?.removeAllListeners('data')
      child.stdin?.destroy()
    },
    exited,
  }
}

type Read = () => NodeJS.Dict<NetworkInterfaceInfo[]>

/** This host's usable addresses now (sorted: IPv4 first, then by interface and address). */
export function hostAddresses(read: Read = networkInterfaces): HostAddress[] {
  const out: HostAddress[] = []
  for (const [iface, infos] of Object.entries(read())) {
    for (const i of infos ?? []) {
      if (i.internal) continue
      if (i.family === 'IPv6' && /^fe[89ab]/i.test(i.address)) continue
      out.push({ address: i.address, family: i.family, cidr: i.cidr ?? i.address, iface })
    }
  }
  return out.sort(
    (a, b) =>
      (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1) ||
      a.iface.localeCompare(b.iface) ||
      a.address.localeCompare(b.address),
  )
}

const key = (a: HostAddress): string => `${a.iface} ${a.cidr}`

/** The address others should dial, of those given: the first IPv4, else the first IPv6. */
export function preferredAddress(addresses: readonly HostAddress[]): string | undefined {
  return addresses[0]?.address
}

/**
 * An address back after at least this long away counts as a move: the links that lived
 * through the outage are dropped and the node re-joins, rather than wait out TCP's
 * retransmission back-off.
 */
export const LONG_OUTAGE_MS = 500

/** What one change means for the links (see MoveDetector). */
export interface ChangeVerdict {
  /** The host moved (or came back after a long outage): links made before `lostAtMs` go. */
  readonly moved: boolean
  /** When the host last lost an address (monotonic ms); -Infinity if it never did. */
  readonly lostAtMs: number
}

/**
 * Tells a move from a flap, sans I/O: a new address while another is still missing is a
 * move (another subnet, another Wi-Fi); an address that comes back after LONG_OUTAGE_MS
 * or more counts as one too; one back sooner, or addresses only vanishing, is not.
 */
export class MoveDetector {
  /** Addresses this host had and lost (→ when, monotonic), until they come back or a move. */
  readonly #lost = new Map<string, number>()

  observe(change: NetworkChange, nowMs: number): ChangeVerdict {
    for (const a of change.removed) this.#lost.set(a.address, nowMs)
    const lostAtMs = Math.max(Number.NEGATIVE_INFINITY, ...this.#lost.values())
    const fresh = change.added.some((a) => !this.#lost.has(a.address))
    const longGone = change.added.some(
      (a) => nowMs - (this.#lost.get(a.address) ?? nowMs) >= LONG_OUTAGE_MS,
    )
    for (const a of change.current) this.#lost.delete(a.address)
    const moved = (fresh && this.#lost.size > 0) || longGone
    if (moved) this.#lost.clear()
    return { moved, lostAtMs }
  }
}

type Listener = (change: NetworkChange) => void

/** The shared poller: one timer, one monitor, one read per tick, however many watchers. */
class Poller {
  readonly #listeners = new Set<Listener>()
  #timer: NodeJS.Timeout | undefined
  #last = new Map<string, HostAddress>()
  #intervalMs = DEFAULT_NETWATCH_INTERVAL_MS
  readonly #read: Read
  readonly #monitorCommand: readonly string[] | undefined
  #monitor: Monitor | undefined
  #pollQueued = false

  constructor(read: Read, monitorCommand: readonly string[] | undefined) {
    this.#read = read
    this.#monitorCommand = monitorCommand
  }

  get monitor(): Monitor | undefined {
    return this.#monitor
  }

  add(listener: Listener, intervalMs: number): void {
    if (this.#listeners.size === 0) {
      this.#last = this.#snapshot()
      if (this.#monitorCommand !== undefined) {
        this.#monitor = startMonitor(this.#monitorCommand, () => this.#pollSoon())
      }
    }
    this.#listeners.add(listener)
    // The fastest watcher sets the pace.
    if (this.#timer !== undefined && intervalMs >= this.#intervalMs) return
    clearInterval(this.#timer)
    this.#intervalMs = intervalMs
    this.#timer = setInterval(() => this.poll(), intervalMs)
    this.#timer.unref()
  }

  delete(listener: Listener): void {
    this.#listeners.delete(listener)
    if (this.#listeners.size > 0) return
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#intervalMs = DEFAULT_NETWATCH_INTERVAL_MS
    this.#monitor?.stop()
    this.#monitor = undefined
  }

  /** One read for however many lines the monitor printed in this turn. */
  #pollSoon(): void {
    if (this.#pollQueued) return
    this.#pollQueued = true
    setImmediate(() => {
      this.#pollQueued = false
      if (this.#listeners.size > 0) this.poll()
    })
  }

  /** Reads the addresses now; tells every watcher if they changed. */
  poll(): void {
    let next: Map<string, HostAddress>
    try {
      next = this.#snapshot()
    } catch {
      return // getifaddrs failing (EMFILE…) is not a network change
    }
    const added = [...next.values()].filter((a) => !this.#last.has(key(a)))
    const removed = [...this.#last.values()].filter((a) => !next.has(key(a)))
    this.#last = next
    if (added.length === 0 && removed.length === 0) return
    const change = { added, removed, current: [...next.values()] }
    for (const l of [...this.#listeners]) l(change)
  }

  #snapshot(): Map<string, HostAddress> {
    return new Map(hostAddresses(this.#read).map((a) => [key(a), a]))
  }
}

const shared = new Poller(networkInterfaces, MONITOR_COMMAND)

export interface WatchOptions {
  /** Poll period, ms (default 100). The fastest watcher's period is used for all. */
  readonly intervalMs?: number
}

/** Calls `listener` whenever this host's usable addresses change; returns the unwatch. */
export function watchNetwork(listener: Listener, options: WatchOptions = {}): () => void {
  const intervalMs = Math.max(10, options.intervalMs ?? DEFAULT_NETWATCH_INTERVAL_MS)
  shared.add(listener, intervalMs)
  return () => shared.delete(listener)
}

/**
 * A poller over a given reader, for tests: poll() by hand (its timer is a minute), and
 * optionally a monitor command of the test's own.
 */
export function createPoller(
  read: Read,
  monitorCommand?: readonly string[],
): {
  watch: (listener: Listener) => () => void
  poll: () => void
  monitor: () => Monitor | undefined
} {
  const p = new Poller(read, monitorCommand)
  return {
    watch: (listener) => {
      p.add(listener, 60_000)
      return () => p.delete(listener)
    },
    poll: () => p.poll(),
    monitor: () => p.monitor,
  }
}
