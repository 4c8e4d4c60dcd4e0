import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { concatBytes } from '../../src/core/bytes.ts'
import { Rng } from '../../src/core/rng.ts'
import { encodeName } from '../../src/identity/name.ts'
import type { Address } from '../../src/overlay/address.ts'
import { MAX_RACING_DIALS } from '../../src/overlay/join-candidates.ts'
import { decodeMessage, ROUTED_HOPS_OFFSET } from '../../src/overlay/messages.ts'
import { type OverlayAction, type OverlayEvent, PROTO } from '../../src/overlay/node-types.ts'
import { sameWeights } from '../../src/overlay/weights.ts'
import { type SimHost, SimNetwork } from '../../src/sim/network.ts'

function randomName(rng: Rng): string {
  const key = new Uint8Array(32)
  for (let i = 0; i < 32; i++) key[i] = rng.int(256)
  return encodeName(key)
}

/** Grows an overlay of n hosts, each joining through a random member already in it. */
function grow(n: number, seed = 1): SimNetwork {
  const net = new SimNetwork({ seed })
  const rng = new Rng(seed)
  const root = net.addHost({ name: randomName(rng), bootstrap: [] })
  net.start(root)
  for (let i = 1; i < n; i++) {
    const contact = rng.pick(net.hosts.filter((h) => h.alive))
    const h = net.addHost({ name: randomName(rng), bootstrap: [contact.endpoint] })
    net.start(h)
    net.runFor(20)
  }
  net.runFor(3000)
  return net
}

function alive(net: SimNetwork): SimHost[] {
  return net.hosts.filter((h) => h.alive)
}

/** Checks the tree: every host placed, addresses unique, each parent one level up. */
function assertTree(net: SimNetwork): void {
  const hosts = alive(net)
  const byName = new Map(hosts.map((h) => [h.overlay.name, h]))
  const seen = new Set<string>()
  let roots = 0
  for (const h of hosts) {
    const a = h.overlay.address
    assert.equal(h.overlay.placement, 'placed', `${h.endpoint} is ${h.overlay.placement}`)
    assert.ok(a)
    assert.ok(!seen.has(a.key), `duplicate address ${a}`)
    seen.add(a.key)
    if (a.isRoot) {
      roots++
      continue
    }
    // The tables pushed down match each ancestor's own (as the DHT weighs them).
    const tables = h.overlay.ancestorTables()
    assert.equal(tables.length, a.depth, `${a}: ${tables.length} ancestor tables`)
    for (let k = 0; k < a.depth; k++) {
      const ancestor = hosts.find((x) => x.overlay.address?.equals(a.ancestor(k)))
      const actual = ancestor?.overlay.ownTable()?.childSizes ?? []
      assert.ok(
        sameWeights(tables[k] as number[], actual),
        `${a}: table ${k} ${tables[k]} vs ${actual}`,
      )
    }
    const parent = byName.get(h.overlay.parentName ?? '')
    assert.ok(parent, `${h.endpoint} has no live parent`)
    assert.equal(
      parent.overlay.address?.key,
      a.parent()?.key,
      `${a} under ${parent.overlay.address}`,
    )
  }
  assert.equal(roots, 1)
}

/** Pings every ordered pair (or `sample` random ones); returns the failures. */
function pingAll(net: SimNetwork, sample?: number): string[] {
  const hosts = alive(net)
  const pairs: [SimHost, SimHost][] = []
  for (const a of hosts) for (const b of hosts) if (a !== b) pairs.push([a, b])
  const chosen = sample === undefined ? pairs : net.rng.shuffle(pairs).slice(0, sample)
  const pending = new Map<string, string>()
  for (const h of hosts) {
    h.recordEvents = true
    h.events.length = 0
  }
  for (const [a, b] of chosen) {
    const id = a.overlay.ping(b.overlay.address as never, b.overlay.name, net.now)
    pending.set(`${a.index}:${id}`, `${a.endpoint}→${b.endpoint}`)
    net.pump(a)
  }
  net.runFor(2000)
  const failures: string[] = []
  for (const h of hosts) {
    for (const e of h.events as OverlayEvent[]) {
      if (e.type !== 'pong') continue
      const key = `${h.index}:${e.id}`
      if (!e.ok) failures.push(`${pending.get(key)}: ${e.reason}`)
      pending.delete(key)
    }
  }
  for (const what of pending.values()) failures.push(`${what}: no answer`)
  return failures
}

/** Two live hosts with no link between them: a message from one to the other is relayed. */
function unlinkedPair(net: SimNetwork): [SimHost, SimHost] {
  const hosts = alive(net)
  const pairs = hosts.flatMap((a) => hosts.map((b) => [a, b] as const))
  const pair = pairs.find(
    ([a, b]) => a !== b && !a.overlay.links().some((l) => l.name === b.overlay.name),
  )
  assert.ok(pair, 'two hosts not linked to each other')
  return [pair[0], pair[1]]
}

describe('overlay node on the in-memory network', () => {
  it('30 nodes joining in random order form one tree, and every node reaches every other', () => {
    const net = grow(30)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
  })

  it('survives 5 killed non-root nodes, then the root: every survivor reaches every other', () => {
    const net = grow(40, 2)
    const rng = new Rng(9)
    const victims = rng.shuffle(alive(net).filter((h) => !h.overlay.isRoot)).slice(0, 5)
    for (const v of victims) net.kill(v)
    net.runFor(10_000)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
    const root = alive(net).find((h) => h.overlay.isRoot) as SimHost
    net.kill(root)
    net.runFor(10_000)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
  })

  it('a sealed tail is kept by every relay, never past the routed payload', () => {
    const net = grow(12, 5)
    const [src, dst] = unlinkedPair(net)
    const head = new Uint8Array(60).fill(1)
    const tail = [new Uint8Array(40).fill(2), new Uint8Array(16).fill(3)]
    src.overlay.route(dst.overlay.address as Address, 7, head, net.now, false, tail)
    const sent = src.overlay.takeActions().find((a) => a.type === 'send')
    assert.ok(sent?.type === 'send')
    // The origin hands the link the tail's own parts: nothing copied them.
    assert.equal(sent.tail?.length, 2)
    assert.ok(sent.tail?.[0] === tail[0] && sent.tail?.[1] === tail[1])
    const end = src.peers.get(sent.link)
    assert.ok(end, 'the first hop is a live link')
    // As a link delivers it: the message and its tail in one buffer, the tail's length said.
    const wire = concatBytes([sent.bytes, ...tail])
    for (const [sealedTail, expected] of [
      [56, 56],
      [5000, 116], // never past the routed payload: the routed header stays encrypted
    ] as const) {
      end.host.overlay.receive(end.link, Uint8Array.from(wire), net.now, sealedTail)
      const forwarded: OverlayAction | undefined = end.host.overlay
        .takeActions()
        .find((x) => x.type === 'send')
      assert.ok(forwarded?.type === 'send', 'the relay forwards')
      const forwardedTail = concatBytes(forwarded.tail ?? [])
      assert.equal(forwardedTail.length, expected)
      assert.deepEqual(
        concatBytes([forwarded.bytes, forwardedTail]).subarray(ROUTED_HOPS_OFFSET + 1),
        wire.subarray(ROUTED_HOPS_OFFSET + 1),
      )
    }
  })

  it('a borrowed message (the link will write over it) is copied before a relay queues it', () => {
    const net = grow(12, 5)
    const [src, dst] = unlinkedPair(net)
    // A session record (borrowed buffers hold only those, uncopied) and any other protocol.
    for (const proto of [PROTO.session, 7]) {
      const head = new Uint8Array(60).fill(1)
      const tail = [new Uint8Array(40).fill(2), new Uint8Array(16).fill(3)]
      src.overlay.route(dst.overlay.address as Address, proto, head, net.now, false, tail)
      const sent = src.overlay.takeActions().find((a) => a.type === 'send')
      assert.ok(sent?.type === 'send')
      const end = src.peers.get(sent.link)
      assert.ok(end)
      const wire = concatBytes([sent.bytes, ...tail])
      end.host.overlay.receive(end.link, wire, net.now, 56, true)
      const forwarded = end.host.overlay.takeActions().find((x) => x.type === 'send')
      assert.ok(forwarded?.type === 'send', 'the relay forwards')
      const before = concatBytes([forwarded.bytes, ...(forwarded.tail ?? [])])
      wire.fill(0xee) // the link's next chunk lands where the message was
      const after = concatBytes([forwarded.bytes, ...(forwarded.tail ?? [])])
      assert.deepEqual(after, before, `proto ${proto}: the queued copy is the relay's own`)
      assert.deepEqual(after.subarray(ROUTED_HOPS_OFFSET + 1, -56).at(-1), 1)
    }
  })

  it('a new endpoint is told to every open link at once, and to later links in their hello', () => {
    const net = grow(4, 7)
    const [host] = alive(net) as [SimHost]
    host.overlay.takeActions()
    const open = host.overlay.links().filter((l) => l.open)
    assert.ok(open.length > 0)
    host.overlay.setEndpoint('10.9.9.9:7400')
    assert.equal(host.overlay.endpoint, '10.9.9.9:7400')
    const hellos = host.overlay
      .takeActions()
      .flatMap((a) => (a.type === 'send' ? [decodeMessage(a.bytes)] : []))
      .filter((m) => m.ok && m.value.type === 'hello')
    assert.equal(hellos.length, open.length)
    for (const m of hellos)
      assert.ok(m.ok && m.value.type === 'hello' && m.value.endpoint === '10.9.9.9:7400')
    host.overlay.setEndpoint('10.9.9.9:7400')
    assert.deepEqual(host.overlay.takeActions(), [], 'the same endpoint again: nothing to say')
  })

  it('a message with a tail to this node itself arrives whole', () => {
    const net = grow(3, 5)
    const [host] = alive(net) as [SimHost]
    host.overlay.takeEvents()
    const tail = [Uint8Array.of(4, 5), Uint8Array.of(6)]
    host.overlay.route(
      host.overlay.address as Address,
      7,
      Uint8Array.of(1, 2, 3),
      net.now,
      false,
      tail,
    )
    const delivered = host.overlay.takeEvents().find((e) => e.type === 'deliver')
    assert.ok(delivered?.type === 'deliver')
    assert.deepEqual([...delivered.payload], [1, 2, 3, 4, 5, 6])
  })

  for (const gapMs of [10_000, 60_000]) {
    it(`a root cut off for ${gapMs / 1000} s and back finds its lone child again at once`, () => {
      const net = grow(2, 3)
      const [root, child] = net.hosts as [SimHost, SimHost]
      assert.ok(root.overlay.isRoot && child.overlay.parentName === root.overlay.name)
      net.detach(root)
      net.runFor(gapMs)
      // Past LONELY_PROMOTE_AFTER_MS the child has made itself the root of a new tree.
      assert.equal(child.overlay.isRoot, gapMs > 30_000)
      net.attach(root)
      root.overlay.networkChanged(net.now)
      net.pump(root)
      const backAt = net.now
      const whole = (): boolean =>
        child.overlay.placement === 'placed' &&
        child.overlay.parentName === root.overlay.name &&
        root.overlay.isRoot
      while (!whole() && net.now - backAt < 30_000) net.runFor(10)
      assert.ok(whole(), 'one tree again, under the old root')
      // One link round trip and a join: far below any back-off or merge delay.
      assert.ok(net.now - backAt <= 200, `whole again after ${net.now - backAt} ms`)
    })
  }

  it('a graceful leave frees the slot at once and the children re-join', () => {
    const net = grow(20, 3)
    const inner = alive(net).find(
      (h) => !h.overlay.isRoot && h.overlay.subtreeSize() > 1,
    ) as SimHost
    assert.ok(inner)
    inner.overlay.leave(net.now)
    net.pump(inner)
    inner.alive = false
    net.runFor(2000)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
  })

  it('a ping to a name at an address that is not its own reports wrong-node', () => {
    const net = grow(10, 4)
    const [a, b, c] = alive(net) as [SimHost, SimHost, SimHost]
    a.recordEvents = true
    const id = a.overlay.ping(b.overlay.address as never, c.overlay.name, net.now)
    net.pump(a)
    net.runFor(500)
    const pong = a.events.find((e) => e.type === 'pong' && e.id === id)
    assert.deepEqual(pong && pong.type === 'pong' && [pong.ok, pong.reason], [false, 'wrong-node'])
  })

  it('a bad message from a neighbour is counted and its link closed', () => {
    const net = grow(5, 5)
    const [a, b] = alive(net) as [SimHost, SimHost]
    const link = [...a.peers.entries()].find(([, end]) => end.host === b)?.[0]
    assert.ok(link !== undefined, 'a and b are linked')
    a.overlay.receive(link, new Uint8Array([200, 1, 2]), net.now)
    net.pump(a)
    assert.equal(a.overlay.stats.drops['bad-message'], 1)
    assert.ok(!a.overlay.links().some((l) => l.link === link))
  })

  it('a child of the root cut off from it makes its own tree; the two trees merge again', () => {
    const net = grow(30, 6)
    const root = alive(net).find((h) => h.overlay.isRoot) as SimHost
    const first = alive(net).find((h) => h.overlay.address?.toString() === 'q4:/0') as SimHost
    net.cut(root, first)
    net.runFor(5000)
    assert.equal(alive(net).filter((h) => h.overlay.isRoot).length, 2, 'split in two trees')
    net.runFor(30_000)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
  })

  it('a child of the root whose own network went re-joins the tree, not after 30 s as a new root', () => {
    // The lab's cable flap: alone, its links dead, the first dials after the link came back
    // failed (the kernel's neighbour entries): only its own retry rounds bring it back.
    const net = grow(30, 6)
    const root = alive(net).find((h) => h.overlay.isRoot) as SimHost
    const first = alive(net).find((h) => h.overlay.address?.toString() === 'q4:/0') as SimHost
    assert.ok(first, 'the root has a child in slot 0')
    net.detach(first)
    net.runFor(6000)
    assert.equal(first.overlay.placement, 'orphan', 'its links died')
    net.attach(first)
    const backAt = net.now
    const home = (): boolean =>
      first.overlay.placement === 'placed' && !first.overlay.isRoot && root.overlay.isRoot
    while (!home() && net.now - backAt < 40_000) net.runFor(10)
    assert.ok(home(), 'back in the tree of the root it had')
    // Its join back-off (at most 5 s, with jitter), far below LONELY_PROMOTE_AFTER_MS.
    assert.ok(net.now - backAt <= 7000, `home after ${net.now - backAt} ms`)
    net.runFor(2000)
    assertTree(net)
    assert.deepEqual(pingAll(net), [])
  })

  describe('a join races its dials (Happy Eyeballs)', () => {
    /** Addresses nobody answers at: each dial fails only when ARP gives up, after 3 s. */
    const DEAD = ['10.9.0.1:7400', '10.9.0.2:7400', '10.9.0.3:7400']

    type JoinOpts = { staggerMs?: number; rootDialMs?: number; dead?: readonly string[] }

    /** A root, and a joiner whose bootstrap lists the dead addresses beside the root. */
    function joinBeside(seed: number, opts: JoinOpts = {}) {
      const dead = opts.dead ?? DEAD
      const net = new SimNetwork({ seed })
      const rng = new Rng(seed)
      const root = net.addHost({ name: randomName(rng), bootstrap: [] })
      net.start(root)
      for (const e of dead) net.delayDials(e, 3000)
      if (opts.rootDialMs !== undefined) net.delayDials(root.endpoint, opts.rootDialMs)
      const joiner = net.addHost({
        name: randomName(rng),
        bootstrap: [...dead, root.endpoint],
        ...(opts.staggerMs === undefined ? {} : { joinStaggerMs: opts.staggerMs }),
      })
      const t0 = net.now
      net.start(joiner)
      let mostDials = 0
      while (joiner.overlay.placement !== 'placed' && net.now < t0 + 30_000) {
        net.runFor(5)
        mostDials = Math.max(mostDials, joiner.dialing.size)
      }
      assert.equal(joiner.overlay.placement, 'placed', `seed ${seed}`)
      return { net, joiner, ms: net.now - t0, mostDials }
    }

    it('keeps a stagger apart however many dead members come first, at most 8 dials at once', () => {
      const dead = Array.from({ length: 12 }, (_, i) => `10.9.1.${i + 1}:7400`)
      let most = 0
      for (let seed = 1; seed <= 8; seed++) {
        const { ms, mostDials } = joinBeside(seed, { dead })
        most = Math.max(most, mostDials)
        assert.ok(ms <= dead.length * 250 + 50, `seed ${seed}: joined after ${ms} ms`)
        assert.ok(mostDials <= MAX_RACING_DIALS + 1, `seed ${seed}: ${mostDials} dials at once`)
      }
      assert.equal(most, MAX_RACING_DIALS + 1, 'some seed filled the race')
    })

    it('dials the next member beside a dial that hangs, asks the first to open, drops the rest', () => {
      const times: number[] = []
      for (let seed = 1; seed <= 8; seed++) {
        const { joiner, ms } = joinBeside(seed)
        times.push(ms)
        // Every dead address before the root cost one stagger (250 ms), not an ARP wait.
        assert.ok(ms <= DEAD.length * 250 + 50, `seed ${seed}: joined after ${ms} ms`)
        assert.equal(joiner.dialing.size, 0, 'the hanging dials were dropped')
        assert.deepEqual(
          joiner.overlay.links().map((l) => l.role),
          ['parent'],
        )
      }
      assert.ok(
        times.some((t) => t >= 250),
        `some seed listed a dead address first: ${times}`,
      )
    })

    it('without the race (a stagger longer than ARP) the same joins wait out ARP', () => {
      const times: number[] = []
      for (let seed = 1; seed <= 8; seed++) times.push(joinBeside(seed, { staggerMs: 60_000 }).ms)
      assert.ok(
        times.some((t) => t >= 3000),
        `a dead address first costs its ARP wait: ${times}`,
      )
    })

    it("a network change drops a pending dial and asks the driver's contacts at once", () => {
      // The daemon drops the links a flap broke; the old round's next dial (a stale
      // endpoint) must not keep the contacts the daemon passes waiting behind it.
      const net = new SimNetwork({ seed: 3 })
      const rng = new Rng(3)
      const root = net.addHost({ name: randomName(rng), bootstrap: [] })
      net.start(root)
      for (const e of DEAD) net.delayDials(e, 3000)
      const joiner = net.addHost({
        name: randomName(rng),
        bootstrap: DEAD,
        joinStaggerMs: 60_000,
      })
      net.start(joiner)
      net.runFor(100)
      assert.equal(joiner.dialing.size, 1, 'one dial to a dead member pending')
      const t0 = net.now
      joiner.overlay.networkChanged(net.now, [root.endpoint])
      net.pump(joiner)
      while (joiner.overlay.placement !== 'placed' && net.now < t0 + 10_000) net.runFor(5)
      assert.equal(joiner.overlay.placement, 'placed')
      assert.ok(net.now - t0 <= 50, `placed ${net.now - t0} ms after the change`)
      assert.equal(joiner.dialing.size, 0, 'the stale dial was dropped')
    })

    it('a slow dial that opens first wins over the dials started beside it', () => {
      for (let seed = 1; seed <= 8; seed++) {
        const { net, joiner, ms } = joinBeside(seed, { rootDialMs: 600 })
        // The root's dial began at most three staggers in, and took 600 ms.
        assert.ok(ms >= 600 && ms <= 3 * 250 + 600 + 50, `seed ${seed}: joined after ${ms} ms`)
        assert.equal(joiner.dialing.size, 0, 'the other dials were dropped')
        net.runFor(5000)
        assert.deepEqual(
          joiner.overlay.links().map((l) => l.role),
          ['parent'],
        )
      }
    })
  })
})
