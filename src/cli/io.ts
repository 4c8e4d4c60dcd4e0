/**
 * What a command may touch of its process: output streams and the
 * environment. Passed in rather than reached for, so commands stay testable.
 */

import { semosNameFromHost } from '../forward/socks5.ts'
import { canonicalName, decodeName } from '../identity/name.ts'
import { type ConfigFlags, type Env, resolveStateDir } from '../node/config.ts'
import { type CallOptions, callControl } from '../node/control.ts'
import { Petnames, PetnamesError, petnamesPath, resolveTarget } from '../node/petnames.ts'
import { controlSocketPath } from '../node/state-dir.ts'
import { UsageError } from './errors.ts'

export interface Io {
  /** Writes command output (stdout). */
  out(text: string): void
  /** Writes notes and diagnostics (stderr). */
  err(text: string): void
  readonly env: Env
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
}

/**
 * The canonical name a NAME argument stands for — a name, or an alias from the
 * petnames file beside the config (`ALIAS.semos` too) — or a UsageError saying what
 * is wrong with it, with a close alias when there is one.
 */
export function nameArgument(text: string, io?: Io, flags: { config?: string } = {}): string {
  const name = canonicalName(text)
  if (name !== undefined) return name
  if (io === undefined) {
    const decoded = decodeName(text)
    const why = decoded.ok ? 'not canonical' : decoded.detail
    throw new UsageError(`not a name: "${text}" (${why})`)
  }
  try {
    const petnames = Petnames.load(petnamesPath(flags, io.env))
    return resolveTarget(semosNameFromHost(text) ?? text, petnames)
  } catch (err) {
    if (err instanceof PetnamesError) throw new UsageError(err.message)
    throw err
  }
}

/** Calls the daemon found through the state directory that `flags` and the environment select. */
export function callDaemon(
  io: Io,
  flags: Pick<ConfigFlags, 'stateDir'>,
  method: string,
  params: Record<string, unknown> = {},
  options: CallOptions = {},
): Promise<unknown> {
  const path = controlSocketPath(resolveStateDir(flags, io.env))
  return callControl(path, method, params, options)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
