import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Rng } from '../../src/core/rng.ts'
import { encodeDhtMessage } from '../../src/dht/dht-messages.ts'
import { type DhtEvent, DhtNode } from '../../src/dht/dht-node.ts'
import { signNameRecord } from '../../src/dht/name-record.ts'
import { identityFromSeed } from '../../src/identity/keys.ts'
import { Address } from '../../src/overlay/address.ts'
import { PROTO } from '../../src/overlay/node-types.ts'
import { type SimHost, SimNetwork } from '../../src/sim/network.ts'

interface Stacked {
  readonly host: SimHost
  readonly dht: DhtNode
  readonly seed: Uint8Array
}

/** Adds one node that joins through a random live member; returns it started. */
function addNode(net: SimNetwork, rng: Rng, nodes: Stacked[]): Stacked {
  const seedBytes = new Uint8Array(32)
  for (let b = 0; b < 32; b++) seedBytes[b] = rng.int(256)
  const identity = identityFromSeed(seedBytes)
  const live = nodes.filter((s) => s.host.alive)
  const contact = live.length === 0 ? undefined : rng.pick(live).host
  const host = net.addHost({ name: identity.name, bootstrap: contact ? [contact.endpoint] : [] })
  const dht = new DhtNode({ identity, overlay: host.overlay })
  host.layer = dht
  const node = { host, dht, seed: seedBytes }
  nodes.push(node)
  net.start(host)
  return node
}

function grow(n: number, seed: number): { net: SimNetwork; nodes: Stacked[] } {
  const net = new SimNetwork({ seed })
  const rng = new Rng(seed)
  const nodes: Stacked[] = []
  for (let i = 0; i < n; i++) {
    addNode(net, rng, nodes)
    net.runFor(20)
  }
  net.runFor(3000)
  return { net, nodes }
}

/** Every live node looks up every other; returns what did not resolve to the current address. */
function lookupAll(net: SimNetwork, nodes: Stacked[]): string[] {
  const live = nodes.filter((s) => s.host.alive)
  const expected = new Map<string, Stacked>()
  for (const a of live) {
    a.dht.takeEvents()
    for (const b of live) {
      if (a === b) continue
      const id = a.dht.lookup(b.host.overlay.name, net.now)
      expected.set(`${a.host.index}:${id}`, b)
    }
    net.pump(a.host)
  }
  net.runFor(3000)
  const failures: string[] = []
  for (const a of live) {
    for (const e of a.dht.takeEvents() as DhtEvent[]) {
      if (e.early) continue // the settled answer follows
      const b = expected.get(`${a.host.index}:${e.id}`)
      expected.delete(`${a.host.index}:${e.id}`)
      if (b === undefined) continue
      const want = b.host.overlay.address?.toString()
      const got = e.record?.address.toString()
      if (e.outcome !== 'found' || got !== want)
        failures.push(`${a.host.endpoint}→${b.host.endpoint}: ${e.outcome} ${got} (want ${want})`)
    }
  }
  for (const k of expected.keys()) failures.push(`${k}: no answer`)
  return failures
}

describe('DHT node on the in-memory overlay', () => {
  it('every node resolves every other name to its current address', () => {
    const { net, nodes } = grow(30, 1)
    assert.deepEqual(lookupAll(net, nodes), [])
    const held = nodes.reduce((s, n) => s + n.dht.store.size, 0)
    assert.ok(held >= 30, `records held: ${held}`)
  })

  it('a lookup announces the first authentic record at once, then its settled answer', () => {
    const { net, nodes } = grow(30, 1)
    const [asker, target] = [nodes[3], nodes[17]] as [Stacked, Stacked]
    asker.dht.takeEvents()
    const id = asker.dht.lookup(target.host.overlay.name, net.now)
    net.pump(asker.host)
    net.runFor(3000)
    const events = asker.dht.takeEvents().filter((e) => e.id === id)
    assert.deepEqual(
      events.map((e) => [e.outcome, e.early]),
      [
        ['found', true],
        ['found', false],
      ],
    )
    const [early, settled] = events as [DhtEvent, DhtEvent]
    const want = target.host.overlay.address?.toString()
    assert.equal(early.record?.address.toString(), want)
    assert.equal(settled.record?.address.toString(), want)
    assert.ok((settled.record?.seq ?? 0) >= (early.record?.seq ?? 0))
    // A cached answer is settled at once: nothing early about it.
    const again = asker.dht.lookup(target.host.overlay.name, net.now)
    assert.deepEqual(
      asker.dht.takeEvents().map((e) => [e.id, e.fromCache, e.early]),
      [[again, true, false]],
    )
  })

  it('after 5 non-root nodes and then the root die, names resolve to the new addresses', () => {
    const { net, nodes } = grow(40, 2)
    const rng = new Rng(7)
    const victims = rng.shuffle(nodes.filter((s) => !s.host.overlay.isRoot)).slice(0, 5)
    for (const v of victims) net.kill(v.host)
    net.runFor(10_000)
    // Cached answers may be stale after a move; a fresh lookup must not be.
    for (const s of nodes) for (const o of nodes) s.dht.cache.invalidate(o.host.overlay.name)
    assert.deepEqual(lookupAll(net, nodes), [])
    const root = nodes.find((s) => s.host.alive && s.host.overlay.isRoot) as Stacked
    net.kill(root.host)
    net.runFor(10_000)
    for (const s of nodes) for (const o of nodes) s.dht.cache.invalidate(o.host.overlay.name)
    assert.deepEqual(lookupAll(net, nodes), [])
  })

  it('forged and stale records are refused by their owners and counted; lookups still answer the truth', () => {
    const { net, nodes } = grow(12, 3)
    const [a, b] = nodes as [Stacked, Stacked]
    const mallory = identityFromSeed(new Uint8Array(32).fill(9))
    const origin = a.host.overlay.address as Address
    const real = b.host.overlay.address as Address
    const signed = signNameRecord(mallory, origin, 10 ** 13, Math.floor(net.now) + 60_000)
    const forged = { ...signed, name: b.host.overlay.name }
    const stale = signNameRecord(identityFromSeed(b.seed), origin, 1, Math.floor(net.now) + 60_000)
    for (const record of [forged, stale]) {
      for (let replica = 0; replica < 3; replica++) {
        const put = encodeDhtMessage({ type: 'put', id: 1, replica, steps: 0, origin, record })
        a.host.overlay.route(Address.root(4), PROTO.dht, put, net.now, true)
      }
    }
    net.pump(a.host)
    net.runFor(1000)
    const count = (code: 'bad-signature' | 'stale-seq') =>
      nodes.reduce((s, n) => s + n.dht.store.counters[code], 0)
    assert.equal(count('bad-signature'), 3)
    assert.equal(count('stale-seq'), 3)
    const id = nodes[5]?.dht.lookup(b.host.overlay.name, net.now) as number
    net.pump(nodes[5]?.host as SimHost)
    net.runFor(1000)
    const answer = nodes[5]?.dht.takeEvents().find((e) => e.id === id && !e.early)
    assert.equal(answer?.record?.address.toString(), real.toString())
  })

  it('a name resolves right after a join moved its replicas to new owners (no false not-found)', () => {
    const net = new SimNetwork({ seed: 9 })
    const rng = new Rng(9)
    const nodes: Stacked[] = []
    addNode(net, rng, nodes)
    net.runFor(3000)
    for (let i = 1; i < 10; i++) {
      const joiner = addNode(net, rng, nodes)
      while (joiner.host.overlay.address === undefined) net.runFor(1)
      // Ask at once: the joiner now owns some replicas whose records are still on their way.
      for (const n of nodes) for (const m of nodes) n.dht.cache.invalidate(m.host.overlay.name)
      assert.deepEqual(lookupAll(net, nodes), [], `after join ${i}`)
    }
  })

  it('records of a dead owner are put again by its parent, long before the publisher refreshes', () => {
    const { net, nodes } = grow(60, 4)
    const target = nodes[7] as Stacked
    const holders = nodes.filter(
      (n) =>
        n !== target &&
        !n.host.overlay.isRoot &&
        n.dht.store.get(target.host.overlay.name, net.now),
    )
    assert.ok(holders.length > 0, 'someone holds the record')
    const parents = new Set(holders.map((h) => h.host.overlay.parentName))
    const victims = holders.filter((h) => !parents.has(h.host.overlay.name))
    for (const v of victims) net.kill(v.host)
    net.runFor(5000) // death noticed after at most 3 s; the publisher's refresh is due at 20 s
    const asker = nodes.find((n) => n.host.alive && n !== target) as Stacked
    asker.dht.cache.invalidate(target.host.overlay.name)
    const id = asker.dht.lookup(target.host.overlay.name, net.now)
    net.pump(asker.host)
    net.runFor(1000)
    const answer = asker.dht.takeEvents().find((e) => e.id === id && !e.early)
    assert.equal(answer?.outcome, 'found')
    assert.ok(nodes.some((n) => n.dht.stats.handedOver > 0))
  })
})
