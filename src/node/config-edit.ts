/**
 * Edits one top-level key of a TOML text and keeps the rest as the user wrote it —
 * comments, order, blank lines — so that `semos forward --save` never rewrites a
 * hand-kept config file. The key's old assignment (which may span lines) is replaced
 * in place, or a new one is appended; the result is parsed back and checked before
 * anyone writes it.
 */
import { isDeepStrictEqual } from 'node:util'
import { parse } from 'smol-toml'

/** A TOML value this editor writes: strings, and arrays and inline tables of them. */
export type TomlValue = string | readonly TomlValue[] | { readonly [key: string]: TomlValue }

/** Where a top-level `key = value` sits in `text`: [start of its line, end of its value). */
export function assignmentSpan(text: string, key: string): [number, number] | undefined {
  const scan = new Scanner(text)
  while (!scan.done) {
    scan.skipBlankAndComments()
    if (scan.done) break
    const lineStart = scan.lineStart()
    const found = scan.key()
    if (found === undefined || text[scan.pos] !== '=') {
      // Not an assignment this editor understands (a [table] header): the end of the
      // top-level keys, which must come before any table.
      return undefined
    }
    scan.pos++
    scan.value()
    if (found === key) return [lineStart, scan.pos]
  }
  return undefined
}

/**
 * `text` with top-level `key` set to `value` (replacing its assignment, or appended
 * before any table); undefined as `value` removes the key. Throws if the file has a
 * shape this editor does not handle, rather than write a file that means otherwise.
 */
export function setTopLevel(text: string, key: string, value: TomlValue | undefined): string {
  const line = value === undefined ? '' : `${key} = ${formatValue(value)}`
  const span = assignmentSpan(text, key)
  let out: string
  if (span !== undefined) {
    const [start, end] = span
    let rest = text.slice(end)
    // Removing: take the line's end with it (but keep a comment that followed the value).
    if (value === undefined && /^[ \t]*(\r?\n|$)/.test(rest))
      rest = rest.replace(/^[ \t]*\r?\n?/, '')
    out = text.slice(0, start) + line + rest
  } else if (value === undefined) {
    out = text
  } else {
    const table = /^[ \t]*\[/m.exec(text)
    const at = table?.index ?? text.length
    const before = text.slice(0, at)
    const sep = before === '' || before.endsWith('\n') ? '' : '\n'
    out = `${before}${sep}${line}\n${text.slice(at)}`
  }
  const parsed = parse(out) as Record<string, unknown>
  const expected = value === undefined ? undefined : plain(value)
  // Through JSON: the parser's tables have no prototype, the caller's do.
  if (!isDeepStrictEqual(plainOrUndefined(parsed[key]), expected)) {
    throw new Error(`cannot edit "${key}" here: edit the file by hand`)
  }
  return out
}

/** A value as one line of TOML: basic strings with JSON's escapes (a subset of TOML's). */
export function formatValue(value: TomlValue): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (isArray(value)) return `[${value.map(formatValue).join(', ')}]`
  const pairs = Object.entries(value).map(([k, v]) => `${formatKey(k)} = ${formatValue(v)}`)
  return `{ ${pairs.join(', ')} }`
}

function isArray(v: TomlValue): v is readonly TomlValue[] {
  return Array.isArray(v)
}

function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key)
}

function plain(value: TomlValue): unknown {
  return JSON.parse(JSON.stringify(value))
}

function plainOrUndefined(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

/** Just enough of TOML's lexical structure to find where a top-level value ends. */
class Scanner {
  readonly #text: string
  pos = 0

  constructor(text: string) {
    this.#text = text
  }

  get done(): boolean {
    return this.pos >= this.#text.length
  }

  lineStart(): number {
    return this.#text.lastIndexOf('\n', this.pos - 1) + 1
  }

  skipBlankAndComments(): void {
    for (;;) {
      this.#skipSpace(true)
      if (this.#text[this.pos] !== '#') return
      this.#skipComment()
    }
  }

  /** A bare or quoted key (dotted keys are read whole), then the spaces before `=`. */
  key(): string | undefined {
    const t = this.#text
    let key = ''
    for (;;) {
      const c = t[this.pos]
      if (c === '"' || c === "'") {
        const start = this.pos
        this.#string()
        const raw = t.slice(start, this.pos)
        key += c === '"' ? (JSON.parse(raw) as string) : raw.slice(1, -1)
      } else {
        const m = /^[A-Za-z0-9_-]+/.exec(t.slice(this.pos))
        if (m === null) return undefined
        key += m[0]
        this.pos += m[0].length
      }
      this.#skipSpace(false)
      if (t[this.pos] !== '.') break
      key += '.'
      this.pos++
      this.#skipSpace(false)
    }
    return key
  }

  /** One value: up to the end of its last token (a comment after it is not part of it). */
  value(): void {
    let depth = 0
    this.#skipSpace(false)
    while (!this.done && !(depth === 0 && this.#atValueEnd())) {
      const c = this.#text[this.pos] as string
      if (c === '"' || c === "'") this.#string()
      else if (c === '#') this.#skipComment()
      else {
        if (c === '[' || c === '{') depth++
        else if (c === ']' || c === '}') depth--
        this.pos++
      }
    }
  }

  /**
   * Outside brackets a value ends at its line's end or its comment, and before the
   * spaces that precede them (spaces inside a scalar, a date-time's, are its own).
   */
  #atValueEnd(): boolean {
    const c = this.#text[this.pos]
    if (c === '#' || c === '\n' || c === '\r') return true
    return (c === ' ' || c === '\t') && /^[ \t]*(#|\r?\n|$)/.test(this.#text.slice(this.pos))
  }

  #string(): void {
    const t = this.#text
    const q = t[this.pos] as string
    const triple = t.startsWith(q.repeat(3), this.pos)
    const close = triple ? q.repeat(3) : q
    this.pos += close.length
    for (;;) {
      if (this.done) return
      if (q === '"' && t[this.pos] === '\\') {
        this.pos += 2
        continue
      }
      if (t.startsWith(close, this.pos)) {
        this.pos += close.length
        // A multi-line string may end with up to two more quotes of its own.
        while (triple && t[this.pos] === q) this.pos++
        return
      }
      this.pos++
    }
  }

  #skipComment(): void {
    while (!this.done && this.#text[this.pos] !== '\n') this.pos++
  }

  #skipSpace(newlines: boolean): void {
    const t = this.#text
    while (!this.done) {
      const c = t[this.pos]
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) this.pos++
      else return
    }
  }
}
