import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { concatBytes } from '../../src/core/bytes.ts'
import { identityFromSeed } from '../../src/identity/keys.ts'
import type { Address } from '../../src/overlay/address.ts'
import { PROTO } from '../../src/overlay/node-types.ts'
import { SessionCrypto } from '../../src/session/session-crypto.ts'
import { encodeStreamMeta } from '../../src/session/stream-meta.ts'
import {
  concat,
  eventsOf,
  growSessions,
  key,
  kick,
  randomBytes,
  runUntil,
  type Stack,
  writeAll,
} from './sim-sessions.ts'

/** The streams the responder sees opened get `reply(i)` written back, then FIN. */
function echoBack(
  net: Parameters<typeof writeAll>[0],
  b: Stack,
  reply: (port: number) => Uint8Array,
): void {
  b.onSession.push((e) => {
    if (e.type !== 'stream-opened') return
    writeAll(net, b, { session: e.session, streamId: e.streamId }, reply(e.port ?? 0))
  })
}

describe('session manager on the simulated overlay', () => {
  it('connects by name, carries three streams both ways intact, and closes them with FIN', () => {
    const { net, stacks } = growSessions(14, 11)
    const a = stacks[3] as Stack
    const b = stacks[9] as Stack
    echoBack(net, b, (port) => randomBytes(200_000 + port, port))
    const refs = [0, 1, 2].map((i) =>
      a.manager.connect(b.identity.name, encodeStreamMeta(7000 + i), net.now),
    )
    assert.equal(new Set(refs.map((r) => r.session)).size, 1, 'one session for the three streams')
    const sent = refs.map((ref, i) => {
      const bytes = randomBytes(300_000 + 1000 * i, 100 + i)
      writeAll(net, a, ref, bytes)
      return bytes
    })
    const closedBoth = () =>
      eventsOf(a, 'stream-closed').length === 3 && eventsOf(b, 'stream-closed').length === 3
    assert.ok(runUntil(net, closedBoth, 30_000), 'every stream closed on both ends')

    const [established] = eventsOf(a, 'established')
    const [accepted] = eventsOf(b, 'established')
    assert.ok(established && accepted)
    assert.deepEqual(established.e.sessionId, accepted.e.sessionId)
    assert.equal(accepted.e.peerName, a.identity.name)
    const opened = eventsOf(b, 'stream-opened')
    assert.deepEqual(
      opened.map((o) => o.e.port),
      [7000, 7001, 7002],
    )
    refs.forEach((ref, i) => {
      const theirs = opened[i]?.e
      assert.ok(theirs)
      assert.deepEqual(concat(b.received.get(key(theirs.session, theirs.streamId))), sent[i])
      const back = concat(a.received.get(key(ref.session, ref.streamId)))
      assert.deepEqual(back, randomBytes(200_000 + 7000 + i, 7000 + i))
    })
    assert.equal(eventsOf(a, 'end').length, 3)
    assert.equal(eventsOf(b, 'end').length, 3)
    assert.equal(a.manager.counters['unknown-session'], undefined)
    assert.equal(a.manager.size, 1)
    assert.equal(b.manager.size, 1)
  })

  it('a sender that moves mid-transfer resumes the same session at its new address', (t) => {
    const { net, stacks } = growSessions(16, 12)
    const depth = (s: Stack) => s.host.overlay.address?.depth ?? 0
    const a = stacks.find((s) => depth(s) >= 2 && s.host.overlay.subtreeSize() === 1) as Stack
    const parent = stacks.find((s) => s.identity.name === a.host.overlay.parentName) as Stack
    const b = stacks.find((s) => s !== a && s !== parent && depth(s) >= 1) as Stack
    const total = 2 * 1024 * 1024
    const bytes = randomBytes(total, 5)
    const ref = a.manager.connect(b.identity.name, encodeStreamMeta(22), net.now)
    writeAll(net, a, ref, bytes)
    const receivedAtB = () =>
      [...b.received.values()].flat().reduce((n, part) => n + part.length, 0)
    assert.ok(runUntil(net, () => receivedAtB() >= total / 3, 10_000, 1))
    const before = a.host.overlay.address as Address
    const sessionId = eventsOf(a, 'established')[0]?.e.sessionId
    // A leaves its network: every link cut, nothing reachable for 20 virtual s.
    net.detach(a.host)
    net.runFor(10_000)
    // Meanwhile (its quarantine over) a newcomer takes A's old place in the tree.
    const newcomer = net.addHost({
      name: identityFromSeed(new Uint8Array(32).fill(77)).name,
      bootstrap: [parent.host.endpoint],
      joinClimb: 0,
    })
    net.start(newcomer)
    net.runFor(10_000)
    assert.ok(newcomer.overlay.address?.equals(before), 'the newcomer holds the old address')
    assert.ok(receivedAtB() < total, 'the transfer is not over before the move')
    const mark = a.addresses.length
    net.attach(a.host)
    const rejoined = () =>
      a.addresses.slice(mark).find((x) => x.e.reason !== 'orphaned' && x.e.address)
    assert.ok(
      runUntil(net, () => rejoined() !== undefined, 30_000, 1),
      'A re-joined',
    )
    const rejoin = rejoined() as (typeof a.addresses)[number]
    const after = rejoin.e.address as Address
    assert.ok(!after.equals(before), `a new address: ${before} → ${after}`)
    const done = runUntil(net, () => eventsOf(b, 'end').length === 1, 60_000)
    assert.ok(done, 'transfer completed')

    const opened = eventsOf(b, 'stream-opened')[0]?.e
    assert.ok(opened)
    assert.deepEqual(concat(b.received.get(key(opened.session, opened.streamId))), bytes)
    // Resumed, not re-established: one session, one handshake, the same id on both ends.
    assert.equal(eventsOf(a, 'established').length, 1)
    assert.equal(eventsOf(b, 'established').length, 1)
    assert.deepEqual(eventsOf(b, 'established')[0]?.e.sessionId, sessionId)
    assert.equal(a.routes.filter((r) => r.kind === 'hello').length, 1)
    const suspended = eventsOf(a, 'suspended')
    const resumed = eventsOf(a, 'resumed')
    assert.equal(suspended.length, 1)
    assert.ok(resumed.length >= 1)
    assert.equal(resumed[0]?.atMs, rejoin.atMs)
    assert.equal(resumed[0]?.e.reason, 'driver')
    assert.ok((resumed[0]?.e.suspendedForMs ?? 0) >= 20_000)
    // The first retransmission leaves in the same virtual millisecond as the address event.
    const resent = a.routes.find((r) => r.atMs >= rejoin.atMs && r.kind === 'retransmit')
    assert.equal(resent?.atMs, rejoin.atMs)
    assert.ok(resent?.dest.equals(b.host.overlay.address as Address))
    // B follows A to its new address from A's first authentic record there.
    const roamed = eventsOf(b, 'roamed').find((r) => r.atMs >= rejoin.atMs)
    assert.ok(roamed?.e.to.equals(after))
    const firstData = b.events.find((x) => x.atMs >= rejoin.atMs && x.e.type === 'data')
    assert.ok(firstData)
    t.diagnostic(`re-join → first new byte at B: ${firstData.atMs - rejoin.atMs} virtual ms`)
    t.diagnostic(
      `suspended for ${resumed[0]?.e.suspendedForMs} ms; A's counters ${JSON.stringify(a.manager.counters)}`,
    )
    assert.ok(firstData.atMs - rejoin.atMs < 100)
  })

  it('when the receiver moves, the suspended sender resumes on its announcement, not its next probe', () => {
    const { net, stacks } = growSessions(16, 12)
    const depth = (s: Stack) => s.host.overlay.address?.depth ?? 0
    const b = stacks.find((s) => depth(s) >= 2 && s.host.overlay.subtreeSize() === 1) as Stack
    const a = stacks.find(
      (s) => s !== b && depth(s) >= 1 && s.identity.name !== b.host.overlay.parentName,
    ) as Stack
    const first = randomBytes(256 * 1024, 6)
    const second = randomBytes(1024 * 1024, 7)
    const ref = a.manager.connect(b.identity.name, encodeStreamMeta(22), net.now)
    a.manager.write(ref, first, net.now)
    net.pump(a.host)
    const receivedAtB = () =>
      [...b.received.values()].flat().reduce((n, part) => n + part.length, 0)
    assert.ok(runUntil(net, () => receivedAtB() === first.length, 10_000, 1))
    net.runFor(1000) // every ack and window update answered: B waits on nothing
    // B drops off; A goes on writing, gets no ack, and suspends. B, owed nothing, stays active.
    net.detach(b.host)
    a.manager.write(ref, second, net.now)
    a.manager.end(ref, net.now)
    net.pump(a.host)
    net.runFor(20_000) // A's probes back off to their cap, 5 s apart
    assert.equal(eventsOf(a, 'suspended').length, 1)
    assert.equal(eventsOf(b, 'suspended').length, 0)
    const mark = b.addresses.length
    net.attach(b.host)
    const rejoined = () =>
      b.addresses.slice(mark).find((x) => x.e.reason !== 'orphaned' && x.e.address)
    assert.ok(
      runUntil(net, () => rejoined() !== undefined, 30_000, 1),
      'B re-joined',
    )
    const rejoin = rejoined() as (typeof b.addresses)[number]
    assert.ok(runUntil(net, () => eventsOf(a, 'resumed').length > 0, 10_000, 1))
    const resumed = eventsOf(a, 'resumed')[0]
    assert.ok(resumed)
    assert.ok((a.manager.counters.announce ?? 0) >= 1, 'A heard B announce its address')
    // Within a few overlay hops of B's re-join: the announcement, not a probe up to 5 s later.
    assert.equal(resumed.e.reason, 'driver')
    assert.ok(resumed.atMs - rejoin.atMs < 100, `resumed ${resumed.atMs - rejoin.atMs} ms after`)
    assert.ok(runUntil(net, () => eventsOf(b, 'end').length === 1, 60_000))
    const opened = eventsOf(b, 'stream-opened')[0]?.e
    assert.ok(opened)
    assert.deepEqual(
      concat(b.received.get(key(opened.session, opened.streamId))),
      concat([first, second]),
    )
    assert.equal(eventsOf(a, 'established').length, 1)
  })

  it('a stream whose peer is unreachable for 10 minutes holds at most its send buffer, then finishes', (t) => {
    const { net, stacks } = growSessions(12, 21)
    const leaves = stacks.filter(
      (s) => !s.host.overlay.isRoot && s.host.overlay.subtreeSize() === 1,
    )
    const [a, b] = leaves as [Stack, Stack]
    const ref = a.manager.connect(b.identity.name, encodeStreamMeta(9), net.now)
    // The application writes whenever the stream takes bytes, 64 KiB at a time, for ever
    // (until told to stop): a pseudo-random stream, so the receiver can check every byte.
    const total = 24 * 1024 * 1024
    const bytes = randomBytes(total, 8)
    const accepted = writeAll(net, a, ref, bytes)
    const receivedAtB = () =>
      [...b.received.values()].flat().reduce((n, part) => n + part.length, 0)
    assert.ok(
      runUntil(net, () => receivedAtB() >= 2 * 1024 * 1024, 10_000, 1),
      'flowing',
    )
    const session = a.manager.session(ref.session)
    assert.ok(session)
    net.detach(b.host)
    let maxBuffered = 0
    let maxRetransmit = 0
    const acceptedBefore = accepted()
    for (let s = 0; s < 600; s++) {
      net.runFor(1000)
      const st = session.srm.stats()
      maxBuffered = Math.max(maxBuffered, st.sendBufferedBytes)
      maxRetransmit = Math.max(maxRetransmit, st.retransmitBufferBytes)
    }
    const stats = session.srm.stats()
    assert.equal(stats.state, 'suspended')
    // What the application could hand over while the peer was away: at most one buffer.
    const limit = 4 * 1024 * 1024
    assert.ok(maxBuffered <= limit, `buffered ${maxBuffered} > ${limit}`)
    assert.ok(maxRetransmit <= limit, `retransmit buffer ${maxRetransmit} > ${limit}`)
    assert.ok(accepted() - acceptedBefore <= limit, 'writes were held back, not buffered')
    t.diagnostic(
      `10 virtual minutes unreachable: send buffer peaked at ${maxBuffered} bytes, ` +
        `retransmit buffer at ${maxRetransmit}; ${accepted() - acceptedBefore} bytes accepted meanwhile`,
    )
    net.attach(b.host)
    assert.ok(
      runUntil(net, () => eventsOf(b, 'end').length === 1, 120_000),
      'finished',
    )
    const opened = eventsOf(b, 'stream-opened')[0]?.e
    assert.ok(opened)
    assert.deepEqual(concat(b.received.get(key(opened.session, opened.streamId))), bytes)
    assert.equal(eventsOf(a, 'established').length, 1, 'resumed, not re-established')
  })

  it('drops and counts tampered, replayed and forged records; an unknown session gets no reply', () => {
    const { net, stacks } = growSessions(12, 13)
    const [a, b, m] = [stacks[2], stacks[7], stacks[10]] as [Stack, Stack, Stack]
    const first = randomBytes(100_000, 1)
    const ref = a.manager.connect(b.identity.name, encodeStreamMeta(80), net.now)
    writeAll(net, a, ref, first)
    assert.ok(runUntil(net, () => eventsOf(b, 'end').length === 1, 10_000))
    const sessionId = eventsOf(b, 'established')[0]?.e.sessionId as Uint8Array
    const route = a.routes.find((r) => r.kind === 'data')
    assert.ok(route)
    // A data record leaves as its header and, apart, its sealed body: the ciphertext of
    // its encoded frames, of its data (a part of its own: never copied), then the tag.
    assert.equal(route.tail.length, 3)
    assert.equal(route.tail.at(-1)?.length, 16)
    const captured = concatBytes([route.payload, ...route.tail])
    const bAddress = b.host.overlay.address as Address
    const inject = (bytes: Uint8Array) => {
      m.host.overlay.route(bAddress, PROTO.session, bytes, net.now)
      net.pump(m.host)
    }
    const mark = net.now
    const routesBefore = b.routes.length
    inject(captured) // replayed
    const tampered = Uint8Array.from(captured)
    tampered[30] = 0xff // the seq: fresh for the window, but the AD no longer authenticates
    inject(tampered)
    /** A record sealed under made-up keys at a seq above B's window (seq 0 would be replayed). */
    const forge = (localName: string, id: Uint8Array) => {
      const keys = {
        sessionId: id,
        localName,
        peerName: b.identity.name,
        cipher: 'ChaChaPoly' as const,
        sendKey: new Uint8Array(32).fill(3),
        receiveKey: new Uint8Array(32).fill(4),
      }
      const forger = new SessionCrypto(keys, net.now)
      const body = new Uint8Array([0, 6, 1, 0])
      while (forger.nextSeq < 1000n) forger.seal('data', 0, body, net.now)
      return forger.seal('data', 0, body, net.now)
    }
    inject(forge(a.identity.name, sessionId)) // claims to be A: bad tag
    inject(forge(m.identity.name, sessionId)) // M's own name on A's session: wrong peer
    inject(forge(m.identity.name, new Uint8Array(16).fill(9))) // no such session
    inject(randomBytes(300, 9)) // not a record
    net.runFor(1000)
    const c = b.manager.counters
    assert.equal(c['open:replayed'], 1)
    assert.equal(c['open:bad-tag'], 2)
    assert.equal(c['open:wrong-peer'], 1)
    assert.equal(c['unknown-session'], 1)
    assert.equal(c['not-a-record'], 1)
    // B may still send its own acks to A; nothing goes to the injector, whatever it sent.
    const mAddress = m.host.overlay.address as Address
    const toInjector = b.routes.slice(routesBefore).filter((r) => r.dest.equals(mAddress))
    assert.deepEqual(toInjector, [], 'nothing sent back for any of them')
    assert.ok(
      b.routes.slice(routesBefore).every((r) => r.kind === 'ack'),
      'only acks to A',
    )
    assert.equal(m.events.length, 0)
    assert.ok(net.now > mark)
    // The session goes on: another stream on the same session, bytes intact.
    const second = randomBytes(50_000, 2)
    const ref2 = a.manager.openStream(ref.session, encodeStreamMeta(81), net.now)
    writeAll(net, a, ref2, second)
    assert.ok(runUntil(net, () => eventsOf(b, 'end').length === 2, 10_000))
    const opened = eventsOf(b, 'stream-opened').map((o) => o.e)
    assert.equal(opened.length, 2)
    assert.equal(new Set(opened.map((o) => o.session)).size, 1)
    const got = (i: number) =>
      concat(b.received.get(key(opened[i]?.session ?? 0, opened[i]?.streamId ?? 0)))
    assert.deepEqual(got(0), first)
    assert.deepEqual(got(1), second)
    assert.equal(eventsOf(b, 'established').length, 1)
    assert.equal(b.manager.session(opened[0]?.session ?? 0)?.state, 'established')
  })

  it('fails a dial with not-found after the bound, and a full peer refuses authentically', () => {
    const { net, stacks } = growSessions(10, 14, { maxSessions: 1 })
    const [a, b, c] = [stacks[1], stacks[4], stacks[8]] as [Stack, Stack, Stack]
    const nobody = identityFromSeed(new Uint8Array(32).fill(99)).name
    const start = net.now
    a.manager.connect(nobody, encodeStreamMeta(1), net.now)
    kick(net, a)
    assert.ok(runUntil(net, () => eventsOf(a, 'closed').length === 1, 60_000))
    const [failed] = eventsOf(a, 'closed')
    assert.equal(failed?.e.reason, 'not-found')
    assert.ok((failed?.atMs ?? 0) - start < 40_000)
    assert.equal(a.manager.size, 0)

    const ref = a.manager.connect(b.identity.name, encodeStreamMeta(1), net.now)
    writeAll(net, a, ref, randomBytes(1000, 3))
    assert.ok(runUntil(net, () => eventsOf(b, 'end').length === 1, 5000))
    c.manager.connect(b.identity.name, encodeStreamMeta(2), net.now)
    kick(net, c)
    assert.ok(runUntil(net, () => eventsOf(c, 'closed').length === 1, 5000))
    assert.equal(eventsOf(c, 'closed')[0]?.e.reason, 'refused')
    assert.equal(b.manager.counters['refused-sent'], 1)
    assert.equal(b.manager.size, 1)
  })
})
