/**
 * The daemon's Prometheus endpoint (docs/metrics.md): off unless `--metrics` or
 * `metrics = "…"` turns it on, and then on a loopback address only.
 *
 *   1. The daemon hands `NodeMetrics` a `snapshot()` of what it already counts; nothing
 *      in the session or overlay code knows about Prometheus.
 *   2. A scrape (`text()`) takes one snapshot, then renders the private registry, whose
 *      metrics copy their values from that snapshot in prom-client `collect()` callbacks:
 *      one consistent view per scrape, and no bookkeeping between scrapes.
 *   3. `serveMetrics` answers `GET /metrics` over node:http.
 *
 * Each NodeMetrics owns its prom-client Registry (never the global one), so that several
 * nodes in one process (tests, the simulator, an embedding application) never share or
 * clash over a metric.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type AddressInfo, BlockList, isIP, isIPv6 } from 'node:net'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { CodedError } from '../core/coded-error.ts'
import type { ForwardKind } from '../forward/forward-spec.ts'

/** The port OpenTelemetry's Prometheus exporter uses: the usual one for an application's own. */
export const DEFAULT_METRICS_PORT = 9464
/** The host when a listen value names only a port. */
export const DEFAULT_METRICS_HOST = '127.0.0.1'
/** Session states always exported (as 0 when absent), so that a series never vanishes. */
export const REPORTED_SESSION_STATES = ['dialing', 'half-open', 'active', 'suspended'] as const
const FORWARD_KINDS: readonly ForwardKind[] = ['local', 'dynamic', 'expose']
/**
 * Resumptions take from a few milliseconds (a blip with the peer's address unchanged) to
 * a minute and more (a laptop's sleep); longer ones all land in +Inf.
 */
export const RESUMPTION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const

export type MetricsErrorCode =
  | 'bad-listen'
  | 'bad-port'
  | 'not-loopback'
  | 'port-in-use'
  | 'listen-failed'
  | 'bad-duration'

export class MetricsError extends CodedError<MetricsErrorCode> {}

/** What the daemon reports at scrape time. Cumulative values count since the node started. */
export interface MetricsSnapshot {
  /** Sessions held, by state (`dialing`, `half-open`, `active`, `suspended`, or others). */
  readonly sessions: Readonly<Record<string, number>>
  /** Streams open, over all sessions. */
  readonly streams: number
  /** Overlay links open. */
  readonly links: number
  /** Application bytes through sessions, cumulative: `in` delivered, `out` accepted to send. */
  readonly appBytes: { readonly in: number; readonly out: number }
  /** Sessions suspended, cumulative. */
  readonly suspensions: number
  /** Sessions resumed, cumulative. */
  readonly resumptions: number
  /** Packets, records or messages dropped, cumulative, by reason (`unknown-session`, …). */
  readonly drops: Readonly<Record<string, number>>
  /** Forwarding listeners active, by kind. */
  readonly forwards: Readonly<Partial<Record<ForwardKind, number>>>
  /** Connections being forwarded now, over all forwards. */
  readonly forwardedConnections: number
}

export interface NodeMetricsInit {
  /** The node's name, exported as `semos_node_info{name}`. */
  readonly name: string
  /** Called once per scrape; what it throws fails that scrape (HTTP 500), nothing else. */
  readonly snapshot: () => MetricsSnapshot
}

/** What `serveMetrics` needs: NodeMetrics, or a stand-in. */
export interface MetricsSource {
  readonly contentType: string
  text(): Promise<string>
}

type Values = Readonly<Record<string, number | undefined>>

export class NodeMetrics implements MetricsSource {
  readonly #registry = new Registry()
  readonly #snapshot: () => MetricsSnapshot
  readonly #resumption: Histogram
  /** The snapshot of the scrape in progress, read by the collect callbacks. */
  #current: MetricsSnapshot | undefined

  constructor(init: NodeMetricsInit) {
    this.#snapshot = init.snapshot
    const registers = [this.#registry]
    new Gauge({
      name: 'semos_node_info',
      help: "The node's name, as a label; the value is always 1.",
      labelNames: ['name'],
      registers,
    }).set({ name: init.name }, 1)
    this.#gauge('semos_sessions', 'Sessions held, by state.', 'state', (s) =>
      withKnown(REPORTED_SESSION_STATES, s.sessions),
    )
    this.#gauge('semos_streams', 'Streams open, over all sessions.', '', (s) => s.streams)
    this.#gauge('semos_links', 'Overlay links open.', '', (s) => s.links)
    this.#counter(
      'semos_app_bytes_total',
      'Application bytes through sessions: in = delivered to the application, out = taken from it.',
      'direction',
      (s) => ({ in: s.appBytes.in, out: s.appBytes.out }),
    )
    this.#counter('semos_suspensions_total', 'Sessions suspended.', '', (s) => s.suspensions)
    this.#counter('semos_resumptions_total', 'Sessions resumed.', '', (s) => s.resumptions)
    this.#counter('semos_drops_total', 'Inputs dropped, by reason.', 'reason', (s) => s.drops)
    this.#gauge('semos_forwards', 'Forwarding listeners active, by kind.', 'kind', (s) =>
      withKnown(FORWARD_KINDS, s.forwards),
    )
    this.#gauge(
      'semos_forwarded_connections',
      'Connections being forwarded.',
      '',
      (s) => s.forwardedConnections,
    )
    this.#resumption = new Histogram({
      name: 'semos_resumption_seconds',
      help: 'How long sessions stayed suspended before they resumed.',
      buckets: [...RESUMPTION_BUCKETS_S],
      registers,
    })
  }

  /** The Content-Type of `text()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.#registry.contentType
  }

  /** Records one resumption that ended a suspension of `seconds`. */
  observeResumption(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new MetricsError(
        'bad-duration',
        `a resumption lasts a finite, non-negative number of seconds, not ${seconds}`,
      )
    }
    this.#resumption.observe(seconds)
  }

  /** The exposition text, from a snapshot taken now. */
  async text(): Promise<string> {
    // prom-client runs every collect() before its first await, so concurrent scrapes
    // cannot mix snapshots; a collect that ran late would see a newer one anyway.
    this.#current = this.#snapshot()
    return this.#registry.metrics()
  }

  #scraped(): MetricsSnapshot {
    this.#current ??= this.#snapshot()
    return this.#current
  }

  /** A gauge with at most one label ('' for none), set from the snapshot at scrape time. */
  #gauge(name: string, help: string, label: string, read: (s: MetricsSnapshot) => number | Values) {
    const gauge: Gauge = new Gauge({
      name,
      help,
      labelNames: label === '' ? [] : [label],
      registers: [this.#registry],
      collect: () => {
        gauge.reset()
        for (const [labels, value] of series(label, read(this.#scraped()))) gauge.set(labels, value)
      },
    })
  }

  /**
   * A counter copied from a cumulative snapshot value. prom-client counters only go up by
   * `inc`, so collect() resets the counter and adds the snapshot's total: the exposition
   * keeps `# TYPE … counter` (which rate() and OpenMetrics rely on), and a total that went
   * down, which only a restart does, reads as the counter reset Prometheus expects.
   */
  #counter(
    name: string,
    help: string,
    label: string,
    read: (s: MetricsSnapshot) => number | Values,
  ) {
    const counter: Counter = new Counter({
      name,
      help,
      labelNames: label === '' ? [] : [label],
      registers: [this.#registry],
      collect: () => {
        counter.reset()
        for (const [labels, value] of series(label, read(this.#scraped()))) {
          counter.inc(labels, value)
        }
      },
    })
  }
}

function series(label: string, reading: number | Values): [Record<string, string>, number][] {
  if (typeof reading === 'number') return [[{}, reading]]
  const out: [Record<string, string>, number][] = []
  for (const [key, value] of Object.entries(reading)) {
    if (value !== undefined) out.push([{ [label]: key }, value])
  }
  return out
}

/** `values`, with 0 for each of `known` it lacks. */
function withKnown(known: readonly string[], values: Values): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(known.map((k) => [k, 0]))
  for (const [key, value] of Object.entries(values)) out[key] = value ?? 0
  return out
}

export interface MetricsListen {
  readonly host: string
  readonly port: number
}

export interface MetricsServer {
  /** The address bound (`127.0.0.1` for `localhost`). */
  readonly address: string
  /** The port bound: the real one when 0 was asked. */
  readonly port: number
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** 127.0.0.0/8, ::1 (also IPv4-mapped loopback) or `localhost`. No name resolution. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const family = isIP(host)
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Parses a `--metrics` flag or `metrics` config value: `port`, `host:port` or `[v6]:port`;
 * the host defaults to 127.0.0.1 and must be loopback. Port 0 means any free port.
 * Throws MetricsError `bad-listen`, `bad-port` or `not-loopback`.
 */
export function parseMetricsListen(text: string): MetricsListen {
  const m = /^(?:(?:\[([^\]]*)\]|([^:[\]\s]+)):)?(\d+)$/.exec(text)
  const host = m?.[1] ?? m?.[2] ?? DEFAULT_METRICS_HOST
  if (m === null || (m[1] !== undefined && !isIPv6(host))) {
    throw new MetricsError(
      'bad-listen',
      `metrics address "${text}" is not [host:]port (e.g. 9464, 127.0.0.1:9464 or [::1]:9464)`,
    )
  }
  const listen = { host, port: Number(m[3]) }
  checkListen(listen)
  return listen
}

function checkListen({ host, port }: MetricsListen): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new MetricsError('bad-port', `metrics port ${port} is not 0..65535`)
  }
  if (!isLoopbackHost(host)) {
    throw new MetricsError(
      'not-loopback',
      `metrics listen on loopback only (127.x.y.z, ::1, localhost), not ${host}: they reveal who talks to whom`,
    )
  }
}

/**
 * Serves `GET /metrics` on a loopback address (anything else: MetricsError `not-loopback`).
 * A port taken: `port-in-use`. Requests whose Host header is not loopback are refused
 * (403), so that a web page cannot read the metrics through DNS rebinding.
 */
export async function serveMetrics(
  metrics: MetricsSource,
  listen: MetricsListen,
): Promise<MetricsServer> {
  checkListen(listen)
  // Bound as an address, not a name: `localhost` could resolve to anything.
  const host = listen.host.toLowerCase() === 'localhost' ? DEFAULT_METRICS_HOST : listen.host
  const server = createServer((req, res) => {
    void answer(metrics, req, res)
  })
  server.listen(listen.port, host)
  try {
    await once(server, 'listening')
  } catch (err) {
    const where = host.includes(':') ? `[${host}]:${listen.port}` : `${host}:${listen.port}`
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new MetricsError('port-in-use', `cannot serve metrics on ${where}: port in use`)
    }
    throw new MetricsError(
      'listen-failed',
      `cannot serve metrics on ${where}: ${(err as Error).message}`,
    )
  }
  const { address, port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    address,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

async function answer(
  metrics: MetricsSource,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
    res.end(body)
  }
  if (!isLoopbackHostHeader(req.headers.host)) {
    return reply(403, 'metrics answer only requests addressed to a loopback host\n')
  }
  if ((req.url ?? '/').split('?')[0] !== '/metrics') {
    return reply(404, 'not found: the metrics are at /metrics\n')
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return reply(405, 'method not allowed: use GET\n', { allow: 'GET, HEAD' })
  }
  try {
    const text = await metrics.text()
    reply(200, text, { 'content-type': metrics.contentType })
  } catch (err) {
    reply(500, `metrics snapshot failed: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}

/** True for a Host header naming a loopback host (any port), or none (HTTP/1.0). */
function isLoopbackHostHeader(header: string | undefined): boolean {
  if (header === undefined) return true
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d*)?$/.exec(header)
  return m !== null && isLoopbackHost(m[1] ?? m[2] ?? '')
}
