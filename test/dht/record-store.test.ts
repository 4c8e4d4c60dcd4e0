import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { LookupCache } from '../../src/dht/lookup-cache.ts'
import { type NameRecord, signNameRecord } from '../../src/dht/name-record.ts'
import { RecordStore } from '../../src/dht/record-store.ts'
import { type Identity, identityFromSeed } from '../../src/identity/keys.ts'
import { Address } from '../../src/overlay/address.ts'

const NOW = 1_700_000_000_000
const ids: Identity[] = Array.from({ length: 8 }, (_, i) =>
  identityFromSeed(new Uint8Array(32).fill(i + 1)),
)
const [alice, bob, carol, dave] = ids as [Identity, Identity, Identity, Identity]
const HERE = Address.fromSlots(4, [1, 2])
const THERE = Address.fromSlots(4, [3, 0, 1])

function rec(id: Identity, seq: number, expiresAtMs = NOW + 600_000, at = HERE): NameRecord {
  return signNameRecord(id, at, seq, expiresAtMs)
}

const ZERO = { 'bad-signature': 0, expired: 0, 'too-far-future': 0, 'stale-seq': 0, full: 0 }

describe('RecordStore', () => {
  it('stores, returns and recognises a record', () => {
    const s = new RecordStore()
    const r = rec(alice, 1)
    assert.equal(s.put(r, NOW), 'stored')
    assert.equal(s.put(rec(alice, 1), NOW), 'same')
    assert.equal(s.get(alice.name, NOW), r)
    assert.equal(s.get(alice.name.toUpperCase(), NOW), r)
    assert.equal(s.get(bob.name, NOW), undefined)
    assert.equal(s.size, 1)
    assert.deepEqual([...s.entries()], [r])
    assert.deepEqual({ ...s.counters }, ZERO)
  })

  it('replaces by higher seq, or same seq expiring later; refuses and counts the rest', () => {
    const s = new RecordStore()
    assert.equal(s.put(rec(alice, 5), NOW), 'stored')
    assert.equal(s.put(rec(alice, 6, NOW + 1000, THERE), NOW), 'replaced')
    assert.equal(s.get(alice.name, NOW)?.address.equals(THERE), true)
    assert.equal(s.put(rec(alice, 5), NOW), 'stale-seq') // lower seq, though it lives longer
    assert.equal(s.put(rec(alice, 6, NOW + 999, THERE), NOW), 'stale-seq') // refresh that shortens
    assert.equal(s.put(rec(alice, 6, NOW + 1000, HERE), NOW), 'stale-seq') // full tie: held wins
    assert.equal(s.put(rec(alice, 6, NOW + 2000, THERE), NOW), 'replaced') // refresh
    assert.equal(s.get(alice.name, NOW)?.expiresAtMs, NOW + 2000)
    assert.equal(s.counters['stale-seq'], 3)
    assert.equal(s.size, 1)
  })

  it('refuses and counts forged records', () => {
    const s = new RecordStore()
    const good = rec(alice, 1)
    assert.equal(s.put({ ...rec(bob, 9), name: alice.name }, NOW), 'bad-signature')
    assert.equal(s.put({ ...good, seq: 2 }, NOW), 'bad-signature')
    assert.equal(s.put(good, NOW), 'stored')
    // A forged higher seq must not displace the genuine record.
    assert.equal(s.put({ ...good, seq: 7, address: THERE }, NOW), 'bad-signature')
    assert.equal(s.put({ ...good, name: alice.name.toUpperCase() }, NOW), 'bad-signature')
    assert.equal(s.get(alice.name, NOW), good)
    assert.equal(s.counters['bad-signature'], 4)
  })

  it('refuses and counts records outside their lifetime', () => {
    const s = new RecordStore({ maxLifetimeMs: 10_000, maxClockSkewMs: 1_000 })
    assert.equal(s.put(rec(alice, 1, NOW), NOW), 'expired')
    assert.equal(s.put(rec(alice, 1, NOW + 11_001), NOW), 'too-far-future')
    assert.equal(s.put(rec(alice, 1, NOW + 11_000), NOW), 'stored')
    assert.deepEqual({ ...s.counters }, { ...ZERO, expired: 1, 'too-far-future': 1 })
  })

  it('expires records on time and says when next', () => {
    const s = new RecordStore()
    assert.equal(s.nextExpiryMs(), undefined)
    s.put(rec(alice, 1, NOW + 300), NOW)
    s.put(rec(bob, 1, NOW + 100), NOW)
    s.put(rec(carol, 1, NOW + 200), NOW)
    assert.equal(s.nextExpiryMs(), NOW + 100)
    assert.equal(s.get(bob.name, NOW + 100), undefined) // hidden once expired, before expire()
    assert.equal(s.size, 3)
    assert.equal(s.expire(NOW + 99), 0)
    assert.equal(s.expire(NOW + 200), 2)
    assert.deepEqual(
      [...s.entries()].map((r) => r.name),
      [alice.name],
    )
    assert.equal(s.nextExpiryMs(), NOW + 300)
    assert.equal(s.expire(NOW + 1e6), 1)
    assert.equal(s.nextExpiryMs(), undefined)
  })

  it('treats an expired held record as absent', () => {
    const s = new RecordStore()
    s.put(rec(alice, 9, NOW + 100), NOW)
    // The node restarted from seq 1: its old record is dead, so the new one is not stale.
    assert.equal(s.put(rec(alice, 1, NOW + 10_000), NOW + 100), 'stored')
    assert.equal(s.get(alice.name, NOW + 100)?.seq, 1)
  })

  it('deletes', () => {
    const s = new RecordStore()
    s.put(rec(alice, 1, NOW + 100), NOW)
    s.put(rec(bob, 1, NOW + 200), NOW)
    assert.equal(s.delete(alice.name), true)
    assert.equal(s.delete(alice.name), false)
    assert.equal(s.size, 1)
    assert.equal(s.nextExpiryMs(), NOW + 200)
  })

  it('is bounded: evicts the soonest-expiring record for one that lives longer, else is full', () => {
    const s = new RecordStore({ maxRecords: 3 })
    s.put(rec(alice, 1, NOW + 300), NOW)
    s.put(rec(bob, 1, NOW + 100), NOW)
    s.put(rec(carol, 1, NOW + 200), NOW)
    assert.equal(s.put(rec(dave, 1, NOW + 100), NOW), 'full')
    assert.equal(s.counters.full, 1)
    assert.equal(s.put(rec(dave, 1, NOW + 150), NOW), 'stored')
    assert.equal(s.get(bob.name, NOW), undefined)
    assert.equal(s.size, 3)
    // Updates of held names never need room.
    assert.equal(s.put(rec(carol, 2, NOW + 50), NOW), 'replaced')
    // Expired records make room first.
    assert.equal(s.put(rec(bob, 1, NOW + 60), NOW + 50), 'stored')
    assert.equal(s.get(carol.name, NOW + 50), undefined)
    assert.equal(s.size, 3)
    assert.throws(() => new RecordStore({ maxRecords: 0 }), RangeError)
  })

  it('agrees with a plain model under any sequence of operations', () => {
    // A pool signed once: 8 names × 3 seqs × 3 expiries. Names never share an expiry, so
    // the record to evict is never a tie the model would have to break like the heap.
    const pool = ids.flatMap((id, n) =>
      [1, 2, 3].flatMap((seq) => [100, 200, 300].map((exp) => rec(id, seq, NOW + exp + n))),
    )
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), i: fc.nat(pool.length - 1) }),
      fc.record({ kind: fc.constant('delete' as const), i: fc.nat(ids.length - 1) }),
      fc.record({ kind: fc.constant('tick' as const), i: fc.nat(20) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), (ops, cap) => {
        const s = new RecordStore({ maxRecords: cap })
        const model = new Map<string, NameRecord>()
        let now = NOW
        for (const { kind, i } of ops) {
          if (kind === 'tick') now += i
          else if (kind === 'delete') {
            const name = (ids[i] as Identity).name
            assert.equal(s.delete(name), model.delete(name))
          } else {
            const r = pool[i] as NameRecord
            assert.equal(s.put(r, now), modelPut(model, cap, r, now))
          }
          assert.ok(s.size <= cap)
          assert.deepEqual(new Set(s.entries()), new Set(model.values()))
          for (const m of model.values()) {
            assert.equal(s.get(m.name, now), m.expiresAtMs > now ? m : undefined)
          }
          const expiries = [...model.values()].map((e) => e.expiresAtMs)
          assert.equal(s.nextExpiryMs(), expiries.length ? Math.min(...expiries) : undefined)
        }
      }),
      { numRuns: 300 },
    )
  })
})

/** The store's rules written out plainly, over a map that may hold expired records. */
function modelPut(model: Map<string, NameRecord>, cap: number, r: NameRecord, now: number) {
  let held = model.get(r.name)
  if (held && held.expiresAtMs <= now) {
    model.delete(r.name)
    held = undefined
  }
  if (held && held.seq === r.seq && held.expiresAtMs === r.expiresAtMs) return 'same'
  if (r.expiresAtMs <= now) return 'expired'
  if (held) {
    const newer = r.seq > held.seq || (r.seq === held.seq && r.expiresAtMs > held.expiresAtMs)
    if (!newer) return 'stale-seq'
    model.set(r.name, r)
    return 'replaced'
  }
  if (model.size >= cap) {
    for (const [n, m] of model) if (m.expiresAtMs <= now) model.delete(n)
  }
  if (model.size >= cap) {
    const victim = [...model.values()].reduce((a, b) => (b.expiresAtMs < a.expiresAtMs ? b : a))
    if (victim.expiresAtMs >= r.expiresAtMs) return 'full'
    model.delete(victim.name)
  }
  model.set(r.name, r)
  return 'stored'
}

describe('LookupCache', () => {
  it('keeps an entry for at most maxTtlMs, and never past the record’s expiry', () => {
    const c = new LookupCache({ maxTtlMs: 1_000 })
    const long = rec(alice, 1, NOW + 600_000)
    const short = rec(bob, 1, NOW + 500)
    assert.equal(c.set(long, NOW), true)
    assert.equal(c.set(short, NOW), true)
    assert.equal(c.get(alice.name, NOW + 999), long)
    assert.equal(c.get(alice.name, NOW + 1_000), undefined)
    assert.equal(c.get(bob.name, NOW + 499), short)
    assert.equal(c.get(bob.name, NOW + 500), undefined)
    assert.equal(c.size, 0) // lapsed entries go when looked at
    assert.equal(c.set(rec(carol, 1, NOW), NOW), false) // already expired: not cached
  })

  it('defaults to 30 s', () => {
    const c = new LookupCache()
    c.set(rec(alice, 1), NOW)
    assert.ok(c.get(alice.name, NOW + 29_999))
    assert.equal(c.get(alice.name, NOW + 30_000), undefined)
  })

  it('keeps the higher seq while its entry lives', () => {
    const c = new LookupCache({ maxTtlMs: 1_000 })
    c.set(rec(alice, 5, NOW + 10_000, THERE), NOW)
    assert.equal(c.set(rec(alice, 4), NOW + 10), false)
    assert.equal(c.get(alice.name, NOW + 10)?.seq, 5)
    assert.equal(c.set(rec(alice, 6), NOW + 20), true)
    assert.equal(c.get(alice.name, NOW + 20)?.seq, 6)
    // The same record again renews the entry.
    assert.equal(c.set(rec(alice, 6), NOW + 900), true)
    assert.ok(c.get(alice.name, NOW + 1_500))
    // Once the entry lapsed, whatever a new lookup found is believed.
    assert.equal(c.set(rec(alice, 2), NOW + 5_000), true)
    assert.equal(c.get(alice.name.toUpperCase(), NOW + 5_000)?.seq, 2)
  })

  it('invalidates', () => {
    const c = new LookupCache()
    c.set(rec(alice, 1), NOW)
    assert.equal(c.invalidate(alice.name.toUpperCase()), true)
    assert.equal(c.invalidate(alice.name), false)
    assert.equal(c.get(alice.name, NOW), undefined)
  })

  it('is bounded, evicting the least recently used', () => {
    const c = new LookupCache({ maxEntries: 3 })
    for (const id of [alice, bob, carol]) c.set(rec(id, 1), NOW)
    assert.ok(c.get(alice.name, NOW)) // alice is now the most recently used
    c.set(rec(dave, 1), NOW)
    assert.equal(c.size, 3)
    assert.equal(c.get(bob.name, NOW), undefined)
    assert.ok(c.get(alice.name, NOW) && c.get(carol.name, NOW) && c.get(dave.name, NOW))
  })

  it('prunes lapsed entries on demand', () => {
    const c = new LookupCache({ maxTtlMs: 1_000 })
    c.set(rec(alice, 1), NOW)
    c.set(rec(bob, 1), NOW + 500)
    assert.equal(c.prune(NOW + 1_000), 1)
    assert.equal(c.size, 1)
    assert.throws(() => new LookupCache({ maxEntries: 0 }), RangeError)
    assert.throws(() => new LookupCache({ maxTtlMs: -1 }), RangeError)
  })
})
