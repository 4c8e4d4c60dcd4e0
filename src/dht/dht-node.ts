/**
 * The DHT of one node, sans-I/O, stacked on its OverlayNode: it publishes the
 * node's signed name record, stores the records it owns, answers gets, hands
 * records over when ownership moves, and looks names up (with a cache).
 *
 *   - Where a key lives: replica r of key k is owned by the node where the
 *     balanced walk (placement.ts) for keyPoint(k, r) stops. A node computes
 *     the walk as far as the tables it knows allow (its ancestors', pushed by
 *     its parent, and its own), routes the request (anycast) to the first node
 *     whose table it lacks, and that node goes on with its own table: the
 *     request descends until a node's walk step is "self".
 *   - Publishing: at once when the node gets an address, then every refreshMs;
 *     a record lives lifetimeMs (a lease) and its seq rises with every publish.
 *   - Lookups: the cache, else every replica at once; the answer is the newest
 *     record among the replicas that answered, once all did, or `graceMs`
 *     after the first found one, or `found: false` at the timeout. The first
 *     authentic record is announced at once as an early answer (a dial need not
 *     wait for the slowest replica); the settled answer follows. A round that
 *     found nothing but heard "pending" (an owner whose tables just changed) is
 *     asked again (docs/wire-dht.md, `get-reply`).
 *   - Handover: when this node's tables change, records it no longer owns are
 *     put again toward their new owner and dropped here.
 *
 * Times are wall-clock milliseconds (records carry absolute expiries); the
 * simulator passes virtual time. The overlay's events must be fed to onEvent().
 */
import type { Identity } from '../identity/keys.ts'
import { canonicalName, encodeName } from '../identity/name.ts'
import type { Address } from '../overlay/address.ts'
import type { OverlayEvent } from '../overlay/node-types.ts'
import { PROTO } from '../overlay/node-types.ts'
import type { OverlayNode } from '../overlay/overlay-node.ts'
import { quantizeWeight } from '../overlay/weights.ts'
import { type DhtMessage, decodeDhtMessage, encodeDhtMessage } from './dht-messages.ts'
import { type KeyPoint, keyPoint } from './key-hash.ts'
import { LookupCache } from './lookup-cache.ts'
import { dhtKeyOfName, type NameRecord, signNameRecord, verifyNameRecord } from './name-record.ts'
import { DEFAULT_REPLICAS, followWalk, type WeightTable, walkStep } from './placement.ts'
import { RecordStore } from './record-store.ts'

export const DEFAULT_LIFETIME_MS = 60_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000
export const DEFAULT_GRACE_MS = 30
/** Walk steps after which a request is answered where it is (a loop guard under churn). */
export const MAX_WALK_STEPS = 64
/**
 * After a move the node publishes again after these delays (then every
 * refreshMs): a mass re-addressing changes the tables for a few seconds, and a
 * record put under a view that was still changing may sit where later lookups
 * do not look.
 */
export const SETTLE_REPUBLISH_MS = [1000, 2000] as const
/**
 * Handover checks run at most this often: the first change of a burst is handed
 * over at once, the rest of the burst together after this interval.
 */
export const HANDOVER_INTERVAL_MS = 500
/**
 * For this long after its tables changed, an owner that misses a record answers
 * "pending" rather than "none": readers learn of a new owner at about the time the
 * old owner starts its handover, and a miss in between would be a false "not found".
 */
export const UNSETTLED_MS = 2 * HANDOVER_INTERVAL_MS
/** A lookup that found nothing but heard "pending" asks every replica again after this. */
export const PENDING_RETRY_MS = 100

export interface DhtNodeInit {
  readonly identity: Pick<Identity, 'name' | 'sign'>
  readonly overlay: OverlayNode
  readonly replicas?: number
  /** A name record's lease. Default 60,000. */
  readonly lifetimeMs?: number
  /** Re-publish period. Default lifetimeMs / 3. */
  readonly refreshMs?: number
  readonly requestTimeoutMs?: number
  readonly graceMs?: number
  readonly store?: RecordStore
  readonly cache?: LookupCache
}

export type LookupOutcome = 'found' | 'not-found' | 'timeout' | 'not-joined'

export type DhtEvent = {
  readonly type: 'lookup'
  readonly id: number
  readonly name: string
  readonly outcome: LookupOutcome
  readonly record: NameRecord | undefined
  readonly fromCache: boolean
  /**
   * The first authentic record of a lookup whose other replicas have yet to answer: good
   * enough to dial now, but a replica that answers later may hold a newer one. The settled
   * answer (`early: false`, perhaps the same record) always follows under the same id.
   */
  readonly early: boolean
}

export interface DhtStats {
  published: number
  lookups: number
  cacheHits: number
  handedOver: number
  readonly drops: Record<string, number>
}

interface PendingLookup {
  readonly name: string
  readonly deadlineMs: number
  waiting: number
  best: NameRecord | undefined
  graceUntilMs: number | undefined
  /** An owner answered "pending" in this round. */
  pending: boolean
  /** When to ask every replica again (a round that found nothing but heard "pending"). */
  retryAtMs: number | undefined
  /** Whether the early answer went out. */
  announced: boolean
}

export class DhtNode {
  readonly store: RecordStore
  readonly cache: LookupCache
  readonly stats: DhtStats = { published: 0, lookups: 0, cacheHits: 0, handedOver: 0, drops: {} }
  readonly #identity: Pick<Identity, 'name' | 'sign'>
  readonly #overlay: OverlayNode
  readonly #replicas: number
  readonly #lifetimeMs: number
  readonly #refreshMs: number
  readonly #timeoutMs: number
  readonly #graceMs: number
  #seq = 0
  #publishAtMs: number | undefined
  /** Publishes still due after a move, while the tables settle (SETTLE_REPUBLISH_MS). */
  #settling: number[] = []
  #handoverAtMs: number | undefined
  #lastHandoverMs = Number.NEGATIVE_INFINITY
  /** Until when a miss here may be a record still being handed over (UNSETTLED_MS). */
  #unsettledUntilMs = Number.NEGATIVE_INFINITY
  readonly #lookups = new Map<number, PendingLookup>()
  /** Copies of what each child slot's node stores, re-put if that child goes (BACKUPS below). */
  readonly #backups = new Map<number, Map<string, { replica: number; record: NameRecord }>>()
  #backupCount = 0
  /** For each record held, the replicas this node took it as owner of (handover is per replica). */
  readonly #owned = new Map<string, Set<number>>()
  #nextId = 1
  #events: DhtEvent[] = []

  constructor(init: DhtNodeInit) {
    this.#identity = init.identity
    this.#overlay = init.overlay
    this.#replicas = init.replicas ?? DEFAULT_REPLICAS
    this.#lifetimeMs = init.lifetimeMs ?? DEFAULT_LIFETIME_MS
    this.#refreshMs = init.refreshMs ?? this.#lifetimeMs / 3
    this.#timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#graceMs = init.graceMs ?? DEFAULT_GRACE_MS
    this.store = init.store ?? new RecordStore()
    this.cache = init.cache ?? new LookupCache()
    if (!Number.isInteger(this.#replicas) || this.#replicas < 1 || this.#replicas > 16) {
      throw new RangeError(`replicas must be 1..16, got ${this.#replicas}`)
    }
  }

  /** Feeds one overlay event (every one; the DHT picks what concerns it). */
  onEvent(e: OverlayEvent, nowMs: number): void {
    switch (e.type) {
      case 'address':
        if (e.address !== undefined && e.reason !== 'orphaned') {
          this.#unsettledUntilMs = nowMs + UNSETTLED_MS
          this.#settling = [...SETTLE_REPUBLISH_MS]
          this.publish(nowMs)
        }
        return
      case 'tables':
        this.#unsettledUntilMs = nowMs + UNSETTLED_MS
        // At once when none ran lately: the overlay has just queued the messages
        // that tell others of the change, and a handover queued behind them on the
        // same links reaches a new owner before the gets those others send it.
        this.#handoverAtMs ??= Math.max(nowMs, this.#lastHandoverMs + HANDOVER_INTERVAL_MS)
        if (this.#handoverAtMs <= nowMs) this.#handover(nowMs)
        return
      case 'deliver':
        if (e.proto === PROTO.dht) this.#onMessage(e.payload, e.src, nowMs)
        return
      default:
        return
    }
  }

  /** Publishes this node's record at its current address to every replica now. */
  publish(nowMs: number): void {
    const address = this.#overlay.address
    if (address === undefined) return
    // The seq only rises, also across restarts: it follows the clock.
    this.#seq = Math.max(this.#seq + 1, Math.floor(nowMs))
    const record = signNameRecord(
      this.#identity as Identity,
      address,
      this.#seq,
      Math.floor(nowMs) + this.#lifetimeMs,
    )
    this.stats.published++
    this.#publishAtMs = nowMs + (this.#settling.shift() ?? this.#refreshMs)
    this.#putEverywhere(record, nowMs)
  }

  /** Looks `name` up; the answer is a `lookup` event with the returned id (maybe at once). */
  lookup(name: string, nowMs: number): number {
    const id = this.#nextId++
    const canonical = canonicalName(name) ?? name
    this.stats.lookups++
    const cached = this.cache.get(canonical, nowMs)
    const own = this.#overlay.address
    if (canonical === this.#identity.name && own !== undefined) {
      const record = signNameRecord(
        this.#identity as Identity,
        own,
        this.#seq,
        Math.floor(nowMs) + this.#lifetimeMs,
      )
      this.#emit(id, canonical, 'found', record, true)
    } else if (cached !== undefined) {
      this.stats.cacheHits++
      this.#emit(id, canonical, 'found', cached, true)
    } else if (own === undefined) {
      this.#emit(id, canonical, 'not-joined', undefined, false)
    } else {
      this.#lookups.set(id, {
        name: canonical,
        deadlineMs: nowMs + this.#timeoutMs,
        waiting: this.#replicas,
        best: undefined,
        graceUntilMs: undefined,
        pending: false,
        retryAtMs: undefined,
        announced: false,
      })
      this.#askReplicas(id, canonical, nowMs)
    }
    return id
  }

  /** Sends a get for `name` to every replica's owner. */
  #askReplicas(id: number, name: string, nowMs: number): void {
    const own = this.#overlay.address
    if (own === undefined) return
    const key = dhtKeyOfName(name)
    for (let r = 0; r < this.#replicas; r++) {
      this.#request({ type: 'get', id, replica: r, steps: 0, origin: own, key }, nowMs)
    }
  }

  tick(nowMs: number): void {
    if (this.#publishAtMs !== undefined && nowMs >= this.#publishAtMs) this.publish(nowMs)
    if (this.#handoverAtMs !== undefined && nowMs >= this.#handoverAtMs) this.#handover(nowMs)
    for (const [id, p] of this.#lookups) {
      if (nowMs >= p.deadlineMs || (p.graceUntilMs !== undefined && nowMs >= p.graceUntilMs)) {
        this.#finish(id, p, nowMs)
      } else if (p.retryAtMs !== undefined && nowMs >= p.retryAtMs) {
        p.retryAtMs = undefined
        p.waiting = this.#replicas
        p.pending = false
        this.#askReplicas(id, p.name, nowMs)
      }
    }
    this.store.expire(nowMs)
  }

  nextDeadlineMs(): number | undefined {
    let next = this.#publishAtMs
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    consider(this.#handoverAtMs)
    consider(this.store.nextExpiryMs())
    for (const p of this.#lookups.values()) consider(p.retryAtMs ?? p.graceUntilMs ?? p.deadlineMs)
    return next
  }

  takeEvents(): DhtEvent[] {
    const out = this.#events
    this.#events = []
    return out
  }

  // ---- placement ----

  /** The first node of the walk this node cannot follow further, or the owner if it can. */
  #target(point: KeyPoint): { address: Address; owner: boolean } | undefined {
    const own = this.#overlay.ownTable()
    if (own === undefined) return undefined
    const ancestors = this.#overlay.ancestorTables()
    const depth = own.address.depth
    const tableOf = (a: Address): WeightTable | undefined => {
      if (a.depth > depth || !a.isAncestorOf(own.address)) return undefined
      const sizes = a.depth === depth ? own.childSizes : ancestors[a.depth]
      return sizes && { address: a, childWeights: sizes.map(quantizeWeight) }
    }
    const start = tableOf(own.address.ancestor(0))
    if (start === undefined) return { address: own.address.ancestor(0), owner: false }
    const end = followWalk(start, tableOf, point)
    return { address: end.address, owner: end.owner }
  }

  /** Sends a request along its key's walk (or handles it here if this node owns it). */
  #request(m: Extract<DhtMessage, { type: 'put' | 'get' }>, nowMs: number): void {
    const key = m.type === 'get' ? m.key : dhtKeyOfName(m.record.name)
    const target = this.#target(keyPoint(key, m.replica))
    const self = this.#overlay.address
    if (target === undefined || self === undefined) return
    if (target.owner && target.address.equals(self)) this.#handleAsOwner(m, nowMs)
    else this.#overlay.route(target.address, PROTO.dht, encodeDhtMessage(m), nowMs, true)
  }

  /** A request reached this node: go on down the walk from here, or answer as the owner. */
  #continue(m: Extract<DhtMessage, { type: 'put' | 'get' }>, nowMs: number): void {
    const own = this.#overlay.ownTable()
    if (own === undefined) return
    const key = m.type === 'get' ? m.key : dhtKeyOfName(m.record.name)
    const step =
      m.steps >= MAX_WALK_STEPS
        ? 'self'
        : walkStep(
            { address: own.address, childWeights: own.childSizes.map(quantizeWeight) },
            keyPoint(key, m.replica),
          )
    if (step === 'self') {
      this.#handleAsOwner(m, nowMs)
      return
    }
    const next = { ...m, steps: m.steps + 1 }
    this.#overlay.route(own.address.child(step), PROTO.dht, encodeDhtMessage(next), nowMs, true)
  }

  #handleAsOwner(m: Extract<DhtMessage, { type: 'put' | 'get' }>, nowMs: number): void {
    const self = this.#overlay.address
    if (m.type === 'put') {
      const outcome = this.store.put(m.record, nowMs)
      if (outcome === 'stored' || outcome === 'replaced' || outcome === 'same') {
        const replicas = this.#owned.get(m.record.name) ?? new Set<number>()
        replicas.add(m.replica)
        this.#owned.set(m.record.name, replicas)
      }
      const parent = self?.parent()
      if (parent !== undefined && (outcome === 'stored' || outcome === 'replaced')) {
        const backup = { type: 'backup' as const, id: 0, replica: m.replica, record: m.record }
        this.#overlay.route(parent, PROTO.dht, encodeDhtMessage(backup), nowMs)
      }
      // No ack: the publisher repeats its put on every refresh, and an ack per
      // replica would double the DHT's traffic for a figure nobody acts on.
      return
    }
    const record = this.store.get(encodeName(m.key), nowMs)
    const pending = record === undefined && nowMs < this.#unsettledUntilMs
    if (self !== undefined && m.origin.equals(self)) {
      this.#onGetReply(m.id, record, pending, nowMs)
      return
    }
    this.#reply(m.origin, { type: 'get-reply', id: m.id, record, pending }, nowMs)
  }

  #reply(origin: Address, m: DhtMessage, nowMs: number): void {
    this.#overlay.route(origin, PROTO.dht, encodeDhtMessage(m), nowMs)
  }

  #putEverywhere(record: NameRecord, nowMs: number): void {
    const origin = this.#overlay.address
    if (origin === undefined) return
    for (let r = 0; r < this.#replicas; r++) {
      this.#request({ type: 'put', id: 0, replica: r, steps: 0, origin, record }, nowMs)
    }
  }

  /**
   * BACKUPS. An owner dying takes its records with it, and their publishers
   * would not know until their next refresh. So each owner copies what it
   * stores to its parent, and a parent whose child slot empties puts that
   * child's records again toward their new owners.
   */
  #keepBackup(src: Address, replica: number, record: NameRecord, nowMs: number): void {
    const self = this.#overlay.address
    if (self === undefined || !src.parent()?.equals(self)) {
      this.#drop('backup-not-from-child')
      return
    }
    if (!verifyNameRecord(record, nowMs).ok) {
      this.#drop('backup-invalid')
      return
    }
    const slot = src.slots[src.depth - 1] as number
    const held = this.#backups.get(slot) ?? new Map()
    const key = `${record.name}/${replica}`
    const old = held.get(key)
    if (old === undefined && this.#backupCount >= this.store.capacity) {
      this.#drop('backup-full')
      return
    }
    if (old === undefined) this.#backupCount++
    if (old === undefined || old.record.seq <= record.seq) held.set(key, { replica, record })
    this.#backups.set(slot, held)
  }

  #rescueBackups(nowMs: number): void {
    const sizes = this.#overlay.ownTable()?.childSizes ?? []
    const origin = this.#overlay.address
    if (origin === undefined) return
    for (const [slot, held] of [...this.#backups]) {
      if ((sizes[slot] ?? 0) > 0) {
        for (const [key, b] of held) {
          if (b.record.expiresAtMs > nowMs) continue
          held.delete(key)
          this.#backupCount--
        }
        continue
      }
      this.#backups.delete(slot)
      this.#backupCount -= held.size
      for (const { replica, record } of held.values()) {
        if (record.expiresAtMs <= nowMs) continue
        this.stats.handedOver++
        this.#request({ type: 'put', id: 0, replica, steps: 0, origin, record }, nowMs)
      }
    }
  }

  /** Each replica this node no longer owns goes to its new owner; a record owned for none is dropped. */
  #handover(nowMs: number): void {
    this.#handoverAtMs = undefined
    this.#lastHandoverMs = nowMs
    const self = this.#overlay.address
    if (self === undefined || this.#overlay.placement !== 'placed') return
    this.#rescueBackups(nowMs)
    for (const [name, replicas] of [...this.#owned]) {
      const record = this.store.get(name, nowMs)
      if (record === undefined) {
        this.#owned.delete(name)
        continue
      }
      const key = dhtKeyOfName(name)
      for (const r of [...replicas]) {
        const t = this.#target(keyPoint(key, r))
        if (t === undefined || (t.owner && t.address.equals(self))) continue
        replicas.delete(r)
        this.stats.handedOver++
        this.#overlay.route(
          t.address,
          PROTO.dht,
          encodeDhtMessage({ type: 'put', id: 0, replica: r, steps: 0, origin: self, record }),
          nowMs,
          true,
        )
      }
      // The copy stays until it expires: the put carries no ack, and one lost on
      // its way (a link not yet known dead, a new owner still re-joining) would
      // otherwise leave the record nowhere until its publisher's next refresh.
      if (replicas.size === 0) this.#owned.delete(name)
    }
  }

  // ---- messages ----

  #onMessage(payload: Uint8Array, src: Address, nowMs: number): void {
    const decoded = decodeDhtMessage(payload)
    if (!decoded.ok) {
      this.#drop(`bad-message-${decoded.code}`)
      return
    }
    const m = decoded.value
    switch (m.type) {
      case 'put':
      case 'get':
        this.#continue(m, nowMs)
        return
      case 'put-ack':
        if (m.outcome !== 'stored' && m.outcome !== 'replaced' && m.outcome !== 'same') {
          this.#drop(`put-refused-${m.outcome}`)
        }
        return
      case 'get-reply':
        this.#onGetReply(m.id, m.record, m.pending, nowMs)
        return
      case 'backup':
        this.#keepBackup(src, m.replica, m.record, nowMs)
        return
    }
  }

  #onGetReply(id: number, record: NameRecord | undefined, pending: boolean, nowMs: number): void {
    const p = this.#lookups.get(id)
    if (p === undefined || p.retryAtMs !== undefined) {
      this.#drop('stray-reply')
      return
    }
    if (pending) p.pending = true
    if (record !== undefined) {
      const verified = verifyNameRecord(record, nowMs)
      if (!verified.ok || record.name !== p.name) {
        this.#drop(verified.ok ? 'reply-wrong-name' : `reply-${verified.code}`)
      } else if (p.best === undefined || record.seq > p.best.seq) {
        p.best = record
        p.graceUntilMs ??= nowMs + this.#graceMs
      }
    }
    p.waiting--
    if (p.best !== undefined && !p.announced && p.waiting > 0) {
      p.announced = true
      this.#emit(id, p.name, 'found', p.best, false, true)
    }
    if (p.waiting > 0) return
    if (p.best === undefined && p.pending && nowMs + PENDING_RETRY_MS < p.deadlineMs) {
      p.retryAtMs = nowMs + PENDING_RETRY_MS
      return
    }
    this.#finish(id, p, nowMs)
  }

  #finish(id: number, p: PendingLookup, nowMs: number): void {
    this.#lookups.delete(id)
    if (p.best !== undefined) {
      this.cache.set(p.best, nowMs)
      this.#emit(id, p.name, 'found', p.best, false)
    } else {
      this.#emit(id, p.name, p.waiting > 0 ? 'timeout' : 'not-found', undefined, false)
    }
  }

  #emit(
    id: number,
    name: string,
    outcome: LookupOutcome,
    record: NameRecord | undefined,
    fromCache: boolean,
    early = false,
  ): void {
    this.#events.push({ type: 'lookup', id, name, outcome, record, fromCache, early })
  }

  #drop(reason: string): void {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1
  }
}
