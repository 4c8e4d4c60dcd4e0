import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  createHandshake,
  type HandshakeState,
  type TransportCiphers,
} from '../../src/core/noise/index.ts'
import { generateIdentity, type Identity } from '../../src/identity/keys.ts'
import { encodeFrame } from '../../src/link/framing.ts'
import {
  authMessage,
  encodeNameBytes,
  encodeRecord,
  LINK_PATTERN,
  LINK_PROLOGUE,
  LINK_SUITE,
  type LinkRecord,
} from '../../src/link/link-records.ts'
import {
  type LinkCloseReason,
  LinkError,
  type LinkEvent,
  LinkSession,
  type LinkSessionInit,
} from '../../src/link/link-session.ts'

const alice = generateIdentity()
const bob = generateIdentity()
const carol = generateIdentity()
const EMPTY = new Uint8Array(0)

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

/** Moves everything `from` wants to write into `to`, cut at `cuts` (cycled). */
function deliver(from: LinkSession, to: LinkSession, nowMs: number, cuts: number[] = [1e9]): void {
  const stream = concat(from.takeOutgoing())
  for (let pos = 0, i = 0; pos < stream.length; i++) {
    const n = cuts[i % cuts.length] as number
    to.receive(stream.subarray(pos, pos + n), nowMs)
    pos += n
  }
}

/** Delivers both ways until neither side has anything to write. */
function pump(a: LinkSession, b: LinkSession, nowMs: number, cuts?: number[]): void {
  for (let round = 0; round < 20; round++) {
    deliver(a, b, nowMs, cuts)
    deliver(b, a, nowMs, cuts)
  }
}

function pair(
  nowMs = 0,
  a: Partial<LinkSessionInit> = {},
  b: Partial<LinkSessionInit> = {},
): [LinkSession, LinkSession] {
  const init = new LinkSession({ identity: alice, initiator: true, ...a }, nowMs)
  const resp = new LinkSession({ identity: bob, initiator: false, ...b }, nowMs)
  return [init, resp]
}

function closedWith(events: LinkEvent[]): LinkCloseReason | undefined {
  const closed = events.filter((e) => e.type === 'closed')
  assert.ok(closed.length <= 1, 'at most one closed event')
  return closed[0]?.reason
}

function openPair(nowMs = 0): [LinkSession, LinkSession] {
  const [a, b] = pair(nowMs)
  pump(a, b, nowMs)
  assert.deepEqual(a.takeEvents(), [{ type: 'open', peerName: bob.name }])
  assert.deepEqual(b.takeEvents(), [{ type: 'open', peerName: alice.name }])
  return [a, b]
}

/** A hand-driven XX peer, for sending what a LinkSession never would. */
class RawPeer {
  readonly hs: HandshakeState
  ciphers: TransportCiphers | undefined

  constructor(identity: Identity, initiator: boolean) {
    this.hs = createHandshake({
      pattern: LINK_PATTERN,
      suite: LINK_SUITE,
      initiator,
      prologue: LINK_PROLOGUE,
      staticKeyPair: identity.dh,
    })
  }

  write(payload: Uint8Array): Uint8Array {
    const frame = encodeFrame(this.hs.writeMessage(payload))
    if (this.hs.isComplete) this.ciphers = this.hs.split()
    return frame
  }

  /** Reads the handshake frames a session wrote (one frame per chunk). */
  read(frames: Uint8Array[]): void {
    for (const f of frames) {
      const r = this.hs.readMessage(f.subarray(2))
      assert.ok(r.ok)
    }
    if (this.hs.isComplete && !this.ciphers) this.ciphers = this.hs.split()
  }

  seal(plain: Uint8Array): Uint8Array {
    return encodeFrame((this.ciphers as TransportCiphers).send.encryptWithAd(EMPTY, plain))
  }

  record(r: LinkRecord): Uint8Array {
    return this.seal(encodeRecord(r))
  }

  auth(name: string, signer: Identity): Uint8Array {
    return this.record({
      type: 'auth',
      name,
      signature: signer.sign(authMessage(this.hs.handshakeHash)),
    })
  }
}

/** A responder session and a raw initiator (as `who`) through message 3; returns both. */
function rawInitiatorToMessage3(who: Identity): [RawPeer, LinkSession, Uint8Array] {
  const raw = new RawPeer(who, true)
  const session = new LinkSession({ identity: bob, initiator: false }, 0)
  session.receive(raw.write(EMPTY), 0)
  raw.read(session.takeOutgoing())
  return [raw, session, raw.write(encodeNameBytes(who.name))]
}

describe('link session', () => {
  it('opens with each other’s names and carries data both ways, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }),
        (cuts, fromA, fromB) => {
          const [a, b] = pair(0)
          pump(a, b, 0, cuts)
          assert.equal(a.state, 'open')
          assert.equal(b.state, 'open')
          assert.equal(a.peerName, bob.name)
          assert.equal(b.peerName, alice.name)
          for (const p of fromA) a.send(p, 1)
          for (const p of fromB) b.send(p, 1)
          pump(a, b, 1, cuts)
          const data = (s: LinkSession): (Uint8Array | string)[] =>
            s.takeEvents().map((e) => (e.type === 'data' ? e.payload : e.type))
          assert.deepEqual(data(b), ['open', ...fromA])
          assert.deepEqual(data(a), ['open', ...fromB])
        },
      ),
      { numRuns: 40 },
    )
  })

  it('accepts an expected peer name in any case, and refuses another peer: wrong-peer', () => {
    const [a, b] = pair(
      0,
      { expectedPeerName: bob.name.toUpperCase() },
      { expectedPeerName: alice.name },
    )
    pump(a, b, 0)
    assert.equal(a.state, 'open')
    assert.equal(b.state, 'open')

    // The initiator refuses after message 2, before it sends its own name in message 3.
    const [c, d] = pair(0, { expectedPeerName: carol.name })
    deliver(c, d, 0)
    deliver(d, c, 0)
    assert.equal(closedWith(c.takeEvents()), 'wrong-peer')
    assert.deepEqual(c.takeOutgoing(), [])

    // The responder refuses after message 3.
    const [e, f] = pair(0, {}, { expectedPeerName: carol.name })
    pump(e, f, 0)
    assert.equal(closedWith(f.takeEvents()), 'wrong-peer')
    assert.equal(closedWith(e.takeEvents()), 'peer-close') // f told e, with code 'error'
  })

  it('refuses an auth signed by another identity: auth-failed', () => {
    const [raw, session, m3] = rawInitiatorToMessage3(alice)
    session.receive(concat([m3, raw.auth(alice.name, carol)]), 0)
    const [closed] = session.takeEvents()
    assert.equal(closed?.type === 'closed' && closed.reason, 'auth-failed')
    assert.match(closed?.type === 'closed' ? closed.detail : '', /signature/)
  })

  it('refuses a validly signed auth for a name that is not the static key’s: auth-failed', () => {
    const [raw, session, m3] = rawInitiatorToMessage3(alice)
    session.receive(concat([m3, raw.auth(carol.name, carol)]), 0)
    assert.equal(closedWith(session.takeEvents()), 'auth-failed')
  })

  it('refuses a handshake name that is not the static key’s: auth-failed', () => {
    const raw = new RawPeer(alice, true)
    const session = new LinkSession({ identity: bob, initiator: false }, 0)
    session.receive(raw.write(EMPTY), 0)
    raw.read(session.takeOutgoing())
    session.receive(raw.write(encodeNameBytes(carol.name)), 0)
    assert.equal(closedWith(session.takeEvents()), 'auth-failed')
  })

  it('refuses data before auth (auth-failed) and a second auth (bad-record)', () => {
    const [raw, session, m3] = rawInitiatorToMessage3(alice)
    session.receive(concat([m3, raw.record({ type: 'data', payload: EMPTY })]), 0)
    assert.equal(closedWith(session.takeEvents()), 'auth-failed')

    const [raw2, s2, m3b] = rawInitiatorToMessage3(alice)
    s2.receive(concat([m3b, raw2.auth(alice.name, alice), raw2.auth(alice.name, alice)]), 0)
    const events = s2.takeEvents()
    assert.equal(events[0]?.type, 'open')
    assert.equal(closedWith(events), 'bad-record')
  })

  it('closes on an unknown or malformed record: bad-record', () => {
    for (const plain of [[0x09], [0x03, 0x00], [0x04], []]) {
      const [raw, session, m3] = rawInitiatorToMessage3(alice)
      session.receive(
        concat([m3, raw.auth(alice.name, alice), raw.seal(Uint8Array.from(plain))]),
        0,
      )
      assert.equal(closedWith(session.takeEvents()), 'bad-record', `record ${plain}`)
    }
  })

  it('closes on tampered ciphertext: decrypt-failed, and tells the peer', () => {
    const [a, b] = openPair()
    a.send(new TextEncoder().encode('hello'), 1)
    const bad = concat(a.takeOutgoing()) // one frame, written as header + body
    bad[4] = (bad[4] as number) ^ 0x01
    b.receive(bad, 1)
    assert.equal(closedWith(b.takeEvents()), 'decrypt-failed')
    deliver(b, a, 1)
    const [closed] = a.takeEvents()
    assert.deepEqual(closed, {
      type: 'closed',
      reason: 'peer-close',
      detail: 'peer closed: error (3)',
    })
  })

  it('garbage before the handshake: bad-frame if the framing rejects its length, else handshake-failed', () => {
    // A zero length prefix: the framing rejects it before Noise sees anything.
    const zero = new LinkSession({ identity: bob, initiator: false }, 0)
    zero.receive(Uint8Array.of(0, 0, 1, 2, 3), 0)
    assert.equal(closedWith(zero.takeEvents()), 'bad-frame')
    // ASCII "GET /": a length of 0x4745 = 18,245, far above the 256 bytes a frame may
    // have before the handshake is done: refused at once, not held until the timeout.
    const http = new LinkSession({ identity: bob, initiator: false }, 0)
    http.receive(new TextEncoder().encode('GET / HTTP/1.1\r\n'), 0)
    assert.equal(closedWith(http.takeEvents()), 'bad-frame')
    // A well-framed body: Noise rejects it (too short for message 1; message 1 with a payload).
    for (const body of [new Uint8Array(10).fill(7), new Uint8Array(100).fill(9)]) {
      const s = new LinkSession({ identity: bob, initiator: false }, 0)
      s.receive(encodeFrame(body), 0)
      assert.equal(closedWith(s.takeEvents()), 'handshake-failed')
    }
    // The initiator, waiting for message 2: the AEAD over the responder's key fails.
    const init = new LinkSession({ identity: alice, initiator: true }, 0)
    init.receive(encodeFrame(new Uint8Array(148).fill(1)), 0)
    assert.equal(closedWith(init.takeEvents()), 'handshake-failed')
  })

  it('accepts full-size frames once the handshake is done', () => {
    const [a, b] = openPair()
    const big = new Uint8Array(a.maxPayloadBytes).fill(0x5a)
    a.send(big, 1)
    deliver(a, b, 1)
    const data = b.takeEvents().filter((e) => e.type === 'data')
    assert.equal(data.length, 1)
    assert.deepEqual(data[0]?.type === 'data' ? data[0].payload : undefined, big)
  })

  it('closes on a zero-length frame after open: bad-frame, and tells the peer', () => {
    const [a, b] = openPair()
    // After the handshake a zero u16 opens a split frame's header, whose length is zero here.
    b.receive(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1), 1)
    assert.equal(closedWith(b.takeEvents()), 'bad-frame')
    deliver(b, a, 1)
    assert.equal(closedWith(a.takeEvents()), 'peer-close')
  })

  it('carries a sealed tail in the clear, from its parts, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.uint8Array({ minLength: 16, maxLength: 5000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 8 }),
        (head, tail, at, cuts) => {
          const [a, b] = openPair()
          const payload = concat([head, tail])
          // The tail in two parts, cut anywhere (the last may be shorter than a tag).
          const cut = at % (tail.length + 1)
          a.send(head, 1, [tail.subarray(0, cut), tail.subarray(cut)])
          const wire = concat(a.takeOutgoing())
          // The tail is on the wire as it is, right at the end; the head is not.
          assert.deepEqual(wire.subarray(wire.length - tail.length), tail)
          assert.equal(wire.length, 8 + 1 + head.length + 16 + tail.length)
          let borrowed = false
          for (let pos = 0, i = 0; pos < wire.length; i++) {
            const n = cuts[i % cuts.length] as number
            b.receive(wire.subarray(pos, pos + n), 1)
            pos += n
            // A chunk that ends in the frame's body (once its 8-byte split header is in):
            // the frame is gathered in the link's own memory, and delivered borrowed.
            if (pos >= 8 && pos < wire.length) borrowed = true
          }
          const events = b.takeEvents()
          assert.deepEqual(events, [{ type: 'data', payload, sealedTail: tail.length, borrowed }])
        },
      ),
      { numRuns: 100 },
    )
  })

  it('a tail whose last 16 bytes (the end-to-end tag) changed on the way fails the link', () => {
    for (const back of [1, 16]) {
      const [a, b] = openPair()
      a.send(Uint8Array.of(1, 2, 3), 1, [new Uint8Array(100).fill(7)])
      const wire = concat(a.takeOutgoing())
      wire[wire.length - back] = (wire[wire.length - back] as number) ^ 1
      b.receive(wire, 1)
      assert.equal(closedWith(b.takeEvents()), 'decrypt-failed')
    }
  })

  it('the rest of a tail is for the end-to-end AEAD to authenticate: the link passes it on', () => {
    const [a, b] = openPair()
    a.send(Uint8Array.of(1, 2, 3), 1, [new Uint8Array(100).fill(7)])
    const wire = concat(a.takeOutgoing())
    wire[wire.length - 17] = (wire[wire.length - 17] as number) ^ 1
    b.receive(wire, 1)
    const [event] = b.takeEvents()
    assert.equal(event?.type, 'data')
  })

  it('refuses a split frame whose tail is shorter than a tag, either way', () => {
    const [a, b] = openPair()
    assert.throws(() => a.send(Uint8Array.of(1), 1, [new Uint8Array(15)]), {
      code: 'payload-too-large',
    })
    // A peer that sends one anyway: a split header declaring a 15-byte tail.
    const sealedHead = concat([Uint8Array.of(0, 0, 0, 20, 0, 0, 0, 15), new Uint8Array(35)])
    b.receive(sealedHead, 1)
    assert.equal(closedWith(b.takeEvents()), 'bad-frame')
  })

  it('refuses a split frame before the handshake is done', () => {
    const [, b] = pair()
    b.receive(Uint8Array.of(0, 0, 0, 5, 0, 0, 0, 9), 0)
    assert.equal(closedWith(b.takeEvents()), 'bad-frame')
  })

  it('refuses to send a tail larger than maxTailBytes', () => {
    const [a] = openPair()
    assert.throws(() => a.send(Uint8Array.of(1), 1, [new Uint8Array(4 * 1024 * 1024 + 1)]), {
      code: 'payload-too-large',
    })
  })

  it('sends keepalives at the interval and declares a silent peer dead, driven by nextDeadlineMs', () => {
    const [a] = openPair(100)
    a.takeOutgoing()
    const ticks: number[] = []
    let keepalives = 0
    for (let deadline = a.nextDeadlineMs(); deadline !== undefined; deadline = a.nextDeadlineMs()) {
      a.tick(deadline - 1)
      assert.deepEqual(a.takeOutgoing(), [], 'nothing before the deadline')
      a.tick(deadline)
      ticks.push(deadline)
      keepalives += a.takeOutgoing().length / 2 // a frame is written as header + body
    }
    assert.deepEqual(ticks, [1100, 2100, 3100])
    assert.equal(keepalives, 2 + 1) // two keepalives, then the final close record
    assert.deepEqual(a.takeEvents(), [
      { type: 'closed', reason: 'peer-dead', detail: 'nothing received for 3000 ms' },
    ])
  })

  it('stays open while keepalives flow both ways', () => {
    const [a, b] = openPair()
    for (let t = 0; t < 20_000; ) {
      t = Math.min(a.nextDeadlineMs() as number, b.nextDeadlineMs() as number)
      a.tick(t)
      b.tick(t)
      pump(a, b, t)
    }
    assert.equal(a.state, 'open')
    assert.equal(b.state, 'open')
    assert.deepEqual(a.takeEvents(), [])
  })

  it('times out a handshake that stalls, in either phase: handshake-timeout', () => {
    const lone = new LinkSession(
      { identity: alice, initiator: true, handshakeTimeoutMs: 500 },
      1000,
    )
    assert.equal(lone.nextDeadlineMs(), 1500)
    lone.tick(1499)
    assert.equal(lone.state, 'handshaking')
    lone.tick(1500)
    assert.equal(closedWith(lone.takeEvents()), 'handshake-timeout')
    assert.equal(lone.nextDeadlineMs(), undefined)

    // The responder gets message 3 but never the initiator's auth.
    const [a, b] = pair(0)
    deliver(a, b, 0)
    deliver(b, a, 0)
    const [m3] = a.takeOutgoing()
    b.receive(m3 as Uint8Array, 0)
    assert.equal(b.state, 'authenticating')
    b.tick(5000)
    assert.equal(closedWith(b.takeEvents()), 'handshake-timeout')
  })

  it('closes locally; the peer gets peer-close; afterwards receive and tick do nothing and send throws', () => {
    const [a, b] = openPair()
    a.close('shutdown', 5)
    assert.deepEqual(a.takeEvents(), [
      { type: 'closed', reason: 'local-close', detail: 'closed locally: shutdown (1)' },
    ])
    deliver(a, b, 5)
    assert.deepEqual(b.takeEvents(), [
      { type: 'closed', reason: 'peer-close', detail: 'peer closed: shutdown (1)' },
    ])
    a.close('normal', 6)
    a.receive(Uint8Array.of(1, 2, 3), 6)
    a.tick(100_000)
    assert.deepEqual(a.takeEvents(), [])
    assert.deepEqual(a.takeOutgoing(), [])
    assert.throws(
      () => a.send(EMPTY, 7),
      (e) => e instanceof LinkError && e.code === 'not-open',
    )
  })

  it('refuses local misuse with coded errors', () => {
    const lone = new LinkSession({ identity: alice, initiator: true }, 0)
    assert.throws(
      () => lone.send(EMPTY, 0),
      (e) => e instanceof LinkError && e.code === 'not-open',
    )
    const [a] = pair(0, { maxFrameBytes: 300 })
    const [c, d] = [a, new LinkSession({ identity: bob, initiator: false, maxFrameBytes: 300 }, 0)]
    pump(c, d, 0)
    assert.equal(c.maxPayloadBytes, 283)
    c.send(new Uint8Array(283), 0)
    assert.throws(
      () => c.send(new Uint8Array(284), 0),
      (e) => e instanceof LinkError && e.code === 'payload-too-large',
    )
    const bad: Partial<LinkSessionInit>[] = [
      { maxFrameBytes: 100 },
      { maxFrameBytes: 70_000 },
      { deadAfterMs: 0 },
      { keepaliveIntervalMs: Number.NaN },
      { expectedPeerName: 'laptop' },
    ]
    for (const opts of bad) {
      assert.throws(
        () => new LinkSession({ identity: alice, initiator: true, ...opts }, 0),
        (e) => e instanceof LinkError && e.code === 'bad-config',
      )
    }
  })

  it('never throws on random bytes fed to a fresh responder', () => {
    const reasons = new Set<LinkCloseReason>(['bad-frame', 'handshake-failed'])
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }),
        (chunks) => {
          const s = new LinkSession({ identity: bob, initiator: false }, 0)
          for (const c of chunks) s.receive(c, 0)
          s.tick(10_000)
          const reason = closedWith(s.takeEvents())
          assert.ok(reason === undefined || reasons.has(reason) || reason === 'handshake-timeout')
        },
      ),
      { numRuns: 2000 },
    )
  })
})
