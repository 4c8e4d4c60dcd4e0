/**
 * What `semos node` runs with: defaults, overridden by the config file
 * (TOML), overridden by environment variables and flags. Every value is
 * checked here, once, with an error that names where it came from, the key,
 * what was expected and what was found; the daemon gets only valid options.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import envPaths from 'env-paths'
import { parse, TomlError } from 'smol-toml'
import { CodedError } from '../core/coded-error.ts'
import { isValidQ, MAX_Q, MIN_Q } from '../overlay/address.ts'
import type { DaemonOptions } from './daemon-api.ts'
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger.ts'
import { defaultStateDir } from './state-dir.ts'

export const DEFAULT_LISTEN = '127.0.0.1:7400'
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 1000
export const DEFAULT_DEAD_AFTER_MS = 3000
export const DEFAULT_Q = 4
export const DEFAULT_REPLICAS = 3
export const DEFAULT_RECORD_LIFETIME_MS = 60_000
const HOST_PORT = '"host:port"'
/** More replicas than this only multiplies refresh traffic. */
export const MAX_REPLICAS = 16

export type ConfigErrorCode = 'config-invalid' | 'config-missing' | 'config-syntax'

/** A bad config file, flag or variable: the user's to fix (exit code 2). */
export class ConfigError extends CodedError<ConfigErrorCode> {}

/** The command-line flags that feed the config (all optional). */
export interface ConfigFlags {
  readonly listen?: string
  readonly advertise?: string
  readonly join?: readonly string[]
  readonly stateDir?: string
  readonly config?: string
  readonly logLevel?: string
}

/** SEMOS_STATE_DIR and SEMOS_CONFIG are read; anything else is ignored. */
export type Env = Readonly<Record<string, string | undefined>>

/** Where the defaults live; injectable so tests never see the user's files. */
export interface DefaultPaths {
  /** The config file read when neither --config nor SEMOS_CONFIG is given. */
  readonly configFile: string
  readonly stateDir: string
}

export function defaultPaths(): DefaultPaths {
  return {
    configFile: resolve(envPaths('semos', { suffix: '' }).config, 'config.toml'),
    stateDir: defaultStateDir(),
  }
}

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** Parses "host:port", "[v6]:port" included; port 0 only if allowed (listen: any port). */
export function parseHostPort(text: string, allowPortZero = false): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port > 65535 || (port === 0 && !allowPortZero)) return undefined
  return { host: (m[1] ?? m[2]) as string, port }
}

/** The inverse of parseHostPort: brackets around IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

type Table = Record<string, unknown>
interface Loaded {
  readonly path: string
  readonly table: Table
}

const KEYS = [
  'listen',
  'advertise',
  'bootstrap',
  'state_dir',
  'log_level',
  'keepalive_interval_ms',
  'dead_after_ms',
  'q',
  'replicas',
  'record_lifetime_ms',
  'forward',
  'socks',
  'expose',
  'expose_allow',
  'metrics',
] as const

/**
 * The daemon's options and log level. Precedence: flags, then SEMOS_STATE_DIR,
 * then the config file, then the defaults. Throws a ConfigError.
 */
export function resolveDaemonOptions(
  flags: ConfigFlags,
  env: Env,
  paths: DefaultPaths = defaultPaths(),
): { options: DaemonOptions; logLevel: LogLevel; configPath: string | undefined } {
  const file = loadConfig(flags, env, paths)
  const get = new Getter(file)
  const listenText = flags.listen ?? get.string('listen', HOST_PORT) ?? DEFAULT_LISTEN
  const listen = hostPort(listenText, flags.listen !== undefined ? '--listen' : get.where('listen'))
  const advertise = flags.advertise ?? get.string('advertise', HOST_PORT)
  if (advertise !== undefined) {
    hostPort(
      advertise,
      flags.advertise !== undefined ? '--advertise' : get.where('advertise'),
      false,
    )
  }
  const bootstrap = flags.join ?? get.stringArray('bootstrap') ?? []
  for (const peer of bootstrap) {
    hostPort(peer, flags.join !== undefined ? '--join' : get.where('bootstrap'), false)
  }
  const logLevel = flags.logLevel ?? get.string('log_level') ?? DEFAULT_LOG_LEVEL
  if (!isLogLevel(logLevel)) {
    const where = flags.logLevel !== undefined ? '--log-level' : get.where('log_level')
    throw invalid(where, `one of ${LOG_LEVELS.join(', ')}`, logLevel)
  }
  const keepaliveIntervalMs = get.int('keepalive_interval_ms', 1) ?? DEFAULT_KEEPALIVE_INTERVAL_MS
  const deadAfterMs = get.int('dead_after_ms', 1) ?? DEFAULT_DEAD_AFTER_MS
  if (deadAfterMs <= keepaliveIntervalMs) {
    throw invalid(
      get.where('dead_after_ms'),
      `more than keepalive_interval_ms (${keepaliveIntervalMs})`,
      deadAfterMs,
    )
  }
  const q = get.int('q', MIN_Q) ?? DEFAULT_Q
  if (!isValidQ(q)) throw invalid(get.where('q'), `an integer in [${MIN_Q}, ${MAX_Q}]`, q)
  const replicas = get.int('replicas', 1) ?? DEFAULT_REPLICAS
  if (replicas > MAX_REPLICAS) {
    throw invalid(get.where('replicas'), `an integer in [1, ${MAX_REPLICAS}]`, replicas)
  }
  const options: DaemonOptions = {
    stateDir: stateDirFrom(flags, env, file, paths),
    listen: { host: listen.host, port: listen.port },
    ...(advertise !== undefined ? { advertise } : {}),
    bootstrap: [...bootstrap],
    keepaliveIntervalMs,
    deadAfterMs,
    q,
    replicas,
    recordLifetimeMs: get.int('record_lifetime_ms', 1) ?? DEFAULT_RECORD_LIFETIME_MS,
  }
  return { options, logLevel, configPath: file?.path }
}

/** An exposed port as the config file gives it; `allow` undefined: expose_allow's default. */
export interface ExposeEntry {
  readonly spec: string
  readonly allow?: readonly string[] | '*'
}

/** What `semos up` forwards, as the config file and flags give it (specs still text). */
export interface ForwardSettings {
  /** `-L` specs: `[bind_address:]port:NAME:port`. */
  readonly local: readonly string[]
  /** `-D` specs: `[bind_address:]port`. */
  readonly dynamic: readonly string[]
  /**
   * expose entries: a spec (`[host:]port` or `port:host:hostport`), or in the file
   * `{ spec = "…", allow = ["laptop"] }` (or `allow = "*"`) for one with its own allow-list.
   */
  readonly expose: readonly ExposeEntry[]
  /** Who may use the exposed ports: names or aliases, or '*' for anyone; undefined: the default. */
  readonly exposeAllow: readonly string[] | '*' | undefined
  /** `[host:]port` of the metrics endpoint; undefined: off. */
  readonly metrics: string | undefined
  /** Where the forwards came from, for error messages. */
  readonly where: { readonly local: string; readonly dynamic: string; readonly expose: string }
}

/** The config file's path and the forwarding settings in it (flags are the command's to merge). */
export function resolveForwardSettings(
  flags: Pick<ConfigFlags, 'config'>,
  env: Env,
  paths: DefaultPaths = defaultPaths(),
): ForwardSettings & { readonly configPath: string } {
  const file = loadConfig(flags, env, paths)
  const get = new Getter(file)
  const list = (key: string): string[] => {
    const v = file?.table[key]
    if (v === undefined) return []
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s !== '')) {
      throw invalid(get.where(key), 'an array of non-empty strings', v)
    }
    return v as string[]
  }
  const allow = file?.table.expose_allow
  let exposeAllow: readonly string[] | '*' | undefined
  if (allow === '*') exposeAllow = '*'
  else if (allow !== undefined) exposeAllow = list('expose_allow')
  return {
    configPath: file?.path ?? resolve(flags.config ?? (env.SEMOS_CONFIG || paths.configFile)),
    local: list('forward'),
    dynamic: list('socks'),
    expose: exposeEntries(file?.table.expose, get.where('expose')),
    exposeAllow,
    metrics: get.string('metrics', '"[host:]port"'),
    where: {
      local: get.where('forward'),
      dynamic: get.where('socks'),
      expose: get.where('expose'),
    },
  }
}

function exposeEntries(v: unknown, where: string): ExposeEntry[] {
  if (v === undefined) return []
  const expected = 'an array of specs ("8080") or { spec = "8080", allow = ["NAME", …] or "*" }'
  if (!Array.isArray(v)) throw invalid(where, expected, v)
  return v.map((e: unknown): ExposeEntry => {
    if (typeof e === 'string' && e !== '') return { spec: e }
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw invalid(where, expected, e)
    const { spec, allow, ...rest } = e as Record<string, unknown>
    if (Object.keys(rest).length > 0 || typeof spec !== 'string' || spec === '') {
      throw invalid(where, expected, e)
    }
    if (allow === undefined) return { spec }
    if (allow === '*') return { spec, allow }
    if (!Array.isArray(allow) || !allow.every((a) => typeof a === 'string' && a !== '')) {
      throw invalid(where, expected, e)
    }
    return { spec, allow: allow as string[] }
  })
}

/**
 * The state directory alone, for the commands that only need the identity or
 * the control socket; same precedence as resolveDaemonOptions.
 */
export function resolveStateDir(
  flags: Pick<ConfigFlags, 'stateDir' | 'config'>,
  env: Env,
  paths: DefaultPaths = defaultPaths(),
): string {
  return stateDirFrom(flags, env, loadConfig(flags, env, paths), paths)
}

function stateDirFrom(
  flags: Pick<ConfigFlags, 'stateDir'>,
  env: Env,
  file: Loaded | undefined,
  paths: DefaultPaths,
): string {
  if (flags.stateDir !== undefined) return resolve(nonEmpty(flags.stateDir, '--state-dir'))
  const fromEnv = env.SEMOS_STATE_DIR
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  const fromFile = new Getter(file).string('state_dir')
  // A relative state_dir means relative to the file, not to wherever semos was started.
  if (fromFile !== undefined && file !== undefined) return resolve(dirname(file.path), fromFile)
  return paths.stateDir
}

/** Reads and checks the config file; a missing default file is simply no file. */
function loadConfig(
  flags: Pick<ConfigFlags, 'config'>,
  env: Env,
  paths: DefaultPaths,
): Loaded | undefined {
  const explicit = flags.config ?? (env.SEMOS_CONFIG || undefined)
  const path = resolve(explicit ?? paths.configFile)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && explicit === undefined) return undefined
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw new ConfigError('config-missing', `cannot read config file ${path}: ${why}`)
  }
  let table: Table
  try {
    table = parse(text) as Table
  } catch (err) {
    if (!(err instanceof TomlError)) throw err
    const what = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '')
    throw new ConfigError(
      'config-syntax',
      `${path}:${err.line}:${err.column}: invalid TOML: ${what}`,
    )
  }
  const unknown = Object.keys(table).filter((k) => !(KEYS as readonly string[]).includes(k))
  if (unknown.length > 0) {
    throw new ConfigError(
      'config-invalid',
      `${path}: unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${KEYS.join(', ')})`,
    )
  }
  return { path, table }
}

/** Typed reads from the config file, each error naming the file and the key. */
class Getter {
  readonly #file: Loaded | undefined

  constructor(file: Loaded | undefined) {
    this.#file = file
  }

  where(key: string): string {
    return this.#file === undefined ? key : `${this.#file.path}: ${key}`
  }

  string(key: string, expected = 'a non-empty string'): string | undefined {
    const v = this.#file?.table[key]
    if (v === undefined) return undefined
    if (typeof v !== 'string' || v === '') throw invalid(this.where(key), expected, v)
    return v
  }

  stringArray(key: string): string[] | undefined {
    const v = this.#file?.table[key]
    if (v === undefined) return undefined
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      throw invalid(this.where(key), 'an array of "host:port" strings', v)
    }
    return v
  }

  int(key: string, min: number): number | undefined {
    const v = this.#file?.table[key]
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw invalid(this.where(key), `an integer >= ${min}`, v)
    }
    return v
  }
}

function hostPort(text: string, where: string, allowPortZero = true): HostPort {
  const parsed = parseHostPort(text, allowPortZero)
  if (parsed === undefined) throw invalid(where, HOST_PORT, text)
  return parsed
}

function nonEmpty(text: string, where: string): string {
  if (text === '') throw invalid(where, 'a path', text)
  return text
}

function invalid(where: string, expected: string, got: unknown): ConfigError {
  return new ConfigError('config-invalid', `${where}: expected ${expected}, got ${show(got)}`)
}

function show(value: unknown): string {
  const text = value instanceof Date ? value.toISOString() : JSON.stringify(value)
  return text === undefined || text.length <= 60 ? String(text) : `${text.slice(0, 57)}...`
}
