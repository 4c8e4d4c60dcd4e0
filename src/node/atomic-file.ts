/**
 * Files the user keeps (petnames.toml, config.toml) are rewritten whole and atomically:
 * a reader — or a crash — sees the old file or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'

/** The error writeFileAtomically throws: the cause, and the file it meant to write. */
export interface AtomicWriteError extends Error {
  readonly file?: string
}

/**
 * Writes `text` to a temporary file in the target's directory (0600, whatever the
 * umask), flushes it, renames it over the target and syncs the directory. Through a
 * symbolic link (a file kept with one's dotfiles) it replaces the file linked to.
 */
export function writeFileAtomically(target: string, text: string): void {
  let file = target
  let tmp: string | undefined
  try {
    file = realTarget(target)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
    const fd = openSync(tmp, 'wx', 0o600)
    try {
      fchmodSync(fd, 0o600)
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
    tmp = undefined
    syncDirectory(dirname(file))
  } catch (err) {
    if (err instanceof Error) Object.assign(err, { file })
    throw err
  } finally {
    if (tmp !== undefined) {
      try {
        unlinkSync(tmp)
      } catch {
        // never created: nothing to clean up
      }
    }
  }
}

function realTarget(target: string): string {
  try {
    return realpathSync(target)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return target
    throw err
  }
}

/** Makes a directory's entries durable (a rename, a new link), so a crash cannot undo them. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
