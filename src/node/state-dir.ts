/**
 * The state directory: the node's identity key and its control socket. The
 * directory is created owner-only (0700); `identity.key` holds the 32-byte
 * Ed25519 seed as 64 lowercase hex digits and a newline, mode 0600. Hex rather
 * than raw bytes so that a key file survives copy-paste and `cat`, and so that
 * a truncated or edited file is recognisably wrong.
 */

import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import envPaths from 'env-paths'
import { CodedError } from '../core/coded-error.ts'
import { generateIdentity, type Identity, identityFromSeed } from '../identity/keys.ts'
import { syncDirectory } from './atomic-file.ts'

export const IDENTITY_FILE = 'identity.key'
export const CONTROL_SOCKET_FILE = 'control.sock'
const SEED_BYTES = 32

export type StateDirErrorCode = 'key-permissions' | 'key-corrupt' | 'state-dir'

export class StateDirError extends CodedError<StateDirErrorCode> {}

/** The platform's per-user data directory for semos (e.g. ~/.local/share/semos). */
export function defaultStateDir(): string {
  return envPaths('semos', { suffix: '' }).data
}

export function identityPath(stateDir: string): string {
  return join(stateDir, IDENTITY_FILE)
}

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET_FILE)
}

export interface LoadIdentityOptions {
  /** Called once when a new identity was generated and saved. */
  readonly onCreate?: (keyPath: string) => void
}

/**
 * The node's identity from `stateDir`, generated and saved on first use.
 * Throws a StateDirError for a key file others can read or one that is not a
 * 32-byte seed: both need a person to look, never a silent new identity.
 */
export function loadOrCreateIdentity(
  stateDir: string,
  options: LoadIdentityOptions = {},
): Identity {
  ensureStateDir(stateDir)
  const keyPath = identityPath(stateDir)
  const existing = readKeyFile(keyPath)
  if (existing !== undefined) return existing
  const identity = generateIdentity()
  if (!publishKeyFile(keyPath, identity.exportSeed())) {
    // Another process created the key first: its identity is the node's.
    const theirs = readKeyFile(keyPath)
    if (theirs === undefined) throw new StateDirError('state-dir', `${keyPath} vanished`)
    return theirs
  }
  options.onCreate?.(keyPath)
  return identity
}

function ensureStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 })
    if (!statSync(stateDir).isDirectory()) {
      throw new StateDirError('state-dir', `state directory ${stateDir} is not a directory`)
    }
  } catch (err) {
    if (err instanceof StateDirError) throw err
    throw new StateDirError(
      'state-dir',
      `cannot create state directory ${stateDir}: ${reason(err)}`,
    )
  }
}

function readKeyFile(keyPath: string): Identity | undefined {
  let text: string
  try {
    const stat = statSync(keyPath)
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new StateDirError(
        'key-permissions',
        `${keyPath} is accessible by group or others (mode ${mode}); run: chmod 600 ${keyPath}`,
      )
    }
    text = readFileSync(keyPath, 'utf8')
  } catch (err) {
    if (err instanceof StateDirError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StateDirError('state-dir', `cannot read ${keyPath}: ${reason(err)}`)
  }
  const hex = text.trim()
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== SEED_BYTES * 2) {
    throw new StateDirError(
      'key-corrupt',
      `${keyPath} is corrupt: expected ${SEED_BYTES * 2} hex digits (a ${SEED_BYTES}-byte seed)`,
    )
  }
  return identityFromSeed(Buffer.from(hex, 'hex'))
}

/**
 * Writes the seed to a private temporary file, flushes it, then links it into
 * place. A link (unlike a rename) fails if the key already exists, so two
 * first runs racing cannot end up with different names; either way readers
 * only ever see a complete file. Returns false if the key already existed.
 */
function publishKeyFile(keyPath: string, seed: Uint8Array): boolean {
  const tmpPath = `${keyPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    const fd = openSync(tmpPath, 'wx', 0o600)
    try {
      writeSync(fd, `${Buffer.from(seed).toString('hex')}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    if (!linkUnlessExists(tmpPath, keyPath)) return false
    syncDirectory(dirname(keyPath))
    return true
  } catch (err) {
    throw new StateDirError('state-dir', `cannot write ${keyPath}: ${reason(err)}`)
  } finally {
    try {
      unlinkSync(tmpPath)
    } catch {
      // never created, or already gone: nothing to clean up
    }
  }
}

function linkUnlessExists(from: string, to: string): boolean {
  try {
    linkSync(from, to)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
