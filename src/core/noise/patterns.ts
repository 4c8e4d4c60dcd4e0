/**
 * Handshake patterns (spec §7, §9): the table of fundamental and deferred patterns, in the
 * spec's own notation, and the `pskN` modifiers. Messages alternate between the parties,
 * the initiator first: message i is the initiator's exactly when i is even.
 */
import { type Decoded, fail, ok } from '../result.ts'

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk'
/** Pre-message tokens: only `s` here; `e` appears only in fallback patterns, not supported. */
export type PreMessageToken = 's'

export interface HandshakePattern {
  /** The name as in a protocol name: `XX`, `IKpsk2`, `NNpsk0+psk2`. */
  readonly name: string
  /** Keys each side knows of the other before the first message. */
  readonly preMessages: {
    readonly initiator: readonly PreMessageToken[]
    readonly responder: readonly PreMessageToken[]
  }
  readonly messages: readonly (readonly Token[])[]
  /** N, K and X and their modified forms: one message, then transport one way only. */
  readonly oneWay: boolean
  /** Whether any psk token appears, which makes every `e` token also MixKey (spec §9.2). */
  readonly psk: boolean
}

/** The spec's notation: pre-messages, `...`, then messages, joined by `|`. */
const BASE_PATTERNS: Readonly<Record<string, string>> = {
  // One-way (§7.4)
  N: '<- s | ... | -> e, es',
  K: '-> s | <- s | ... | -> e, es, ss',
  X: '<- s | ... | -> e, es, s, ss',
  // Interactive, fundamental (§7.5)
  NN: '-> e | <- e, ee',
  NK: '<- s | ... | -> e, es | <- e, ee',
  NX: '-> e | <- e, ee, s, es',
  XN: '-> e | <- e, ee | -> s, se',
  XK: '<- s | ... | -> e, es | <- e, ee | -> s, se',
  XX: '-> e | <- e, ee, s, es | -> s, se',
  KN: '-> s | ... | -> e | <- e, ee, se',
  KK: '-> s | <- s | ... | -> e, es, ss | <- e, ee, se',
  KX: '-> s | ... | -> e | <- e, ee, se, s, es',
  IN: '-> e, s | <- e, ee, se',
  IK: '<- s | ... | -> e, es, s, ss | <- e, ee, se',
  IX: '-> e, s | <- e, ee, se, s, es',
  // Interactive, deferred (§7.6)
  NK1: '<- s | ... | -> e | <- e, ee, es',
  NX1: '-> e | <- e, ee, s | -> es',
  X1N: '-> e | <- e, ee | -> s | <- se',
  X1K: '<- s | ... | -> e, es | <- e, ee | -> s | <- se',
  XK1: '<- s | ... | -> e | <- e, ee, es | -> s, se',
  X1K1: '<- s | ... | -> e | <- e, ee, es | -> s | <- se',
  X1X: '-> e | <- e, ee, s, es | -> s | <- se',
  XX1: '-> e | <- e, ee, s | -> es, s, se',
  X1X1: '-> e | <- e, ee, s | -> es, s | <- se',
  K1N: '-> s | ... | -> e | <- e, ee | -> se',
  K1K: '-> s | <- s | ... | -> e, es | <- e, ee | -> se',
  KK1: '-> s | <- s | ... | -> e | <- e, ee, se, es',
  K1K1: '-> s | <- s | ... | -> e | <- e, ee, es | -> se',
  K1X: '-> s | ... | -> e | <- e, ee, s, es | -> se',
  KX1: '-> s | ... | -> e | <- e, ee, se, s | -> es',
  K1X1: '-> s | ... | -> e | <- e, ee, s | -> se, es',
  I1N: '-> e, s | <- e, ee | -> se',
  I1K: '<- s | ... | -> e, es, s | <- e, ee | -> se',
  IK1: '<- s | ... | -> e, s | <- e, ee, se, es',
  I1K1: '<- s | ... | -> e, s | <- e, ee, es | -> se',
  I1X: '-> e, s | <- e, ee, s, es | -> se',
  IX1: '-> e, s | <- e, ee, se, s | -> es',
  I1X1: '-> e, s | <- e, ee, s | -> se, es',
}

/** The names of the base patterns, without modifiers. */
export const BASE_PATTERN_NAMES: readonly string[] = Object.keys(BASE_PATTERNS)

const ONE_WAY = new Set(['N', 'K', 'X'])

/** Parses the table's notation; the table is ours, so a malformed line is a bug and throws. */
function parseNotation(name: string, notation: string): HandshakePattern {
  const lines = notation.split(' | ')
  const dots = lines.indexOf('...')
  const pre = { initiator: [] as PreMessageToken[], responder: [] as PreMessageToken[] }
  for (const line of dots < 0 ? [] : lines.slice(0, dots)) {
    if (line !== '-> s' && line !== '<- s') throw new Error(`${name}: bad pre-message ${line}`)
    pre[line === '-> s' ? 'initiator' : 'responder'].push('s')
  }
  const messages = lines.slice(dots + 1).map((line, i) => {
    if (!line.startsWith(i % 2 === 0 ? '-> ' : '<- ')) throw new Error(`${name}: out of turn`)
    return line.slice(3).split(', ') as Token[]
  })
  return { name, preMessages: pre, messages, oneWay: ONE_WAY.has(name), psk: false }
}

const PATTERNS = new Map(
  Object.entries(BASE_PATTERNS).map(([name, notation]) => [name, parseNotation(name, notation)]),
)

/**
 * The pattern a name denotes: a base pattern and optional modifiers `pskN` joined by `+`
 * (§9.2: psk0 puts a psk token first in the first message, pskN last in the Nth).
 * The fallback modifier (§10.2) is not supported.
 */
export function lookupPattern(name: string): Decoded<HandshakePattern, 'unknown-pattern'> {
  const match = /^([NKXI]1?(?:[NKX]1?)?)(.*)$/.exec(name)
  const base = match === null ? undefined : PATTERNS.get(match[1] as string)
  if (match === null || base === undefined)
    return fail('unknown-pattern', `${name}: no such pattern`)
  const modifiers = match[2] === '' ? [] : (match[2] as string).split('+')
  const messages = base.messages.map((tokens) => [...tokens])
  const seen = new Set<number>()
  for (const modifier of modifiers) {
    const psk = /^psk(0|[1-9][0-9]*)$/.exec(modifier)
    const n = psk === null ? -1 : Number(psk[1])
    if (n < 0 || n > messages.length || seen.has(n)) {
      return fail('unknown-pattern', `${name}: unsupported modifier ${modifier}`)
    }
    seen.add(n)
    if (n === 0) messages[0]?.unshift('psk')
    else messages[n - 1]?.push('psk')
  }
  return ok({ ...base, name, messages, psk: seen.size > 0 })
}
