/**
 * The server side of SOCKS5 (RFC 1928), the subset `semos forward -D` speaks:
 * no authentication (method 0x00), CONNECT only (docs/forwarding-wire.md).
 *
 *   client greeting   VER=5 ‖ NMETHODS ‖ METHODS        → we answer VER=5 ‖ METHOD
 *   client request    VER=5 ‖ CMD=1 ‖ RSV ‖ ATYP ‖ DST.ADDR ‖ DST.PORT
 *   our reply         VER=5 ‖ REP ‖ 0 ‖ ATYP ‖ BND.ADDR ‖ BND.PORT    (encodeReply)
 *
 * Sans-I/O: a Socks5Handshake takes the client's bytes as they arrive, split
 * anywhere, and returns what happened. It decides on each field as soon as the
 * field is in (a bad version fails on the first byte, never waits for more), holds
 * at most one message (MAX_REQUEST_BYTES), and hands back the bytes that came after
 * the request untouched: they are the application's. The driver owns the socket
 * and the handshake's timeout.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { CodedError } from '../core/coded-error.ts'
import { ok } from '../core/result.ts'

export const SOCKS_VERSION = 0x05
export const METHOD_NO_AUTH = 0x00
export const METHOD_NONE_ACCEPTABLE = 0xff
export const CMD_CONNECT = 0x01
export const CMD_BIND = 0x02
export const CMD_UDP_ASSOCIATE = 0x03
export const ATYP_IPV4 = 0x01
export const ATYP_DOMAIN = 0x03
export const ATYP_IPV6 = 0x04

/** RFC 1928 §6 reply codes (REP). */
export const REPLY_SUCCEEDED = 0x00
export const REPLY_GENERAL_FAILURE = 0x01
export const REPLY_NOT_ALLOWED = 0x02
export const REPLY_NETWORK_UNREACHABLE = 0x03
export const REPLY_HOST_UNREACHABLE = 0x04
export const REPLY_CONNECTION_REFUSED = 0x05
export const REPLY_TTL_EXPIRED = 0x06
export const REPLY_COMMAND_NOT_SUPPORTED = 0x07
export const REPLY_ADDRESS_TYPE_NOT_SUPPORTED = 0x08
export type ReplyCode = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8

/** The largest greeting: VER, NMETHODS, 255 methods. */
export const MAX_GREETING_BYTES = 2 + 255
/** The largest request: VER, CMD, RSV, ATYP, a 255-byte domain with its length, port. */
export const MAX_REQUEST_BYTES = 4 + 1 + 255 + 2

export type AddressType = 'ipv4' | 'domain' | 'ipv6'

/** Where the client wants to go: a domain name as sent, IPv4 dotted, or IPv6 text (RFC 5952). */
export interface Socks5Target {
  readonly host: string
  readonly port: number
  readonly addressType: AddressType
}

export type Socks5Event =
  /** The greeting is accepted: write `reply` (05 00). */
  | { readonly type: 'greeting'; readonly methods: readonly number[]; readonly reply: Uint8Array }
  /**
   * The CONNECT request. Connect to `target`, then write encodeReply(code); `rest`
   * (maybe empty, a view of the pushed chunk) came after the request and is the
   * first of the application's bytes.
   */
  | { readonly type: 'connect'; readonly target: Socks5Target; readonly rest: Uint8Array }

export type Socks5Error =
  | 'bad-version'
  | 'no-acceptable-method'
  | 'greeting-too-large'
  | 'command-not-supported'
  | 'address-type-not-supported'
  | 'bad-domain'

/** A failed handshake: write `send`, then close. The parser stays failed. */
export interface Socks5Failure {
  readonly ok: false
  readonly code: Socks5Error
  readonly detail: string
  /** The reply code `send` ends with; undefined when the greeting failed (no request yet). */
  readonly reply: ReplyCode | undefined
  /**
   * Every byte to write before closing: the method selection if this same push
   * completed the greeting (a pipelining client still expects it), then 05 FF for a
   * refused greeting or the reply for a refused request; empty for a greeting that is
   * not SOCKS5 at all.
   */
  readonly send: Uint8Array
}

export type Socks5Result = { readonly ok: true; readonly value: Socks5Event[] } | Socks5Failure

export interface Socks5HandshakeInit {
  /** The most methods a greeting may offer (1..255; default 255, all the format allows). */
  readonly maxMethods?: number
}

export type Socks5Stage = 'greeting' | 'request' | 'done' | 'failed'

/** What the buffered bytes amount to: a byte count still needed, an event, or a failure. */
type Step = { readonly need: number } | { readonly event: Socks5Event } | Omit<Socks5Failure, 'ok'>

const NO_ACCEPTABLE = Uint8Array.of(SOCKS_VERSION, METHOD_NONE_ACCEPTABLE)
const COMMANDS: Record<number, string> = {
  [CMD_BIND]: 'BIND',
  [CMD_UDP_ASSOCIATE]: 'UDP ASSOCIATE',
}

export class Socks5Handshake {
  readonly #maxMethods: number
  #stage: Socks5Stage = 'greeting'
  readonly #buf = new Uint8Array(MAX_REQUEST_BYTES)
  #fill = 0
  #failed: Socks5Failure | undefined

  constructor(init: Socks5HandshakeInit = {}) {
    const max = init.maxMethods ?? 255
    if (!Number.isInteger(max) || max < 1 || max > 255) {
      throw new RangeError(`maxMethods must be in 1..255, got ${max}`)
    }
    this.#maxMethods = max
  }

  get stage(): Socks5Stage {
    return this.#stage
  }

  /** Bytes held for an incomplete message (at most MAX_REQUEST_BYTES). */
  get buffered(): number {
    return this.#fill
  }

  /**
   * Consumes a chunk; returns the events it completed (none, a greeting, a connect,
   * or both), or the failure. After a failure the same failure is returned forever.
   * After `connect` the stream is the application's: pushing more throws.
   */
  push(chunk: Uint8Array): Socks5Result {
    if (this.#failed !== undefined) return this.#failed
    if (this.#stage === 'done') {
      throw new CodedError(
        'handshake-done',
        'the SOCKS5 handshake is over: the bytes that follow are the application’s',
      )
    }
    const events: Socks5Event[] = []
    let pos = 0
    for (;;) {
      const step = this.#stage === 'greeting' ? this.#greeting() : this.#request()
      if ('event' in step) {
        this.#fill = 0
        if (step.event.type === 'greeting') {
          this.#stage = 'request'
          events.push(step.event)
          continue
        }
        this.#stage = 'done'
        events.push({ ...step.event, rest: chunk.subarray(pos) })
        return ok(events)
      }
      if ('code' in step) return this.#fail(step, events)
      if (pos === chunk.length) return ok(events)
      const take = Math.min(step.need - this.#fill, chunk.length - pos)
      this.#buf.set(chunk.subarray(pos, pos + take), this.#fill)
      this.#fill += take
      pos += take
    }
  }

  #greeting(): Step {
    const b = this.#buf
    if (this.#fill < 1) return { need: 2 }
    if (b[0] !== SOCKS_VERSION) {
      const send = new Uint8Array(0)
      return {
        code: 'bad-version',
        detail: `greeting of version ${b[0]}, not 5`,
        reply: undefined,
        send,
      }
    }
    if (this.#fill < 2) return { need: 2 }
    const count = b[1] as number
    if (count > this.#maxMethods) {
      const detail = `greeting offers ${count} methods, more than ${this.#maxMethods}`
      return { code: 'greeting-too-large', detail, reply: undefined, send: NO_ACCEPTABLE }
    }
    if (this.#fill < 2 + count) return { need: 2 + count }
    const methods = Array.from(b.subarray(2, 2 + count))
    if (!methods.includes(METHOD_NO_AUTH)) {
      const detail = `greeting offers methods [${methods.join(', ')}], not 0 (no authentication)`
      return { code: 'no-acceptable-method', detail, reply: undefined, send: NO_ACCEPTABLE }
    }
    return { event: { type: 'greeting', methods, reply: Uint8Array.of(SOCKS_VERSION, 0) } }
  }

  #request(): Step {
    const b = this.#buf
    const refuse = (code: Socks5Error, reply: ReplyCode, detail: string): Step => ({
      code,
      detail,
      reply,
      send: encodeReply(reply),
    })
    if (this.#fill < 1) return { need: 4 }
    if (b[0] !== SOCKS_VERSION) {
      return refuse('bad-version', REPLY_GENERAL_FAILURE, `request of version ${b[0]}, not 5`)
    }
    if (this.#fill < 2) return { need: 4 }
    if (b[1] !== CMD_CONNECT) {
      const name = COMMANDS[b[1] as number] ?? `command ${b[1]}`
      return refuse(
        'command-not-supported',
        REPLY_COMMAND_NOT_SUPPORTED,
        `${name} is not supported`,
      )
    }
    // RSV (b[2]) is ignored: RFC 1928 reserves it, and no client depends on its value.
    if (this.#fill < 4) return { need: 4 }
    let size: number
    if (b[3] === ATYP_IPV4) size = 4
    else if (b[3] === ATYP_IPV6) size = 16
    else if (b[3] === ATYP_DOMAIN) {
      if (this.#fill < 5) return { need: 5 }
      if (b[4] === 0) return refuse('bad-domain', REPLY_GENERAL_FAILURE, 'empty domain name')
      size = 1 + (b[4] as number)
    } else {
      const detail = `address type ${b[3]} is not 1, 3 or 4`
      return refuse('address-type-not-supported', REPLY_ADDRESS_TYPE_NOT_SUPPORTED, detail)
    }
    const total = 4 + size + 2
    if (this.#fill < total) return { need: total }
    const addr = b.subarray(4, 4 + size)
    const port = ((b[total - 2] as number) << 8) | (b[total - 1] as number)
    if (b[3] === ATYP_IPV4) return connect({ host: addr.join('.'), port, addressType: 'ipv4' })
    if (b[3] === ATYP_IPV6) return connect({ host: ipv6Text(addr), port, addressType: 'ipv6' })
    const name = addr.subarray(1)
    if (!name.every((c) => c >= 0x21 && c <= 0x7e)) {
      return refuse('bad-domain', REPLY_GENERAL_FAILURE, 'domain name with a byte outside ! .. ~')
    }
    return connect({ host: Buffer.from(name).toString('latin1'), port, addressType: 'domain' })
  }

  #fail(step: Omit<Socks5Failure, 'ok'>, events: readonly Socks5Event[]): Socks5Failure {
    const before = events.flatMap((e) => (e.type === 'greeting' ? [e.reply] : []))
    const send = Buffer.concat([...before, step.send])
    this.#failed = { ok: false, code: step.code, detail: step.detail, reply: step.reply, send }
    this.#stage = 'failed'
    this.#fill = 0
    return this.#failed
  }
}

function connect(target: Socks5Target): Step {
  return { event: { type: 'connect', target, rest: new Uint8Array(0) } }
}

/**
 * A reply to a request: `code` and the address we connected from (BND; default
 * 0.0.0.0:0, which clients ignore for CONNECT). Throws a RangeError for a code or
 * address that cannot be encoded.
 */
export function encodeReply(code: ReplyCode, bound?: { host: string; port: number }): Uint8Array {
  if (!Number.isInteger(code) || code < 0 || code > 8) {
    throw new RangeError(`a SOCKS5 reply code is 0..8, got ${code}`)
  }
  const { host, port } = bound ?? { host: '0.0.0.0', port: 0 }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`port ${port} is not in 0..65535`)
  }
  let addr: Uint8Array
  if (isIPv4(host)) addr = Uint8Array.of(ATYP_IPV4, ...host.split('.').map(Number))
  else if (isIPv6(host)) addr = Uint8Array.of(ATYP_IPV6, ...ipv6Bytes(host))
  else {
    const name = Buffer.from(host, 'latin1')
    if (name.length < 1 || name.length > 255 || !/^[\x21-\x7e]+$/.test(host)) {
      throw new RangeError(`'${host}' is not an address or a domain name of 1..255 characters`)
    }
    addr = Uint8Array.of(ATYP_DOMAIN, name.length, ...name)
  }
  return Uint8Array.of(SOCKS_VERSION, code, 0, ...addr, port >>> 8, port & 0xff)
}

/**
 * The peer name a SOCKS host stands for: the single label before one of `suffixes`
 * (compared case-insensitively; an absolute name's final dot allowed), as written —
 * `laptop.semos` → `laptop`, `Laptop.SEMOS.` → `Laptop`. Undefined for any other
 * host, `www.laptop.semos` included: so `curl --socks5-hostname NAME.semos` reaches
 * NAME, and any other host can be refused (REPLY_NOT_ALLOWED) or sent elsewhere.
 */
export function semosNameFromHost(
  host: string,
  suffixes: readonly string[] = ['semos'],
): string | undefined {
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  for (const s of suffixes) {
    const suffix = `.${s.replace(/^\.+|\.+$/g, '')}`.toLowerCase()
    if (suffix === '.' || !name.toLowerCase().endsWith(suffix)) continue
    const label = name.slice(0, name.length - suffix.length)
    if (label !== '' && !label.includes('.')) return label
  }
  return undefined
}

/** 16 bytes as RFC 5952 text: lowercase, the longest run of 2+ zero groups as '::'. */
export function ipv6Text(b: Uint8Array): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number),
  )
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b.subarray(12, 16).join('.')}`
  }
  let best = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      best = i
      bestLength = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`
}

/** IPv6 text (valid by net.isIPv6; a zone is dropped) as its 16 bytes. */
export function ipv6Bytes(text: string): Uint8Array {
  let t = text.split('%')[0] as string
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    t = `${t.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = t.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16)
    out[2 * i] = v >>> 8
    out[2 * i + 1] = v & 0xff
  })
  return out
}
