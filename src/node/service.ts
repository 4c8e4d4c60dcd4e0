/**
 * What `semos up` runs: a node (overlay, DHT, sessions), its forwards, the petnames
 * that name its peers, an optional metrics endpoint, and the control requests that
 * drive them at run time (docs/control.md):
 *
 *   status                the daemon's status, plus sessions and forwards
 *   lookup, ping          the daemon's
 *   forward-add           { kind: 'local'|'dynamic'|'expose', spec, allow?: string[] | '*' }
 *   forward-remove        { id }
 *   forwards              the running forwards
 *
 * Every forward's error is a one-line ControlError whose remoteCode says which
 * (bad-spec, port-in-use, exists, unknown-name, bad-address, not-found).
 */

import { type ForwardSpec, parseForwardSpec } from '../forward/forward-spec.ts'
import { ForwardError, type ForwardInfo, Forwards } from '../forward/forwards.ts'
import { semosNameFromHost } from '../forward/socks5.ts'
import { canonicalName } from '../identity/name.ts'
import { ControlError } from './control.ts'
import type { OverlayDaemon } from './daemon.ts'
import type { Logger } from './logger.ts'
import { type MetricsServer, NodeMetrics, parseMetricsListen, serveMetrics } from './metrics.ts'
import type { Petnames } from './petnames.ts'
import { SemosNode, type SessionInfo } from './semos-node.ts'

export type ForwardKindName = ForwardSpec['kind']

export interface ServiceInit {
  readonly daemon: OverlayDaemon
  readonly petnames: Petnames
  readonly log: Logger
  /** Who may use an exposed port when the expose names nobody: default the petnames' names. */
  readonly exposeAllow?: readonly string[] | '*'
  readonly metrics?: string
}

export class Service {
  readonly node: SemosNode
  readonly forwards: Forwards
  readonly #daemon: OverlayDaemon
  readonly #log: Logger
  #petnames: Petnames
  readonly #defaultAllow: readonly string[] | '*' | undefined
  #metricsServer: MetricsServer | undefined
  readonly #counts = { suspensions: 0, resumptions: 0 }
  readonly #metrics: NodeMetrics

  constructor(init: ServiceInit) {
    this.#daemon = init.daemon
    this.#log = init.log
    this.#petnames = init.petnames
    this.node = new SemosNode(init.daemon)
    this.#defaultAllow = init.exposeAllow
    this.forwards = new Forwards({
      node: this.node,
      resolve: (n) => this.resolve(n),
      defaultAllow: (peer) => this.#allowedByDefault(peer),
    })
    this.#metrics = new NodeMetrics({ name: this.node.name, snapshot: () => this.#snapshot() })
    this.node.on('session', (e: SessionInfo) => this.#onSession(e))
  }

  /** A name, an alias, or `ALIAS.semos`, as a name; undefined if none of them. */
  resolve(text: string): string | undefined {
    return this.#petnames.resolve(semosNameFromHost(text) ?? text) ?? canonicalName(text)
  }

  /** Starts the metrics endpoint if configured; throws its one-line error. */
  async start(metrics: string | undefined): Promise<void> {
    if (metrics === undefined) return
    this.#metricsServer = await serveMetrics(this.#metrics, parseMetricsListen(metrics))
    this.#log.info(
      { metrics: `http://${this.#metricsServer.address}:${this.#metricsServer.port}/metrics` },
      'metrics endpoint',
    )
  }

  /** Adds a forward from its spec text; throws a ControlError naming the problem. */
  async addForward(
    kind: ForwardKindName,
    text: string,
    allow?: readonly string[] | '*',
  ): Promise<ForwardInfo> {
    const parsed = parseForwardSpec(kind, text)
    if (!parsed.ok) throw ControlError.remote('bad-spec', parsed.detail)
    let names: readonly string[] | '*' | undefined = allow
    if (Array.isArray(allow)) {
      names = allow.map((a) => {
        const name = this.resolve(a)
        if (name === undefined) throw ControlError.remote('unknown-name', `unknown name '${a}'`)
        return name
      })
    }
    try {
      const info = await this.forwards.add(parsed.value, names)
      this.#log.info({ forward: info.id, bound: info.bound }, 'forward added')
      return info
    } catch (error) {
      if (error instanceof ForwardError) throw ControlError.remote(error.code, error.message)
      throw error
    }
  }

  async handle(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'forward-add': {
        const kind = params.kind
        if (kind !== 'local' && kind !== 'dynamic' && kind !== 'expose') {
          throw ControlError.remote('bad-request', 'kind: local, dynamic or expose')
        }
        if (typeof params.spec !== 'string') throw ControlError.remote('bad-request', 'spec: text')
        const allow = params.allow
        if (allow !== undefined && allow !== '*' && !isStringArray(allow)) {
          throw ControlError.remote('bad-request', "allow: names, or '*'")
        }
        return this.addForward(kind, params.spec, allow)
      }
      case 'forward-remove': {
        if (typeof params.id !== 'string') throw ControlError.remote('bad-request', 'id: text')
        if (!(await this.forwards.remove(params.id))) {
          throw ControlError.remote('not-found', `no forward ${params.id}`)
        }
        return { removed: params.id }
      }
      case 'forwards':
        return this.#forwardRows()
      case 'status': {
        const base = (await this.#daemon.handle('status', {})) as Record<string, unknown>
        const node = await this.node.status()
        return {
          ...base,
          sessions: node.sessions.map((s) => ({ ...s, alias: this.#petnames.aliasOf(s.peerName) })),
          forwards: this.#forwardRows(),
          connections: this.forwards.connections,
        }
      }
      default:
        return this.#daemon.handle(method, params)
    }
  }

  async close(): Promise<void> {
    await this.forwards.close()
    await this.#metricsServer?.close()
    await this.node.close()
  }

  #forwardRows(): unknown[] {
    return this.forwards.list().map((f) => ({
      ...f,
      ...(f.spec.kind === 'local' && { alias: this.#petnames.aliasOf(f.spec.target.name) }),
    }))
  }

  #allowedByDefault(peer: string): boolean {
    const allow = this.#defaultAllow
    if (allow === '*') return true
    if (allow !== undefined) return allow.some((a) => this.resolve(a) === peer)
    // By default, the peers this user has named: their own devices and people they know.
    return this.#petnames.aliasOf(peer) !== undefined
  }

  #onSession(e: SessionInfo): void {
    if (e.type === 'suspended') this.#counts.suspensions++
    if (e.type === 'resumed') {
      this.#counts.resumptions++
      this.#metrics.observeResumption(e.suspendedForMs / 1000)
    }
    this.#log.info({ peer: e.peerName, event: e.type }, `session ${e.type}`)
  }

  #snapshot() {
    const kinds: Partial<Record<ForwardKindName, number>> = {}
    for (const f of this.forwards.list()) kinds[f.spec.kind] = (kinds[f.spec.kind] ?? 0) + 1
    const overlay = this.#daemon.overlay
    return {
      sessions: { active: this.node.sessionCount },
      streams: this.node.streamCount,
      links: overlay?.links().filter((l) => l.open).length ?? 0,
      appBytes: this.forwards.bytes,
      suspensions: this.#counts.suspensions,
      resumptions: this.#counts.resumptions,
      drops: this.#daemon.drops,
      forwards: kinds,
      forwardedConnections: this.forwards.connections,
    }
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}
