/**
 * Early opens (docs/wire-session.md): a new session's first stream rides in the hello, so
 * the responder takes it — and answers on it — before the initiator's first record. Two
 * managers wired back to back, with every record held until the test passes it on.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeName } from '../../src/identity/name.ts'
import { Address } from '../../src/overlay/address.ts'
import { PROTO } from '../../src/overlay/node-types.ts'
import { initiateSession } from '../../src/session/session-handshake.ts'
import { SessionManager } from '../../src/session/session-manager.ts'
import type { SessionEvent, SessionOutput } from '../../src/session/session-manager-types.ts'
import { encodeStreamMeta } from '../../src/session/stream-meta.ts'
import { fixedRandom, identity, text } from './helpers.ts'

type Route = Extract<SessionOutput, { type: 'route' }>

const addressOf = { a: Address.root(4).child(0), b: Address.root(4).child(1) }

class End {
  readonly manager: SessionManager
  readonly address: Address
  readonly events: SessionEvent[] = []
  /** Records routed and not yet passed on, oldest first. */
  readonly outbox: Route[] = []

  constructor(n: number, address: Address, peer: Address) {
    this.manager = new SessionManager({ identity: identity(n), randomBytes: fixedRandom(n) })
    this.address = address
    this.peer = peer
  }

  readonly peer: Address

  /** Takes the manager's outputs: lookups are answered with the peer's address at once. */
  drain(nowMs: number): void {
    for (;;) {
      const outputs = this.manager.takeOutputs()
      this.events.push(...this.manager.takeEvents())
      if (outputs.length === 0) return
      for (const o of outputs) {
        if (o.type === 'route') this.outbox.push(o)
        else this.manager.onLookup(o.name, { outcome: 'found', address: this.peer }, nowMs)
      }
    }
  }

  of<T extends SessionEvent['type']>(type: T): Extract<SessionEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type)
  }
}

/** Delivers `from`'s oldest held record (of `kind`, if given) to `to`; returns its kind. */
function pass(from: End, to: End, nowMs: number, kind?: Route['kind']): Route['kind'] {
  const i = kind === undefined ? 0 : from.outbox.findIndex((r) => r.kind === kind)
  const [r] = from.outbox.splice(i, 1)
  assert.ok(r !== undefined && i >= 0, `a ${kind ?? 'record'} to pass`)
  const payload = Buffer.concat([r.payload, ...(r.tail ?? [])])
  const e = { type: 'deliver', proto: PROTO.session, hops: 1, atClosest: false } as const
  to.manager.onOverlayEvent({ ...e, src: from.address, dest: to.address, payload }, nowMs)
  to.drain(nowMs)
  return r.kind
}

function pair(): { a: End; b: End } {
  return { a: new End(1, addressOf.a, addressOf.b), b: new End(2, addressOf.b, addressOf.a) }
}

describe('early opens', () => {
  it('the responder takes the first stream from the hello and answers right behind its reply', () => {
    const { a, b } = pair()
    const ref = a.manager.connect(b.manager.name, encodeStreamMeta(7), 0)
    a.drain(0)
    assert.deepEqual(
      a.outbox.map((r) => r.kind),
      ['hello'],
    )
    assert.equal(pass(a, b, 1), 'hello')
    // Half-open still, yet the stream is open, with the opener's name.
    const [opened] = b.of('stream-opened')
    assert.ok(opened)
    assert.equal(opened.port, 7)
    assert.equal(opened.peerName, a.manager.name)
    assert.equal(b.manager.state(opened.session), 'half-open')
    assert.equal(b.of('established').length, 0)
    const theirs = { session: opened.session, streamId: opened.streamId }
    // Accepted and answered at once (as SemosNode does): the acceptance, the session's
    // window and the banner share one record, right behind the reply.
    b.manager.accept(theirs, 1, false)
    assert.equal(b.manager.write(theirs, text('banner'), 1), 6)
    b.drain(1)
    assert.deepEqual(
      b.outbox.map((r) => r.kind),
      ['hello-reply', 'data'],
    )
    // The reply, then the answer: the initiator has the stream's first bytes one round
    // trip after its hello.
    pass(b, a, 2)
    while (b.outbox.length > 0) pass(b, a, 2)
    assert.equal(a.of('established').length, 1)
    assert.equal(a.of('stream-accepted').length, 1)
    const data = a.of('data').filter((e) => e.streamId === ref.streamId)
    assert.deepEqual(Buffer.concat(data.map((e) => e.bytes)).toString(), 'banner')
    // The initiator's first record repeats the open: not a second stream, not a violation.
    assert.equal(a.manager.write(ref, text('hello back'), 3), 10)
    a.drain(3)
    while (a.outbox.length > 0) pass(a, b, 4)
    assert.equal(b.of('stream-opened').length, 1)
    assert.equal(b.manager.state(opened.session), 'established')
    const got = b.of('data').filter((e) => e.streamId === opened.streamId)
    assert.equal(Buffer.concat(got.map((e) => e.bytes)).toString(), 'hello back')
    assert.deepEqual(b.manager.session(opened.session)?.srm.stats().dropped, {})
  })

  it('a name no handshake can reach is refused at once, though the hello is made later', () => {
    const { a } = pair()
    // The Ed25519 identity point: its X25519 key is 0, of small order.
    const identityPoint = encodeName(Uint8Array.of(1, ...new Uint8Array(31)))
    assert.throws(() => a.manager.connect(identityPoint, encodeStreamMeta(7), 0), {
      code: 'bad-config',
    })
    assert.equal(a.manager.size, 0)
  })

  it('only the first stream of a dial goes early; the rest open with the first record', () => {
    const { a, b } = pair()
    a.manager.connect(b.manager.name, encodeStreamMeta(7), 0)
    a.manager.connect(b.manager.name, encodeStreamMeta(8), 0)
    a.drain(0)
    pass(a, b, 1, 'hello')
    assert.deepEqual(
      b.of('stream-opened').map((e) => e.port),
      [7],
    )
    while (b.outbox.length > 0) pass(b, a, 2)
    while (a.outbox.length > 0) pass(a, b, 3)
    assert.deepEqual(
      b.of('stream-opened').map((e) => e.port),
      [7, 8],
    )
  })

  it('a stream reset before the first record closes the early copy too', () => {
    const { a, b } = pair()
    const ref = a.manager.connect(b.manager.name, encodeStreamMeta(7), 0)
    a.drain(0)
    pass(a, b, 1, 'hello')
    const [opened] = b.of('stream-opened')
    assert.ok(opened)
    a.manager.reset(ref, 1)
    while (b.outbox.length > 0) pass(b, a, 2)
    a.drain(2)
    while (a.outbox.length > 0) pass(a, b, 3)
    const resets = b.of('reset').filter((e) => e.streamId === opened.streamId)
    assert.equal(resets.length, 1)
    assert.equal(b.manager.state(opened.session), 'established')
  })

  it('a repeated hello opens nothing twice; a lone replay closes with its half-open session', () => {
    const { a, b } = pair()
    a.manager.connect(b.manager.name, encodeStreamMeta(7), 0)
    a.drain(0)
    const hello = a.outbox[0] as Route
    pass(a, b, 1, 'hello')
    a.outbox.push(hello)
    pass(a, b, 2, 'hello')
    assert.equal(b.of('stream-opened').length, 1)
    assert.equal(b.manager.counters['repeated-hello'], 1)
    // Nothing more from the initiator (as when a replayer sent the hello): the
    // half-open session and its early stream go when the half-open time is up.
    const session = b.of('stream-opened')[0]?.session as number
    const expiry = b.manager.settings.halfOpenTimeoutMs + 10
    b.manager.tick(expiry)
    b.drain(expiry)
    assert.equal(b.manager.state(session), 'closed')
    assert.equal(b.manager.counters['half-open-expired'], 1)
  })

  it('early opens that do not decode are counted and ignored; the first record opens the stream', () => {
    const { a, b } = pair()
    // A hello whose early bytes are a data frame, not a stream open.
    const bad = initiateSession({
      identity: identity(1),
      peerName: b.manager.name,
      early: Uint8Array.of(2, 0, 0, 0, 0),
    })
    b.manager.onOverlayEvent(
      {
        type: 'deliver',
        proto: PROTO.session,
        hops: 1,
        atClosest: false,
        src: a.address,
        dest: b.address,
        payload: bad.hello,
      },
      1,
    )
    b.drain(1)
    assert.equal(b.manager.counters['bad-early-opens'], 1)
    assert.equal(b.of('stream-opened').length, 0)
    assert.deepEqual(
      b.outbox.map((r) => r.kind),
      ['hello-reply'],
    )
  })
})
