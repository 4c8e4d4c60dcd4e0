/**
 * What `semos up` runs: a node (overlay, DHT, sessions), its forwards, the petnames
 * that name its peers, an optional metrics endpoint, and the control requests that
 * drive them at run time (docs/control.md):
 *
 *   status                the daemon's status, plus sessions and forwards
 *   lookup, ping          the daemon's
 *   forward-add           { kind: 'local'|'dynamic'|'expose', spec, allow?: string[] | '*',
 *                           save?: true (also write it to the config file) }
 *   forward-remove        { id, save?: true (also take it out of the config file) }
 *   forwards              the running forwards
 *   network-down          cut every link and make none (a pulled cable; for demos and tests)
 *   network-up            { via?: host:port[] }: back on the network, re-joining through `via`
 *
 * Every forward's error is a one-line ControlError whose remoteCode says which
 * (bad-spec, port-in-use, exists, unknown-name, bad-address, not-found,
 * config-unwritable).
 */
import { readFileSync, statSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { parse } from 'smol-toml'

import { type ForwardSpec, parseForwardSpec } from '../forward/forward-spec.ts'
import { ForwardError, type ForwardInfo, Forwards, forwardId } from '../forward/forwards.ts'
import { semosNameFromHost } from '../forward/socks5.ts'
import { canonicalName } from '../identity/name.ts'
import { writeFileAtomically } from './atomic-file.ts'
import { setTopLevel, type TomlValue } from './config-edit.ts'
import { ControlError } from './control.ts'
import type { OverlayDaemon } from './daemon.ts'
import type { Logger } from './logger.ts'
import { type MetricsServer, NodeMetrics, parseMetricsListen, serveMetrics } from './metrics.ts'
import { Petnames } from './petnames.ts'
import { SemosNode, type SessionInfo } from './semos-node.ts'

export type ForwardKindName = ForwardSpec['kind']

export interface ServiceInit {
  readonly daemon: OverlayDaemon
  readonly petnames: Petnames
  readonly log: Logger
  /** Who may use an exposed port when the expose names nobody: default the petnames' names. */
  readonly exposeAllow?: readonly string[] | '*'
  readonly metrics?: string
  /** The config file `--save` writes forwards to. */
  readonly configPath?: string
}

/** The config file's key for each kind of forward. */
const CONFIG_KEY: Record<ForwardKindName, string> = {
  local: 'forward',
  dynamic: 'socks',
  expose: 'expose',
}

export class Service {
  readonly node: SemosNode
  readonly forwards: Forwards
  readonly #daemon: OverlayDaemon
  readonly #log: Logger
  #petnames: Petnames
  /** The petnames file's mtime when last read: an edit by hand is picked up on next use. */
  #petnamesMtimeMs: number | undefined
  readonly #configPath: string | undefined
  readonly #defaultAllow: readonly string[] | '*' | undefined
  #metricsServer: MetricsServer | undefined
  readonly #counts = { suspensions: 0, resumptions: 0 }
  readonly #metrics: NodeMetrics

  constructor(init: ServiceInit) {
    this.#daemon = init.daemon
    this.#log = init.log
    this.#petnames = init.petnames
    this.#petnamesMtimeMs = mtimeMs(init.petnames.path)
    this.#configPath = init.configPath
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
    this.#reloadPetnames()
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
    save = false,
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
    let info: ForwardInfo
    try {
      info = await this.forwards.add(parsed.value, names)
    } catch (error) {
      if (error instanceof ForwardError) throw ControlError.remote(error.code, error.message)
      throw error
    }
    if (save) {
      try {
        // As the user wrote it (aliases stay aliases): the file is theirs to read.
        const entry: TomlValue = allow === undefined ? text : { spec: text, allow }
        this.#editConfig(CONFIG_KEY[kind], (entries) =>
          entries.some((e) => isDeepStrictEqual(e, entry)) ? entries : [...entries, entry],
        )
      } catch (error) {
        // All or nothing: a forward the user asked to keep but that would not survive a
        // restart is taken down again, with the reason.
        await this.forwards.remove(info.id)
        throw error
      }
    }
    this.#log.info({ forward: info.id, bound: info.bound, saved: save }, 'forward added')
    return info
  }

  /** Stops a forward, and with `save` takes it out of the config file too. */
  async removeForward(id: string, save = false): Promise<{ removed: string; unsaved?: number }> {
    const running = this.forwards.list().find((f) => f.id === id)
    if (running === undefined) throw ControlError.remote('not-found', `no forward ${id}`)
    let unsaved: number | undefined
    if (save) {
      const kind = running.spec.kind
      this.#editConfig(CONFIG_KEY[kind], (entries) => {
        const kept = entries.filter((e) => {
          const spec = typeof e === 'string' ? e : isSpecTable(e) ? e.spec : undefined
          const parsed = spec === undefined ? undefined : parseForwardSpec(kind, spec)
          return !(parsed?.ok === true && forwardId(parsed.value) === id)
        })
        unsaved = entries.length - kept.length
        return kept
      })
    }
    await this.forwards.remove(id)
    this.#log.info({ forward: id, unsaved }, 'forward removed')
    return { removed: id, ...(unsaved !== undefined && { unsaved }) }
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
        return this.addForward(kind, params.spec, allow, params.save === true)
      }
      case 'forward-remove': {
        if (typeof params.id !== 'string') throw ControlError.remote('bad-request', 'id: text')
        return this.removeForward(params.id, params.save === true)
      }
      case 'network-down':
        this.#log.warn('network-down: cutting every link')
        this.node.disconnect()
        return { offline: true }
      case 'network-up': {
        const via = params.via ?? []
        if (!isStringArray(via)) throw ControlError.remote('bad-request', 'via: host:port list')
        this.#log.info({ via }, 'network-up: re-joining')
        this.node.reconnect(via)
        return { offline: false }
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

  /** Rewrites one list in the config file, keeping the rest of the file as written. */
  #editConfig(key: string, edit: (entries: TomlValue[]) => TomlValue[]): void {
    const path = this.#configPath
    if (path === undefined)
      throw ControlError.remote('config-unwritable', 'no config file to save to')
    try {
      let text = ''
      try {
        text = readFileSync(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
      const current = (parse(text) as Record<string, unknown>)[key] ?? []
      if (!Array.isArray(current)) throw new Error(`"${key}" is not a list`)
      const next = edit(current as TomlValue[])
      writeFileAtomically(path, setTopLevel(text, key, next.length === 0 ? undefined : next))
    } catch (err) {
      if (err instanceof ControlError) throw err
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
      throw ControlError.remote('config-unwritable', `cannot save to ${path}: ${why}`)
    }
  }

  #reloadPetnames(): void {
    const path = this.#petnames.path
    const mtime = mtimeMs(path)
    if (path === undefined || mtime === this.#petnamesMtimeMs) return
    this.#petnamesMtimeMs = mtime
    try {
      this.#petnames = Petnames.load(path)
      this.#log.info({ petnames: path, aliases: this.#petnames.size }, 'petnames reloaded')
    } catch (err) {
      // A file half-edited by hand: keep the aliases that worked, say why once.
      this.#log.warn({ petnames: path, error: (err as Error).message }, 'petnames not reloaded')
    }
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

function mtimeMs(path: string | undefined): number | undefined {
  if (path === undefined) return undefined
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

function isSpecTable(v: TomlValue): v is { readonly spec: string } {
  return (
    typeof v === 'object' && !Array.isArray(v) && typeof (v as { spec?: unknown }).spec === 'string'
  )
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}
