/**
 * Petnames: short local aliases ("laptop", "db") for names, usable wherever a
 * name is. They live in `petnames.toml` beside config.toml, one flat table of
 * `alias = "NAME"`; they are this user's private labels, never published or
 * sent to peers. A Petnames value is immutable: `set` and `delete` return a
 * new one, so a SOCKS server can keep using the one it has while the file is
 * edited and swap in a reloaded one. See docs/petnames.md.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { CodedError } from '../core/coded-error.ts'
import { canonicalName, decodeName, NAME_LENGTH } from '../identity/name.ts'
import { type AtomicWriteError, writeFileAtomically } from './atomic-file.ts'
import { type ConfigFlags, type DefaultPaths, defaultPaths, type Env } from './config.ts'

export const PETNAMES_FILE = 'petnames.toml'
/** One DNS label, so that `ALIAS.semos` is a host name SOCKS clients pass through. */
export const MAX_ALIAS_LENGTH = 63
/** A mistyped alias farther than this (edits) from every alias gets no suggestion. */
export const SUGGEST_MAX_EDITS = 2

/** Written at the top of a file that did not exist; an existing file keeps its own. */
export const DEFAULT_HEADER = `# semos petnames: short local aliases for names (docs/petnames.md).
# alias = "NAME": 1-63 of a-z, 0-9 and '-', not first or last; case-insensitive.`

export type PetnamesErrorCode =
  | 'petnames-unreadable'
  | 'petnames-permissions'
  | 'petnames-syntax'
  | 'petnames-bad-alias'
  | 'petnames-bad-name'
  | 'petnames-duplicate'
  | 'petnames-unwritable'
  | 'unknown-name'

/** A bad petnames file or alias (the user's to fix), or a target that is neither. */
export class PetnamesError extends CodedError<PetnamesErrorCode> {}

export interface Petname {
  readonly alias: string
  readonly name: string
}

/** `--petnames` if given, else `petnames.toml` beside the config file in use. */
export function petnamesPath(
  flags: Pick<ConfigFlags, 'config'> & { readonly petnames?: string },
  env: Env,
  paths: DefaultPaths = defaultPaths(),
): string {
  if (flags.petnames !== undefined && flags.petnames !== '') return resolve(flags.petnames)
  const config = flags.config ?? (env.SEMOS_CONFIG || undefined) ?? paths.configFile
  return resolve(dirname(resolve(config)), PETNAMES_FILE)
}

const ALIAS = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/
const NAME_SHAPED = new RegExp(`^[a-z2-7]{${NAME_LENGTH}}$`)

/** Why `alias` (already lowercased) is not an alias, or undefined if it is one. */
export function aliasProblem(alias: string): string | undefined {
  if (alias.length < 1 || alias.length > MAX_ALIAS_LENGTH || !ALIAS.test(alias)) {
    return `expected 1-${MAX_ALIAS_LENGTH} letters, digits and '-', not starting or ending with '-'`
  }
  // A name always means the key it spells: a string shaped like a name (valid
  // or one typo away from valid) is never an alias, so no file can make
  // something that looks like name X reach key Y, and `resolve` never has to
  // choose between a name and an alias.
  if (NAME_SHAPED.test(alias)) {
    return `${NAME_LENGTH} characters of a-z and 2-7 are a name, never an alias`
  }
  return undefined
}

/**
 * Aliases fold case in ASCII only: `toLowerCase` would turn the Kelvin sign
 * (U+212A) into `k`, making a look-alike string an alias.
 */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

/** True if `text` is an alias, in any case. */
export function isAlias(text: string): boolean {
  return aliasProblem(lowerAscii(text)) === undefined
}

export class Petnames {
  readonly #path: string | undefined
  readonly #header: string
  /** Lowercase alias → canonical name, in file order. */
  readonly #names: ReadonlyMap<string, string>

  private constructor(
    path: string | undefined,
    header: string,
    names: ReadonlyMap<string, string>,
  ) {
    this.#path = path
    this.#header = header
    this.#names = names
  }

  /** No aliases; `path` (if given) is where `save()` writes and errors point. */
  static empty(path?: string): Petnames {
    return new Petnames(path === undefined ? undefined : resolve(path), DEFAULT_HEADER, new Map())
  }

  /**
   * The aliases in `path`. A missing file has none; anything wrong with an
   * existing one throws a PetnamesError naming the file, the line and the key.
   */
  static load(path: string): Petnames {
    const file = resolve(path)
    const text = readPetnamesFile(file)
    if (text === undefined) return Petnames.empty(file)
    const names = new Map<string, string>()
    const written = new Map<string, string>() // lowercase alias → the key as written
    for (const [key, value] of Object.entries(parseToml(file, text))) {
      const line = lineOf(text, key)
      const at = `${file}${line === undefined ? '' : `:${line}`}: ${show(key)}`
      const alias = lowerAscii(key)
      const problem = aliasProblem(alias)
      if (problem !== undefined) {
        throw new PetnamesError('petnames-bad-alias', `${at}: not an alias: ${problem}`)
      }
      const first = written.get(alias)
      if (first !== undefined) {
        throw new PetnamesError(
          'petnames-duplicate',
          `${at}: duplicate alias: ${show(first)} is the same one (aliases are case-insensitive)`,
        )
      }
      const name = typeof value === 'string' ? canonicalName(value) : undefined
      if (name === undefined) {
        throw new PetnamesError('petnames-bad-name', `${at}: ${expectedName(value)}`)
      }
      written.set(alias, key)
      names.set(alias, name)
    }
    return new Petnames(file, headerOf(text), names)
  }

  /** The file this was loaded from (or will be saved to by default). */
  get path(): string | undefined {
    return this.#path
  }

  get size(): number {
    return this.#names.size
  }

  /**
   * The canonical name `nameOrAlias` stands for: a valid name is itself (in
   * the file or not), an alias (any case) its name; otherwise undefined.
   */
  resolve(nameOrAlias: string): string | undefined {
    return canonicalName(nameOrAlias) ?? this.#names.get(lowerAscii(nameOrAlias))
  }

  /** The first alias in the file for `name` (any case), for display; undefined if none. */
  aliasOf(name: string): string | undefined {
    const canonical = canonicalName(name)
    if (canonical === undefined) return undefined
    for (const [alias, n] of this.#names) if (n === canonical) return alias
    return undefined
  }

  /**
   * Every alias and its name, in file order (except that TOML parsers put
   * all-digit keys such as `42` first, as JavaScript objects do).
   */
  entries(): Petname[] {
    return [...this.#names].map(([alias, name]) => ({ alias, name }))
  }

  /** A copy with `alias` (any case) naming `name`; an existing alias keeps its place. */
  set(alias: string, name: string): Petnames {
    const lower = lowerAscii(alias)
    const problem = aliasProblem(lower)
    if (problem !== undefined) {
      throw new PetnamesError('petnames-bad-alias', `${show(alias)}: not an alias: ${problem}`)
    }
    const canonical = canonicalName(name)
    if (canonical === undefined) {
      throw new PetnamesError('petnames-bad-name', `${show(alias)}: ${expectedName(name)}`)
    }
    return new Petnames(this.#path, this.#header, new Map(this.#names).set(lower, canonical))
  }

  /** A copy without `alias` (any case); this one if there was no such alias. */
  delete(alias: string): Petnames {
    const lower = lowerAscii(alias)
    if (!this.#names.has(lower)) return this
    const names = new Map(this.#names)
    names.delete(lower)
    return new Petnames(this.#path, this.#header, names)
  }

  /** The file's text: the header comment kept from the loaded file, then one line per alias. */
  toString(): string {
    const lines = [...this.#names].map(([alias, name]) => `${alias} = "${name}"\n`)
    const header = this.#header === '' ? '' : `${this.#header}\n${lines.length > 0 ? '\n' : ''}`
    return header + lines.join('')
  }

  /**
   * Writes the file (to `path`, else where it was loaded from) atomically:
   * readers see the old file or the new one, never a part. The file is
   * owner-only (0600); other comments than the header are not kept.
   */
  save(path?: string): void {
    const target = path ?? this.#path
    if (target === undefined) {
      throw new PetnamesError('petnames-unwritable', 'no petnames file to save to')
    }
    writeAtomically(resolve(target), this.toString())
  }
}

/**
 * The canonical name `input` stands for, for `semos forward`, SOCKS hosts and
 * every command taking a NAME; throws PetnamesError('unknown-name') otherwise.
 */
export function resolveTarget(input: string, petnames: Petnames): string {
  const name = petnames.resolve(input)
  if (name !== undefined) return name
  // Near a name's length it was probably meant as one: say what is wrong with it.
  const decoded = decodeName(input)
  const why = !decoded.ok && Math.abs(input.length - NAME_LENGTH) <= 4 ? ` (${decoded.detail})` : ''
  const where = petnames.path === undefined ? '' : ` in ${petnames.path}`
  const near = suggestAlias(input, petnames)
  const hint = near === undefined ? '' : `; did you mean '${near}'?`
  throw new PetnamesError(
    'unknown-name',
    `unknown name ${quote(input)}: not a name${why}, and no such alias${where}${hint}`,
  )
}

/**
 * The closest alias within SUGGEST_MAX_EDITS edits, and fewer edits than the
 * longer of the two has characters (`x` suggests nothing for `db`).
 */
export function suggestAlias(input: string, petnames: Petnames): string | undefined {
  const typed = lowerAscii(input)
  let best: string | undefined
  let bestEdits = SUGGEST_MAX_EDITS + 1
  for (const { alias } of petnames.entries()) {
    const edits = editDistance(typed, alias, bestEdits)
    if (edits < bestEdits && edits < Math.max(typed.length, alias.length)) {
      best = alias
      bestEdits = edits
    }
  }
  return best
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions and
 * swaps of neighbours, each one edit); anything at or above `cap` is `cap`.
 */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= cap) return cap
  let before = new Array<number>(b.length + 1).fill(0)
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, before[j - 2]! + 1)
      }
      row.push(d)
    }
    before = previous
    previous = row
  }
  return Math.min(previous[b.length]!, cap)
}

/** The file's text, or undefined if there is no file. */
function readPetnamesFile(file: string): string | undefined {
  try {
    const mode = statSync(file).mode
    // Whoever can write the file decides whom an alias reaches.
    if (process.platform !== 'win32' && (mode & 0o002) !== 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0')
      throw new PetnamesError(
        'petnames-permissions',
        `${file} is writable by others (mode ${octal}), who could redirect its aliases; run: chmod 600 ${file}`,
      )
    }
    return readFileSync(file, 'utf8')
  } catch (err) {
    if (err instanceof PetnamesError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new PetnamesError(
      'petnames-unreadable',
      `cannot read petnames file ${file}: ${reason(err)}`,
    )
  }
}

function parseToml(file: string, text: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>
  } catch (err) {
    if (!(err instanceof TomlError)) throw err
    const what = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '')
    throw new PetnamesError(
      'petnames-syntax',
      `${file}:${err.line}:${err.column}: invalid TOML: ${what}`,
    )
  }
}

/**
 * The line defining `key` (`key =`, `"key" =`, `'key' =`, `key.x =` or
 * `[key]`): smol-toml reports lines only for syntax errors. Best effort: a
 * key spelled with escapes is not found, and the message then has no line.
 */
function lineOf(text: string, key: string): number | undefined {
  const spellings = [key, JSON.stringify(key), `'${key}'`]
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trimStart().replace(/^\[\[?\s*/, '')
    for (const s of spellings) {
      if (line.startsWith(s) && /^\s*[=.\]]/.test(line.slice(s.length))) return i + 1
    }
  }
  return undefined
}

/** The comment block the file starts with (blank lines inside it kept, after it dropped). */
function headerOf(text: string): string {
  const lines = text.split(/\r?\n/)
  const end = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
  const head = lines.slice(0, end < 0 ? lines.length : end)
  while (head.length > 0 && (head.at(-1) as string).trim() === '') head.pop()
  return head.join('\n')
}

function expectedName(value: unknown): string {
  const why = typeof value === 'string' ? decodeName(value) : undefined
  const table = typeof value === 'object' && value !== null && !(value instanceof Date)
  const detail =
    why !== undefined && !why.ok
      ? ` (${why.detail})`
      : table && !Array.isArray(value)
        ? ' (the file is one flat table: no [sections] or dotted keys)'
        : ''
  return `expected a name (${NAME_LENGTH} characters of a-z and 2-7), got ${show(value)}${detail}`
}

/** writeFileAtomically, its failure as this module's one-line error. */
function writeAtomically(target: string, text: string): void {
  try {
    writeFileAtomically(target, text)
  } catch (err) {
    throw new PetnamesError(
      'petnames-unwritable',
      `cannot write petnames file ${(err as AtomicWriteError).file ?? target}: ${reason(err)}`,
    )
  }
}

function show(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'a table'
  // Long enough for any alias or name in full.
  if (typeof value === 'string' && value.length > 64) {
    return `${JSON.stringify(value.slice(0, 60))}...`
  }
  return JSON.stringify(value) ?? String(value)
}

/** User input in single quotes, on one line and not too long. */
function quote(input: string): string {
  const clean = [...input].map((c) => (c < ' ' || c === '\x7f' ? '?' : c)).join('')
  return `'${clean.length <= 60 ? clean : `${clean.slice(0, 57)}...`}'`
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
