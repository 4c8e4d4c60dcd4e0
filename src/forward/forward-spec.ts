/**
 * The forwarding specs of `semos forward`, in OpenSSH's syntax (ssh(1), `-L`, `-D`,
 * `-R`; docs/forwarding-wire.md has the grammar, examples and errors):
 *
 *   local    [bind_address:]port:NAME:port     listen here, carry each connection to NAME:port
 *   dynamic  [bind_address:]port               listen here, speak SOCKS5, connect by name
 *   expose   [host:]port | port:host:hostport  take overlay connections to port, carry them
 *                                              to the local service host:hostport
 *
 * Fields are split on ':' as ssh's parse_fwd_field splits them: a field that starts
 * with '[' runs to the matching ']', so an IPv6 address goes in brackets. A bind
 * address that is omitted means 127.0.0.1 (this machine only); `*` or an empty one
 * means every interface. Ports are decimal, 1..65535; 0 ("any free port") only on the
 * listening side. Pure: no I/O, no name resolution, no validation of NAME beyond its
 * syntax (names and aliases are resolved by the caller).
 */
import { isIPv4, isIPv6 } from 'node:net'
import { type Decoded, fail, ok } from '../core/result.ts'

/** The bind address when none is given: loopback, as ssh without GatewayPorts. */
export const DEFAULT_BIND_HOST = '127.0.0.1'
/** The bind address `*` (or an empty one) stands for: every interface. */
export const ALL_INTERFACES = '*'
export const MAX_PORT = 65_535

export type ForwardKind = 'local' | 'dynamic' | 'expose'
export type ForwardSpecError = 'bad-syntax' | 'bad-port' | 'bad-address'

/** An address: an IPv4 dotted quad, IPv6 text (no brackets), a host name, or `*`. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/** `-L`: connections to `bind` are carried to `target.port` of the peer `target.name`. */
export interface LocalForward {
  readonly kind: 'local'
  readonly bind: HostPort
  readonly target: { readonly name: string; readonly port: number }
}

/** `-D`: a SOCKS5 server on `bind`; each CONNECT names its own peer. */
export interface DynamicForward {
  readonly kind: 'dynamic'
  readonly bind: HostPort
}

/** `-R`: overlay connections to this node's `port` are carried to the local `service`. */
export interface ExposeForward {
  readonly kind: 'expose'
  readonly port: number
  readonly service: HostPort
}

export type ForwardSpec = LocalForward | DynamicForward | ExposeForward
export type ForwardSpecOf<K extends ForwardKind> = Extract<ForwardSpec, { kind: K }>

const EXPECTED: Record<ForwardKind, string> = {
  local: '[bind_address:]port:NAME:port',
  dynamic: '[bind_address:]port',
  expose: '[host:]port or port:host:hostport',
}

interface Field {
  readonly text: string
  readonly bracketed: boolean
}

/** A reason a part is bad, with its code; undefined when the part is good. */
type Problem = { readonly code: ForwardSpecError; readonly why: string } | undefined

/**
 * Parses one spec of the given kind. Every failure's detail is one line naming the
 * offending part: "bad forward spec '8080:db': expected [bind_address:]port:NAME:port".
 */
export function parseForwardSpec<K extends ForwardKind>(
  kind: K,
  text: string,
): Decoded<ForwardSpecOf<K>, ForwardSpecError> {
  const bad = (code: ForwardSpecError, why: string) =>
    fail(code, `bad forward spec '${printable(text)}': ${why}`)
  const fields = splitFields(text)
  if (typeof fields === 'string') return bad('bad-syntax', fields)
  const shape = SHAPES[kind][fields.length]
  if (shape === undefined) {
    const hint = text.includes('::')
      ? ' (IPv6 addresses go in square brackets)'
      : kind === 'expose' && fields.length === 4
        ? ' (an exposed port listens on the overlay: it has no bind address)'
        : ''
    return bad('bad-syntax', `expected ${EXPECTED[kind]}${hint}`)
  }
  for (let i = 0; i < fields.length; i++) {
    const problem = checkField(kind, shape[i] as Part, fields[i] as Field)
    if (problem !== undefined) return bad(problem.code, problem.why)
  }
  return ok(build(kind, shape, fields) as ForwardSpecOf<K>)
}

/**
 * The canonical text of a spec: the default bind address (127.0.0.1) left out, `*`
 * for every interface, IPv6 in brackets; an exposed service on the overlay port of
 * the same number as `[host:]port`. parseForwardSpec(kind, format(spec)) equals spec.
 * Throws a RangeError for a spec no text could stand for (local misuse).
 */
export function formatForwardSpec(spec: ForwardSpec): string {
  switch (spec.kind) {
    case 'local':
      check(checkHeldBindHost(spec.bind.host))
      check(checkPort(String(spec.bind.port), true, 'listening port'))
      check(checkName(spec.target.name))
      check(checkPort(String(spec.target.port), false, 'target port'))
      return `${bindPrefix(spec.bind.host)}${spec.bind.port}:${spec.target.name}:${spec.target.port}`
    case 'dynamic':
      check(checkHeldBindHost(spec.bind.host))
      check(checkPort(String(spec.bind.port), true, 'listening port'))
      return `${bindPrefix(spec.bind.host)}${spec.bind.port}`
    case 'expose': {
      const { host, port } = spec.service
      check(checkPort(String(spec.port), true, 'overlay port'))
      check(checkServiceHost(host, 'service host'))
      check(checkPort(String(port), false, 'service port'))
      return spec.port === port
        ? `${bindPrefix(host)}${port}`
        : `${spec.port}:${bracketed(host)}:${port}`
    }
    default:
      throw new RangeError(`unknown forward kind '${(spec as { kind: unknown }).kind}'`)
  }
}

/** What each field of a spec is, by kind and field count (absent: that count is bad). */
type Part = 'bind' | 'listen-port' | 'name' | 'port' | 'service-host' | 'service-port'
const SHAPES: Record<ForwardKind, Partial<Record<number, readonly Part[]>>> = {
  local: { 3: ['listen-port', 'name', 'port'], 4: ['bind', 'listen-port', 'name', 'port'] },
  dynamic: { 1: ['listen-port'], 2: ['bind', 'listen-port'] },
  expose: {
    1: ['service-port'],
    2: ['service-host', 'service-port'],
    3: ['listen-port', 'service-host', 'port'],
  },
}

function checkField(kind: ForwardKind, part: Part, field: Field): Problem {
  const isAddress = part === 'bind' || part === 'service-host'
  if (field.bracketed && !isAddress) {
    return { code: 'bad-syntax', why: `'[${printable(field.text)}]' is not an address field` }
  }
  switch (part) {
    case 'bind':
      return field.bracketed ? checkIPv6(field.text, 'bind address') : checkBindHost(field.text)
    case 'service-host':
      return field.bracketed
        ? checkIPv6(field.text, 'service host')
        : checkServiceHost(field.text, 'service host')
    case 'listen-port':
      return checkPort(field.text, true, kind === 'expose' ? 'overlay port' : 'listening port')
    case 'port':
      return checkPort(field.text, false, kind === 'expose' ? 'service port' : 'target port')
    case 'service-port':
      return checkPort(field.text, false, 'service port')
    case 'name':
      return checkName(field.text)
  }
}

function build(kind: ForwardKind, shape: readonly Part[], fields: readonly Field[]): ForwardSpec {
  const get = (part: Part): string | undefined => fields[shape.indexOf(part)]?.text
  const port = (part: Part): number => Number(get(part))
  const bindHost = (): string => {
    const host = get('bind')
    if (host === undefined) return DEFAULT_BIND_HOST
    return host === '' ? ALL_INTERFACES : host
  }
  switch (kind) {
    case 'local':
      return {
        kind,
        bind: { host: bindHost(), port: port('listen-port') },
        target: { name: get('name') as string, port: port('port') },
      }
    case 'dynamic':
      return { kind, bind: { host: bindHost(), port: port('listen-port') } }
    case 'expose': {
      const service = { host: get('service-host') ?? DEFAULT_BIND_HOST, port: 0 }
      if (shape.includes('listen-port')) {
        return { kind, port: port('listen-port'), service: { ...service, port: port('port') } }
      }
      const p = port('service-port')
      return { kind, port: p, service: { ...service, port: p } }
    }
  }
}

/**
 * The fields of a spec, or why it cannot be split. Like ssh's parse_fwd_field: ':'
 * separates; '[' opens a field that ends at ']', which must end the text or be
 * followed by ':'. Unlike ssh, a trailing ':' makes an empty last field (not none).
 */
function splitFields(text: string): Field[] | string {
  const fields: Field[] = []
  let i = 0
  for (;;) {
    if (text[i] === '[') {
      const close = text.indexOf(']', i)
      if (close < 0) return `'[' at position ${i} has no matching ']'`
      if (close + 1 < text.length && text[close + 1] !== ':') {
        return `']' at position ${close} must end the field`
      }
      fields.push({ text: text.slice(i + 1, close), bracketed: true })
      i = close + 1
    } else {
      let end = text.indexOf(':', i)
      if (end < 0) end = text.length
      const field = text.slice(i, end)
      if (/[[\]]/.test(field)) return `stray bracket in '${printable(field)}'`
      fields.push({ text: field, bracketed: false })
      i = end
    }
    if (i >= text.length) return fields
    i++ // the ':'
  }
}

function checkPort(text: string, listening: boolean, label: string): Problem {
  if (!/^[0-9]+$/.test(text)) {
    return { code: 'bad-port', why: `${label} '${printable(text)}' is not a decimal number` }
  }
  const port = Number(text)
  if (port > MAX_PORT) {
    const min = listening ? 0 : 1
    return { code: 'bad-port', why: `${label} '${text}' is not in ${min}..${MAX_PORT}` }
  }
  if (port === 0 && !listening) {
    return { code: 'bad-port', why: `${label} 0 (any free port) is only for a listening port` }
  }
  return undefined
}

/** A bind address: `*`, empty, IPv4, IPv6 (bracketed in text) or a host name. */
function checkBindHost(host: string): Problem {
  if (host === '' || host === ALL_INTERFACES) return undefined
  return checkServiceHost(host, 'bind address')
}

/** A bind address as a spec holds it: parsing turns an empty one into `*`. */
function checkHeldBindHost(host: string): Problem {
  if (host === '') return { code: 'bad-address', why: "bind address '' (every interface is '*')" }
  return checkBindHost(host)
}

/** A service address is one host: not `*`. */
function checkServiceHost(host: string, label: string): Problem {
  if (host === '' || host === ALL_INTERFACES) {
    return { code: 'bad-address', why: `${label} '${host}' must be one host, not every interface` }
  }
  if (isIPv4(host) || isIPv6(host)) return undefined
  const dnsLabel = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
  const labels = host.split('.')
  const numeric = /^[0-9.]+$/.test(host)
  if (!numeric && host.length <= 253 && labels.every((l) => dnsLabel.test(l))) return undefined
  return {
    code: 'bad-address',
    why: `${label} '${printable(host)}' is not an IPv4 address, [IPv6] address or host name`,
  }
}

function checkIPv6(text: string, label: string): Problem {
  if (isIPv6(text)) return undefined
  return { code: 'bad-address', why: `${label} '[${printable(text)}]' is not an IPv6 address` }
}

/** NAME: a peer's name or alias, resolved elsewhere; here a token without ':', brackets, spaces or control characters. */
function checkName(name: string): Problem {
  if (name === '') return { code: 'bad-syntax', why: 'NAME is empty' }
  if (/[\s:[\]]|\p{Cc}/u.test(name)) {
    return { code: 'bad-syntax', why: `NAME '${printable(name)}' is not a peer name or alias` }
  }
  return undefined
}

function check(problem: Problem): void {
  if (problem !== undefined) {
    throw new RangeError(`cannot format the forward spec: ${problem.why}`)
  }
}

function bindPrefix(host: string): string {
  return host === DEFAULT_BIND_HOST ? '' : `${bracketed(host)}:`
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** The text as one short line: control characters escaped, at most 80 characters. */
function printable(text: string): string {
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text
  return short.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
