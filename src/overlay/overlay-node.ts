/**
 * One CLOAK overlay node as a sans-I/O state machine: link events, messages
 * and the current time in; actions (dial, send, close), events and the next
 * deadline out. The daemon drives it over TCP links, the simulator over an
 * in-memory network with virtual time: the same code.
 *
 *   1. Join: through any member (`bootstrap`). The join climbs `joinClimb`
 *      levels from the contact, then descends toward the shallowest free slot
 *      (each node knows its subtree's; children report it) by redirects; the
 *      member with a free slot accepts and the link becomes the tree link.
 *   2. Placed: the parent's `place` gives the address, the tree id, the names
 *      of all ancestors (a node finding its own name there is in a cycle), the
 *      ancestors' subtree tables (the DHT walks them) and the parent's other
 *      children; the node links to its grandparent and siblings (shortcuts,
 *      and the members it re-joins through).
 *   3. Orphaned: the parent link died. The node tells its subtree (`detach`:
 *      a detached node refuses joins, so two orphans never attach under each
 *      other), re-joins through its grandparent, siblings or any member
 *      outside its subtree, then re-addresses its subtree by pushing `place`.
 *      A child of the dead root first tries its siblings in slot order and
 *      becomes the root itself when none of the lower ones answers: its
 *      subtree keeps its slots under the new root (docs/overlay-daemon.md).
 *   4. Routing: `routed` messages go greedily (greedy.ts via GreedyRouter) to
 *      neighbours of the same tree; no progress means the destination does not
 *      exist (an error goes back to the source) or, for anycast, that this node
 *      owns the point.
 *
 * Contract for the driver: for each `dial` action open a link and call
 * linkUp(link, peerName) or linkDown(link); hand every inbound link to
 * linkAccepted() and use the id it returns; call receive() with each message,
 * linkDown() when a link closes, tick() at nextDeadlineMs(); drain
 * takeActions() and takeEvents() after every call. Bad input never throws.
 */

import { concatBytes } from '../core/bytes.ts'
import { Address } from './address.ts'
import type { Neighbour } from './greedy.ts'
import { type Candidate, JoinCandidates } from './join-candidates.ts'
import {
  type Contact,
  decodeMessage,
  encodeMessage,
  NO_FREE_SLOT,
  type OverlayMessage,
  peekRoutedProto,
  ROUTED_FLAG,
  ROUTED_HOPS_OFFSET,
  type RoutedMessage,
  type SlotContact,
  sameTree,
  type TreeId,
} from './messages.ts'
import {
  type LinkId,
  type LinkRole,
  type LinkView,
  type OverlayAction,
  OverlayError,
  type OverlayEvent,
  type OverlayNodeInit,
  type OverlayOptions,
  type OverlayStats,
  type Placement,
  PROTO,
  resolveOverlayOptions,
  type Undeliverable,
} from './node-types.ts'
import {
  decodeControlError,
  decodeEcho,
  decodeMergeHint,
  encodeControlError,
  encodeEcho,
  encodeMergeHint,
} from './routed-payloads.ts'
import { GreedyRouter } from './router.ts'
import { MergeWatch, treeWins } from './tree-merge.ts'
import { TreeSlots } from './tree-slots.ts'
import { sameWeights } from './weights.ts'

/** Tables (DHT weights) are pushed down at most this often, unlike addresses (at once). */
export const TABLE_PUSH_INTERVAL_MS = 250
/** A child of the dead root with no link left promotes itself only after this long alone. */
export const LONELY_PROMOTE_AFTER_MS = 30_000
/**
 * A root without any link dials its known members, first after this long, then at a
 * doubling interval up to LONELY_DIAL_MAX_MS: after an outage two halves of one overlay
 * may each be a lone root (the old root came back; its cut-off child promoted itself),
 * and neither has a reason to contact the other otherwise. A link is all it takes:
 * the hello exchange shows the two trees, and the younger one merges into the older.
 */
export const LONELY_DIAL_MIN_MS = 1000
export const LONELY_DIAL_MAX_MS = 10_000
/** Known members a lonely root dials per round. */
const LONELY_DIALS_PER_ROUND = 3
/** Most members remembered for re-joining. */
const MAX_KNOWN_MEMBERS = 256
/** A shortcut that failed is not dialed again for this long. */
const SHORTCUT_RETRY_MS = 5000

interface LinkEntry {
  readonly id: LinkId
  open: boolean
  name: string | undefined
  /** The endpoint dialed, or the one the peer advertised in its hello. */
  endpoint: string | undefined
  address: Address | undefined
  tree: TreeId | undefined
  role: LinkRole
}

interface PendingPing {
  readonly sentMs: number
  readonly deadlineMs: number
}

type ChildUpdate = 'none' | 'siblings' | 'tables' | 'address'

export class OverlayNode {
  readonly name: string
  #endpoint: string
  readonly stats: OverlayStats = {
    forwarded: 0,
    delivered: 0,
    undeliverable: 0,
    joins: 0,
    rejoins: 0,
    readdressed: 0,
    drops: {},
    sent: {},
  }
  readonly #o: OverlayOptions
  readonly #random: () => number
  readonly #bootstrap: readonly string[]
  readonly #links = new Map<LinkId, LinkEntry>()
  #nextLink = 1
  #placement: Placement = 'unjoined'
  #rooted = false
  #address: Address | undefined
  #tree: TreeId | undefined
  #ancestors: string[] = []
  #tables: number[][] = []
  #grandparent: Contact | undefined
  #siblings: SlotContact[] = []
  #parent: LinkId | undefined
  readonly #slots = new TreeSlots()
  #router: GreedyRouter<LinkId> | undefined
  #routerDirty = true
  readonly #known = new Map<string, string | undefined>()
  /** When a root without links next dials its known members (LONELY_DIAL_MIN_MS). */
  #lonelyDialAtMs: number | undefined
  #lonelyBackoffMs = LONELY_DIAL_MIN_MS
  readonly #join: JoinCandidates
  #lastReport: { size: number; minFree: number } | undefined
  #reportAtMs: number | undefined
  #lastReportSentMs = Number.NEGATIVE_INFINITY
  #childUpdate: ChildUpdate = 'none'
  #lastPlaceSentMs = Number.NEGATIVE_INFINITY
  #lastTablePushMs = Number.NEGATIVE_INFINITY
  readonly #shortcutTried = new Map<string, number>()
  readonly #pings = new Map<number, PendingPing>()
  readonly #merge = new MergeWatch()
  /** This root is re-joining into a winning tree (tree-merge.ts); it reverts if nobody takes it. */
  #merging = false
  #orphanedAtMs = 0
  #nextPing = 1
  #actions: OverlayAction[] = []
  #events: OverlayEvent[] = []

  constructor(init: OverlayNodeInit) {
    this.#o = resolveOverlayOptions(init)
    this.name = init.name
    this.#endpoint = init.endpoint
    this.#random = init.random ?? Math.random
    this.#bootstrap = [...init.bootstrap]
    for (const e of this.#bootstrap) this.#remember(e, undefined)
    this.#join = new JoinCandidates(this.#o, (link) => this.#dropJoinDial(link))
  }

  // ---- public view ----

  get placement(): Placement {
    return this.#placement
  }
  get address(): Address | undefined {
    return this.#address
  }
  /** Whether this node's path to the root is known intact (false while an ancestor re-joins). */
  get rooted(): boolean {
    return this.#rooted
  }
  get tree(): TreeId | undefined {
    return this.#tree
  }
  get isRoot(): boolean {
    return this.#address?.isRoot === true && this.#placement === 'placed'
  }
  get parentName(): string | undefined {
    return this.#parent === undefined ? undefined : this.#links.get(this.#parent)?.name
  }
  /** This node's child subtree sizes per slot (0 where empty): the table the DHT walks. */
  ownTable(): { readonly address: Address; readonly childSizes: number[] } | undefined {
    return this.#address && { address: this.#address, childSizes: this.#slots.table() }
  }
  /** The ancestors' tables, root first (depth entries), as last pushed by the parent. */
  ancestorTables(): readonly (readonly number[])[] {
    return this.#tables
  }
  links(): LinkView[] {
    return [...this.#links.values()].map((l) => ({
      link: l.id,
      name: l.name,
      endpoint: l.endpoint,
      address: l.address,
      role: l.role,
      open: l.open,
    }))
  }
  subtreeSize(): number {
    return this.#slots.subtreeSize()
  }

  // ---- lifecycle ----

  /** Starts: joins through the bootstrap members, or founds a new overlay without any. */
  start(nowMs: number): void {
    if (this.#placement !== 'unjoined') return
    if (this.#bootstrap.length === 0) {
      this.#become(Address.root(this.#o.q), { root: this.name, epoch: 0 }, 'joined', nowMs)
      this.#ancestors = []
      this.#tables = []
      return
    }
    this.#placement = 'joining'
    this.#startJoin(false, nowMs)
  }

  /** Leaves gracefully: tells every neighbour, closes every link. Idempotent. */
  leave(_nowMs: number): void {
    if (this.#placement === 'left') return
    for (const l of this.#links.values()) {
      if (l.open) this.#send(l.id, { type: 'leave' })
      this.#actions.push({ type: 'close', link: l.id })
    }
    this.#links.clear()
    const previous = this.#address
    this.#placement = 'left'
    this.#address = undefined
    this.#join.stop()
    this.#event({ type: 'address', address: undefined, previous, tree: this.#tree, reason: 'left' })
  }

  // ---- driver inputs ----

  /**
   * The network came back or changed (the driver saw its addresses change; a
   * test moved the node): a node waiting to (re-)join tries again at once,
   * through `contacts` first, instead of waiting out its back-off.
   */
  networkChanged(nowMs: number, contacts: readonly string[] = []): void {
    for (const e of contacts) this.#remember(e, undefined)
    if (this.#placement === 'placed') {
      // A root alone looks for the rest of its overlay at once (contacts first).
      this.#lonelyBackoffMs = LONELY_DIAL_MIN_MS
      this.#lonelyDialAtMs = nowMs
      this.#dialIfLonely(nowMs, contacts)
      return
    }
    if (this.#placement !== 'joining' && this.#placement !== 'orphan') return
    // A join request in flight on an open link goes on; a dial still pending was made
    // before the change (often to a stale endpoint, the next in an old round's queue):
    // the round starts over, the driver's contacts first.
    const pending = this.#join.attemptLink
    if (pending !== undefined && this.#links.get(pending)?.open) return
    const first = contacts.map((endpoint) => ({ name: undefined, endpoint, link: undefined }))
    this.#join.start([...first, ...this.#candidates(this.#placement === 'orphan')], 0)
    if (pending !== undefined) this.#dropJoinDial(pending)
    this.#nextJoinAttempt(nowMs)
  }

  /** An inbound link completed its handshake with `peerName`; returns its id. */
  linkAccepted(peerName: string, _nowMs: number): LinkId {
    const id = this.#nextLink++
    const entry = this.#newEntry(id, undefined, 'peer')
    if (this.#links.size >= this.#o.maxLinks || peerName === this.name) {
      this.#count('link-refused')
      this.#actions.push({ type: 'close', link: id })
      return id
    }
    this.#links.set(id, entry)
    this.#onOpen(entry, peerName)
    return id
  }

  /** A link this node dialed is open. */
  linkUp(link: LinkId, peerName: string, _nowMs: number): void {
    const entry = this.#links.get(link)
    if (entry === undefined || entry.open) return
    if (peerName === this.name) {
      this.#closeLink(entry)
      return
    }
    this.#onOpen(entry, peerName)
  }

  /** A link closed or a dial failed. `graceful` when the peer closed it on purpose. */
  linkDown(link: LinkId, nowMs: number): void {
    const entry = this.#links.get(link)
    if (entry === undefined) return
    this.#links.delete(link)
    this.#routerDirty = true
    if (entry.name !== undefined && entry.role === 'shortcut' && !entry.open) {
      this.#shortcutTried.set(entry.name, nowMs)
    }
    this.#afterLinkGone(entry, false, nowMs)
  }

  /**
   * One message from an open link; `sealedTail` as the link delivered it (see the
   * `send` action), carried on when the message is forwarded. `borrowed`: the bytes are
   * the link's memory, valid only during this call (a bulk session record gathered
   * across socket reads): whatever outlives it is copied — a message passed on, one for
   * another protocol than sessions, one for the overlay itself. Session records are
   * taken at once (the session layer copies what it keeps).
   */
  receive(link: LinkId, bytes: Uint8Array, nowMs: number, sealedTail = 0, borrowed = false): void {
    const entry = this.#links.get(link)
    if (entry === undefined || !entry.open) return
    // The one kind a borrowed buffer is delivered in without a copy: session records.
    if (borrowed && peekRoutedProto(bytes) !== PROTO.session) {
      this.receive(link, Uint8Array.from(bytes), nowMs, sealedTail, false)
      return
    }
    const decoded = decodeMessage(bytes)
    if (!decoded.ok) {
      this.#protocolError(entry, `${decoded.code}: ${decoded.detail}`, nowMs)
      return
    }
    const m = decoded.value
    if (m.type !== 'routed') {
      this.#onNeighbourMessage(entry, m, nowMs)
      return
    }
    // The routed header stays encrypted on every link: a tail reaches into the payload only.
    const tail = Math.min(sealedTail, m.payload.length)
    const split = bytes.length - tail
    const parts = tail === 0 ? [] : [bytes.subarray(split)]
    this.#onRouted(entry, m, bytes.subarray(0, split), nowMs, parts, undefined, borrowed)
  }

  tick(nowMs: number): void {
    this.#checkMerge(nowMs)
    this.#dialIfLonely(nowMs)
    const join = this.#join.tick(nowMs)
    if (join === 'timeout') {
      this.#debug('join: no answer in time')
      this.#abandonJoinAttempt(nowMs)
    }
    if (join === 'stagger') {
      this.#debug('join: a dial is slow; the next member is dialed beside it')
      this.#join.stagger()
      this.#nextJoinAttempt(nowMs)
    }
    if (join === 'retry') this.#retryJoin(nowMs)
    if (this.#slots.expire(nowMs)) this.#onSubtreeChanged(nowMs)
    if (this.#reportAtMs !== undefined && nowMs >= this.#reportAtMs) this.#sendReport(nowMs)
    this.#flushChildren(nowMs)
    for (const [id, p] of this.#pings) {
      if (nowMs >= p.deadlineMs) {
        this.#pings.delete(id)
        this.#event({
          type: 'pong',
          id,
          ok: false,
          reason: 'timeout',
          hops: 0,
          rttMs: nowMs - p.sentMs,
        })
      }
    }
  }

  nextDeadlineMs(): number | undefined {
    let next = this.#join.nextDeadlineMs()
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    consider(this.#slots.nextQuarantineEndMs())
    consider(this.#merge.nextDeadlineMs())
    consider(this.#lonelyDialAtMs)
    consider(this.#reportAtMs)
    consider(this.#childUpdateDueMs())
    for (const p of this.#pings.values()) consider(p.deadlineMs)
    return next
  }

  takeActions(): OverlayAction[] {
    const out = this.#actions
    this.#actions = []
    return out
  }

  takeEvents(): OverlayEvent[] {
    const out = this.#events
    this.#events = []
    return out
  }

  /** The "host:port" this node's hellos tell peers to dial it at. */
  get endpoint(): string {
    return this.#endpoint
  }

  /**
   * The host's address changed (it moved; it listens on every address): hellos advertise
   * `endpoint` from now on, and the open links hear it at once (a link dialled in the
   * moment between the move and this call told its peer the old one).
   */
  setEndpoint(endpoint: string): void {
    if (endpoint === this.#endpoint) return
    this.#endpoint = endpoint
    for (const l of this.#links.values()) if (l.open) this.#sendHello(l)
  }

  // ---- sending ----

  /**
   * Sends `payload` toward `dest` for protocol `proto`. With `anycast`, the
   * node where no neighbour is closer takes it (DHT keys). Failures come back
   * as `undeliverable` events (at once, or from the node where routing stopped).
   * `tail`: what follows `payload`, ciphertext sealed end to end already, in parts (the
   * links carry them as they are, without encrypting or copying them again).
   */
  route(
    dest: Address,
    proto: number,
    payload: Uint8Array,
    nowMs: number,
    anycast = false,
    tail: readonly Uint8Array[] = [],
  ): void {
    if (this.#address === undefined || this.#placement === 'left') {
      this.#event({ type: 'undeliverable', proto, dest, reason: 'not-joined', payload })
      return
    }
    const m: RoutedMessage = {
      type: 'routed',
      flags: anycast ? ROUTED_FLAG.anycast : 0,
      hops: 0,
      maxHops: this.#o.maxHops,
      proto,
      dest,
      src: this.#address,
      payload,
    }
    this.#onRouted(undefined, m, encodeMessage(m), nowMs, tail, payload)
  }

  /** Overlay echo to the node named `name` at `dest`; the answer is a `pong` event with this id. */
  ping(dest: Address, name: string, nowMs: number): number {
    const id = this.#nextPing++
    this.#pings.set(id, { sentMs: nowMs, deadlineMs: nowMs + this.#o.pingTimeoutMs })
    this.route(dest, PROTO.echo, encodeEcho({ kind: 'request', id, name }), nowMs)
    return id
  }

  // ---- links ----

  #newEntry(id: LinkId, endpoint: string | undefined, role: LinkRole): LinkEntry {
    return { id, open: false, name: undefined, endpoint, address: undefined, tree: undefined, role }
  }

  #dial(endpoint: string, role: LinkRole, name?: string): LinkEntry {
    const id = this.#nextLink++
    const entry = this.#newEntry(id, endpoint, role)
    entry.name = name
    this.#links.set(id, entry)
    this.#actions.push({ type: 'dial', link: id, endpoint })
    return entry
  }

  #onOpen(entry: LinkEntry, peerName: string): void {
    entry.open = true
    entry.name = peerName
    this.#sendHello(entry)
    if (this.#join.opened(entry.id)) this.#sendJoinRequest(entry)
  }

  #sendHello(entry: LinkEntry): void {
    const placed = this.#placement === 'placed' || this.#placement === 'orphan'
    this.#send(entry.id, {
      type: 'hello',
      endpoint: this.endpoint,
      address: placed ? this.#address : undefined,
      tree: placed ? this.#tree : undefined,
    })
  }

  #closeLink(entry: LinkEntry): void {
    this.#links.delete(entry.id)
    this.#routerDirty = true
    this.#actions.push({ type: 'close', link: entry.id })
  }

  #afterLinkGone(entry: LinkEntry, graceful: boolean, nowMs: number): void {
    if (this.#join.isAttempt(entry.id)) this.#abandonJoinAttempt(nowMs)
    else this.#join.forgetRacer(entry.id)
    if (entry.id === this.#parent) {
      this.#parent = undefined
      this.#orphaned(nowMs)
    } else if (entry.role === 'child') {
      const until = graceful ? undefined : nowMs + this.#o.quarantineMs
      if (this.#slots.release(entry.id, until) !== undefined) this.#onSubtreeChanged(nowMs)
    }
  }

  /** An authenticated peer that speaks nonsense is cut off: counted, link closed. */
  #protocolError(entry: LinkEntry, detail: string, nowMs: number): void {
    this.#count('bad-message')
    this.#event({ type: 'protocol-error', link: entry.id, detail })
    this.#closeLink(entry)
    this.#afterLinkGone(entry, false, nowMs)
  }

  #send(link: LinkId, m: OverlayMessage): void {
    this.stats.sent[m.type] = (this.stats.sent[m.type] ?? 0) + 1
    this.#actions.push({ type: 'send', link, bytes: encodeMessage(m), datagram: false })
  }

  #debug(msg: string): void {
    this.#event({ type: 'log', level: 'debug', msg })
  }

  #count(reason: string): void {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1
  }

  #event(e: OverlayEvent): void {
    this.#events.push(e)
  }

  #remember(endpoint: string | undefined, name: string | undefined): void {
    if (endpoint === undefined || endpoint === this.endpoint || name === this.name) return
    this.#known.delete(endpoint)
    this.#known.set(endpoint, name)
    if (this.#known.size > MAX_KNOWN_MEMBERS) {
      const oldest = this.#known.keys().next()
      if (!oldest.done) this.#known.delete(oldest.value)
    }
  }

  // ---- neighbour messages ----

  #onNeighbourMessage(entry: LinkEntry, m: OverlayMessage, nowMs: number): void {
    switch (m.type) {
      case 'hello':
        entry.endpoint = m.endpoint
        entry.address = m.address
        entry.tree = m.tree
        this.#remember(m.endpoint, entry.name)
        this.#routerDirty = true
        this.#checkMerge(nowMs)
        this.#joinThroughNewcomer(entry, m.address !== undefined, nowMs)
        return
      case 'join-request':
        this.#onJoinRequest(entry, m, nowMs)
        return
      case 'join-accept':
        if (!this.#join.isAttempt(entry.id)) {
          this.#count('unexpected-accept')
          return
        }
        this.#onAccepted(entry, m.address, m.tree, nowMs)
        return
      case 'join-redirect':
        if (!this.#join.isAttempt(entry.id)) {
          this.#count('unexpected-redirect')
          return
        }
        for (const c of m.contacts) this.#remember(c.endpoint, c.name)
        this.#debug(`join: ${entry.endpoint} redirects to ${m.contacts.map((c) => c.endpoint)}`)
        this.#join.redirect(m.contacts, m.climb)
        this.#abandonJoinAttempt(nowMs)
        return
      case 'join-refuse':
        if (!this.#join.isAttempt(entry.id)) {
          this.#count('unexpected-refuse')
          return
        }
        this.#debug(`join: ${entry.endpoint} refuses (${m.reason})`)
        this.#join.refused(this.#lowerSiblings().some((s) => s.name === entry.name))
        this.#abandonJoinAttempt(nowMs)
        return
      case 'place':
        if (entry.id !== this.#parent) {
          this.#count('place-not-from-parent')
          return
        }
        this.#onPlace(entry, m, nowMs)
        return
      case 'report':
        if (entry.role !== 'child') {
          this.#count('report-not-from-child')
          return
        }
        if (this.#slots.report(entry.id, m.size, m.minFree)) this.#onSubtreeChanged(nowMs)
        return
      case 'leave':
        this.#links.delete(entry.id)
        this.#routerDirty = true
        this.#actions.push({ type: 'close', link: entry.id })
        if (entry.id === this.#parent) {
          this.#parent = undefined
          this.#orphaned(nowMs)
        } else {
          this.#afterLinkGone(entry, true, nowMs)
        }
        return
      case 'detach':
        if (entry.id !== this.#parent) {
          this.#count('detach-not-from-parent')
          return
        }
        if (this.#rooted) {
          this.#rooted = false
          this.#broadcastChildren({ type: 'detach' })
        }
        return
      case 'routed':
        return
    }
  }

  // ---- joining (as the joiner) ----

  #startJoin(rejoin: boolean, nowMs: number): void {
    this.#join.start(this.#candidates(rejoin), rejoin ? 0 : this.#o.joinClimb)
    this.#nextJoinAttempt(nowMs)
  }

  #retryJoin(nowMs: number): void {
    if (this.#placement !== 'joining' && this.#placement !== 'orphan') return
    if (this.#placement === 'orphan' && this.#tryPromote(nowMs)) return
    this.#join.refill(this.#candidates(this.#placement === 'orphan'))
    this.#nextJoinAttempt(nowMs)
  }

  /** Who to ask for a slot: for an orphan, kin first (siblings in slot order), then anyone. */
  #candidates(rejoin: boolean): Candidate[] {
    const out: Candidate[] = []
    const byName = (name: string, endpoint: string): Candidate => {
      const link = [...this.#links.values()].find((l) => l.open && l.name === name)
      return { name, endpoint, link: link?.id }
    }
    if (rejoin) {
      if (this.#address?.depth === 1) {
        // The dead root's children: only the lower slots, lowest first; none left → promote.
        const lower = this.#lowerSiblings()
          .sort((a, b) => a.slot - b.slot)
          .map((s) => byName(s.name, s.endpoint))
        // Alone, it is more likely this node's network that went (a flap whose first
        // dials met a stale ARP entry) than the root: while it waits before promoting
        // itself it asks everyone it knows too. Members cut off from the root refuse (busy).
        if (this.#hasOpenLink()) return lower
        out.push(...lower)
      }
      if (this.#grandparent) out.push(byName(this.#grandparent.name, this.#grandparent.endpoint))
      for (const s of this.#siblings) if (s.name !== this.name) out.push(byName(s.name, s.endpoint))
      for (const l of this.#links.values()) {
        const inSubtree = this.#address && l.address && this.#address.isAncestorOf(l.address)
        if (l.open && l.name && l.endpoint && !inSubtree && l.id !== this.#parent)
          out.push({ name: l.name, endpoint: l.endpoint, link: l.id })
      }
    }
    const boot = [...this.#bootstrap]
    for (let i = boot.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1))
      ;[boot[i], boot[j]] = [boot[j] as string, boot[i] as string]
    }
    for (const e of boot) out.push({ name: undefined, endpoint: e, link: undefined })
    if (rejoin) {
      for (const [e, n] of this.#known) out.push({ name: n, endpoint: e, link: undefined })
    }
    return out
  }

  #nextJoinAttempt(nowMs: number): void {
    for (;;) {
      const c = this.#join.next(nowMs)
      if (c === undefined) return
      if (c.name === this.name || c.endpoint === this.endpoint) continue
      const open = c.link === undefined ? undefined : this.#links.get(c.link)
      if (open?.open) {
        this.#debug(`join: asking ${c.endpoint} over its open link`)
        this.#join.attempting(open.id, false, nowMs)
        this.#sendJoinRequest(open)
        return
      }
      this.#debug(`join: dialing ${c.endpoint}`)
      const entry = this.#dial(c.endpoint, 'join', c.name)
      this.#join.attempting(entry.id, true, nowMs)
      return
    }
  }

  #sendJoinRequest(entry: LinkEntry): void {
    const rejoin = this.#placement === 'orphan'
    this.#send(entry.id, {
      type: 'join-request',
      rejoin,
      climb: this.#join.climb,
      avoid: rejoin ? this.#address : undefined,
    })
  }

  /**
   * A node waiting out its join back-off tries at once through a member that has just
   * linked to it (a peer that came back after an outage dials its known members).
   */
  #joinThroughNewcomer(entry: LinkEntry, placed: boolean, nowMs: number): void {
    const waiting = this.#placement === 'orphan' || this.#placement === 'joining'
    if (!waiting || !placed || this.#join.attemptLink !== undefined || !entry.name) return
    const first = { name: entry.name, endpoint: entry.endpoint as string, link: entry.id }
    this.#join.start([first, ...this.#candidates(this.#placement === 'orphan')], 0)
    this.#nextJoinAttempt(nowMs)
  }

  /** Closes a join's dial that lost its race or outlived its join. */
  #dropJoinDial(link: LinkId): void {
    const entry = this.#links.get(link)
    if (entry?.role === 'join') this.#closeLink(entry)
  }

  /** Drops the current attempt (its link if it was dialed for it) and tries the next member. */
  #abandonJoinAttempt(nowMs: number): void {
    const attempt = this.#join.clear()
    if (attempt?.dialed) this.#dropJoinDial(attempt.link)
    if (this.#placement === 'orphan' && this.#join.exhausted()) {
      if (this.#merging) {
        this.#revertMerge(nowMs)
        return
      }
      if (this.#tryPromote(nowMs)) return
    }
    this.#nextJoinAttempt(nowMs)
  }

  /** For a child of the root, the siblings in lower slots than its own; else none. */
  #lowerSiblings(): SlotContact[] {
    if (this.#address?.depth !== 1) return []
    const mine = this.#address.slots[0] as number
    return this.#siblings.filter((s) => s.slot < mine)
  }

  /** A child of the dead root whose lower siblings are all unreachable becomes the root. */
  #tryPromote(nowMs: number): boolean {
    if (this.#address?.depth !== 1 || !this.#join.exhausted() || this.#join.heardFromLower)
      return false
    // Cut off from everyone, it waits: the network is more likely gone than the root.
    if (!this.#hasOpenLink() && nowMs - this.#orphanedAtMs < LONELY_PROMOTE_AFTER_MS) return false
    const previous = this.#tree
    const epoch = (previous?.epoch ?? 0) + 1
    this.#join.stop()
    this.#slots.resize(this.#o.q)
    // Cleared before #become, which pushes them to the children at once.
    this.#ancestors = []
    this.#tables = []
    this.#grandparent = undefined
    this.#become(Address.root(this.#o.q), { root: this.name, epoch }, 'promoted', nowMs)
    return true
  }

  #onAccepted(entry: LinkEntry, address: Address, tree: TreeId, nowMs: number): void {
    const rejoin = this.#placement === 'orphan'
    this.#merging = false
    this.#join.stop()
    entry.role = 'parent'
    this.#parent = entry.id
    if (rejoin) this.stats.rejoins++
    else this.stats.joins++
    if (!rejoin) this.#slots.reset(address.childSlots)
    else this.#fitSlots(address.childSlots)
    // The old ancestry is wrong at the new address; children hear nothing until the
    // parent's place brings the right one (#readyToPlace).
    this.#ancestors = []
    this.#tables = []
    this.#become(address, tree, rejoin ? 'rejoined' : 'joined', nowMs)
  }

  /** Keeps the children that still fit a new slot count; the others must re-join. */
  #fitSlots(count: number): void {
    for (const [slot, s] of this.#slots.held()) {
      if (slot >= count) {
        const child = this.#links.get(s.link)
        if (child) this.#closeLink(child)
      }
    }
    this.#slots.resize(count)
  }

  /** Takes a new address/tree, tells neighbours and children, reports up. */
  #become(
    address: Address,
    tree: TreeId,
    reason: 'joined' | 'rejoined' | 'readdressed' | 'promoted',
    nowMs: number,
  ): void {
    const previous = this.#address
    const changed =
      previous === undefined || !previous.equals(address) || !sameTree(tree, this.#tree)
    if (previous === undefined && this.#slots.count === 0) this.#slots.reset(address.childSlots)
    const wasRooted = this.#rooted
    this.#address = address
    this.#tree = tree
    this.#placement = 'placed'
    this.#rooted = true
    this.#router = undefined
    this.#routerDirty = true
    if (reason === 'readdressed') this.stats.readdressed++
    // A detached subtree waits for a place to be rooted again, even at the same address.
    if (!wasRooted) this.#markChildren('address')
    if (changed) {
      for (const l of this.#links.values()) if (l.open) this.#sendHello(l)
      this.#markChildren('address')
    }
    // A re-join is news even at the same address (its own slot, kept in quarantine):
    // the layers above resume what the outage suspended.
    if (changed || reason === 'rejoined') {
      this.#event({ type: 'address', address, previous, tree, reason })
    }
    this.#flushChildren(nowMs)
    this.#scheduleReport(nowMs)
  }

  // ---- joining (as the member) ----

  #onJoinRequest(
    entry: LinkEntry,
    m: Extract<OverlayMessage, { type: 'join-request' }>,
    nowMs: number,
  ): void {
    const refuse = (reason: 'busy' | 'inSubtree' | 'full'): void =>
      this.#send(entry.id, { type: 'join-refuse', reason })
    const address = this.#address
    const parent = this.#parent === undefined ? undefined : this.#links.get(this.#parent)
    if (this.#placement !== 'placed' || !this.#readyToPlace() || address === undefined) {
      // Still joining: send the joiner on to the member this node is asking.
      const via =
        this.#placement === 'joining' ? this.#links.get(this.#join.attemptLink ?? -1) : undefined
      if (!this.#redirect(entry, via, m.climb)) refuse('busy')
      return
    }
    // `avoid` names a subtree of the joiner's own tree: it means nothing in another one.
    const inAvoided = m.avoid?.isAncestorOf(address) && sameTree(entry.tree, this.#tree)
    if (entry.id === this.#parent || inAvoided) {
      refuse('inSubtree')
      return
    }
    if (m.climb > 0 && this.#redirect(entry, parent, m.climb - 1)) return
    const slot =
      this.#slots.slotOf(entry.id) ?? this.#slots.freeSlotFor(entry.name as string, nowMs)
    if (slot !== undefined) {
      this.#slots.hold(slot, entry.id, entry.name as string)
      entry.role = 'child'
      const tree = this.#tree as TreeId
      // Routable at once, not only after the child's hello: whatever is routed
      // to it follows the accept and the place on this link, so it arrives placed
      // (the DHT hands records over to a new child the moment it is accepted).
      entry.address = address.child(slot)
      entry.tree = tree
      this.#routerDirty = true
      this.#send(entry.id, { type: 'join-accept', address: entry.address, tree })
      this.#sendPlace(entry.id, slot)
      this.#onSubtreeChanged(nowMs)
      return
    }
    // Down toward the shallowest free slot; if this whole subtree is full, up the tree.
    const best = this.#slots.bestDescent(NO_FREE_SLOT)
    const down = best === undefined ? undefined : this.#links.get(best.link)
    if (!this.#redirect(entry, down, 0) && !this.#redirect(entry, parent, 0)) refuse('full')
  }

  /** Sends the joiner on to `to` (if it is a usable contact other than the joiner); whether it did. */
  #redirect(entry: LinkEntry, to: LinkEntry | undefined, climb: number): boolean {
    if (!to?.open || !to.name || !to.endpoint || to.name === entry.name) return false
    this.#send(entry.id, {
      type: 'join-redirect',
      climb,
      contacts: [{ name: to.name, endpoint: to.endpoint }],
    })
    return true
  }

  // ---- the tree: places down, reports up ----

  #onPlace(entry: LinkEntry, m: Extract<OverlayMessage, { type: 'place' }>, nowMs: number): void {
    if (m.ancestors.length !== m.address.depth || m.tables.length !== m.address.depth) {
      // The parent is authenticated and was placed: a bug, not an attack. Drop it, keep the link.
      this.#count('bad-place')
      return
    }
    if (m.ancestors.includes(this.name)) {
      // A cycle: this node is its own ancestor. Leave the parent and re-join.
      this.#count('place-cycle')
      this.#closeLink(entry)
      this.#parent = undefined
      this.#orphaned(nowMs)
      return
    }
    const tablesChanged =
      m.tables.length !== this.#tables.length ||
      m.tables.some((t, i) => !sameWeights(t, this.#tables[i] ?? []))
    const ancestorsChanged =
      m.ancestors.length !== this.#ancestors.length ||
      m.ancestors.some((n, i) => n !== this.#ancestors[i])
    this.#ancestors = m.ancestors
    this.#tables = m.tables
    this.#grandparent = m.grandparent
    this.#siblings = m.siblings
    for (const s of m.siblings) this.#remember(s.endpoint, s.name)
    if (m.grandparent) this.#remember(m.grandparent.endpoint, m.grandparent.name)
    const wasRooted = this.#rooted
    const moved = !this.#address?.equals(m.address) || !sameTree(m.tree, this.#tree)
    if (moved || !wasRooted || this.#placement !== 'placed') {
      this.#fitSlots(m.address.childSlots)
      this.#become(m.address, m.tree, this.#address ? 'readdressed' : 'joined', nowMs)
    }
    if (ancestorsChanged) this.#markChildren('address')
    if (tablesChanged) {
      this.#markChildren('tables')
      this.#event({ type: 'tables' })
    }
    this.#dialShortcuts(nowMs)
    this.#flushChildren(nowMs)
  }

  #orphaned(nowMs: number): void {
    if (this.#placement === 'left') return
    this.#orphanedAtMs = nowMs
    this.#placement = 'orphan'
    this.#rooted = false
    this.#routerDirty = true
    this.#broadcastChildren({ type: 'detach' })
    this.#event({
      type: 'address',
      address: this.#address,
      previous: this.#address,
      tree: this.#tree,
      reason: 'orphaned',
    })
    if (!this.#tryPromoteNow(nowMs)) this.#startJoin(true, nowMs)
  }

  /**
   * Whether any link is still open: a node that lost every link at once was cut
   * off itself (a pulled cable, a closed laptop) and must not crown itself root.
   */
  #hasOpenLink(): boolean {
    for (const l of this.#links.values()) if (l.open) return true
    return false
  }

  #tryPromoteNow(nowMs: number): boolean {
    if (this.#address?.depth !== 1) return false
    const mine = this.#address.slots[0] as number
    if (this.#siblings.some((s) => s.slot < mine)) return false
    this.#join.start([], 0)
    return this.#tryPromote(nowMs)
  }

  /** Own subtree changed (a child came, went or reported): report up, update children. */
  #onSubtreeChanged(nowMs: number): void {
    this.#scheduleReport(nowMs)
    this.#markChildren('siblings')
    this.#event({ type: 'tables' })
  }

  #scheduleReport(nowMs: number): void {
    if (this.#parent === undefined) return
    this.#reportAtMs = Math.max(nowMs, this.#lastReportSentMs + this.#o.updateIntervalMs)
  }

  #sendReport(nowMs: number): void {
    this.#reportAtMs = undefined
    if (this.#parent === undefined) return
    const report = {
      size: this.#slots.subtreeSize(),
      minFree: this.#slots.minFree(nowMs, NO_FREE_SLOT),
    }
    const last = this.#lastReport
    if (last && last.size === report.size && last.minFree === report.minFree) return
    this.#lastReport = report
    this.#lastReportSentMs = nowMs
    this.#send(this.#parent, { type: 'report', ...report })
  }

  #markChildren(update: ChildUpdate): void {
    const rank: Record<ChildUpdate, number> = { none: 0, siblings: 1, tables: 2, address: 3 }
    if (rank[update] > rank[this.#childUpdate]) this.#childUpdate = update
  }

  /** Whether this node can tell its children where they are: rooted, and its ancestry known. */
  #readyToPlace(): boolean {
    const depth = this.#address?.depth
    return this.#rooted && this.#tables.length === depth && this.#ancestors.length === depth
  }

  #childUpdateDueMs(): number | undefined {
    if (!this.#readyToPlace()) return undefined
    switch (this.#childUpdate) {
      case 'none':
        return undefined
      case 'address':
        return this.#lastPlaceSentMs // at once
      case 'siblings':
        return this.#lastPlaceSentMs + this.#o.updateIntervalMs
      case 'tables':
        return Math.max(
          this.#lastPlaceSentMs + this.#o.updateIntervalMs,
          this.#lastTablePushMs + TABLE_PUSH_INTERVAL_MS,
        )
    }
  }

  #flushChildren(nowMs: number): void {
    const due = this.#childUpdateDueMs()
    if (due === undefined || nowMs < due || this.#address === undefined) return
    if (this.#childUpdate !== 'siblings') this.#lastTablePushMs = nowMs
    this.#childUpdate = 'none'
    this.#lastPlaceSentMs = nowMs
    for (const [slot, s] of this.#slots.held()) this.#sendPlace(s.link, slot)
  }

  #sendPlace(link: LinkId, slot: number): void {
    const address = this.#address as Address
    const parent = this.#parent === undefined ? undefined : this.#links.get(this.#parent)
    const siblings: SlotContact[] = []
    for (const [s, held] of this.#slots.held()) {
      const l = this.#links.get(held.link)
      if (l?.endpoint && s !== slot)
        siblings.push({ slot: s, name: held.name, endpoint: l.endpoint })
    }
    this.#send(link, {
      type: 'place',
      address: address.child(slot),
      tree: this.#tree as TreeId,
      ancestors: [...this.#ancestors, this.name],
      tables: [...this.#tables, this.#slots.table()],
      grandparent:
        parent?.name && parent.endpoint
          ? { name: parent.name, endpoint: parent.endpoint }
          : undefined,
      siblings,
    })
  }

  #broadcastChildren(m: OverlayMessage): void {
    for (const [, s] of this.#slots.held()) this.#send(s.link, m)
  }

  #dialShortcuts(nowMs: number): void {
    const linked = new Set<string>()
    let shortcuts = 0
    for (const l of this.#links.values()) {
      if (l.name) linked.add(l.name)
      if (l.role === 'shortcut') shortcuts++
    }
    const wanted: Contact[] = [...(this.#grandparent ? [this.#grandparent] : []), ...this.#siblings]
    for (const c of wanted) {
      if (shortcuts >= this.#o.maxShortcuts) return
      if (c.name === this.name || linked.has(c.name)) continue
      const tried = this.#shortcutTried.get(c.name)
      if (tried !== undefined && nowMs - tried < SHORTCUT_RETRY_MS) continue
      // One side dials: the smaller name, so that two siblings do not dial each other.
      if (this.#siblings.some((s) => s.name === c.name) && c.name < this.name) continue
      this.#shortcutTried.set(c.name, nowMs)
      this.#dial(c.endpoint, 'shortcut', c.name)
      linked.add(c.name)
      shortcuts++
    }
  }

  // ---- healing a split (tree-merge.ts) ----

  #checkMerge(nowMs: number): void {
    const mine = this.#tree
    if (mine === undefined || this.#placement !== 'placed' || this.#merging) return
    const winner = [...this.#links.values()].find(
      (l) => l.open && l.tree && l.name && l.endpoint && l.address && treeWins(l.tree, mine),
    )
    // A root with no children has no tree to disturb, and nothing of a re-rooting in
    // progress to mistake for a split: it merges at once.
    const alone = this.isRoot && [...this.#slots.held()].length === 0
    const act = alone ? winner !== undefined : this.#merge.observe(winner !== undefined, nowMs)
    if (!act || winner === undefined) return
    const contact = { name: winner.name as string, endpoint: winner.endpoint as string }
    this.#debug(`merge: tree of ${contact.endpoint} wins over ours`)
    if (this.isRoot) this.#startMerge(contact, nowMs)
    else
      this.route(
        this.#address?.ancestor(0) as Address,
        PROTO.merge,
        encodeMergeHint(contact),
        nowMs,
      )
  }

  /**
   * A placed root with no open link dials up to LONELY_DIALS_PER_ROUND known members
   * (`first` before the others) when its back-off is due; with a link it stands down.
   */
  #dialIfLonely(nowMs: number, first: readonly string[] = []): void {
    const lonely = this.#placement === 'placed' && this.isRoot && !this.#hasOpenLink()
    if (!lonely || this.#known.size === 0) {
      this.#lonelyDialAtMs = undefined
      this.#lonelyBackoffMs = LONELY_DIAL_MIN_MS
      return
    }
    if (this.#lonelyDialAtMs === undefined) {
      this.#lonelyDialAtMs = nowMs + this.#lonelyBackoffMs
      return
    }
    if (nowMs < this.#lonelyDialAtMs) return
    const dialing = new Set([...this.#links.values()].map((l) => l.endpoint))
    const endpoints = [...new Set([...first, ...[...this.#known.keys()].reverse()])]
    let dialed = 0
    for (const endpoint of endpoints) {
      if (dialed >= LONELY_DIALS_PER_ROUND) break
      if (dialing.has(endpoint) || endpoint === this.endpoint) continue
      this.#dial(endpoint, 'peer', this.#known.get(endpoint))
      dialed++
    }
    this.#lonelyDialAtMs = nowMs + this.#lonelyBackoffMs
    this.#lonelyBackoffMs = Math.min(LONELY_DIAL_MAX_MS, this.#lonelyBackoffMs * 2)
  }

  /** This root re-joins through a member of the winning tree; its tree follows it. */
  #startMerge(contact: Contact, nowMs: number): void {
    this.#merging = true
    this.#placement = 'orphan'
    this.#rooted = false
    this.#broadcastChildren({ type: 'detach' })
    const link = [...this.#links.values()].find((l) => l.open && l.name === contact.name)
    this.#join.start([{ ...contact, link: link?.id }], 0)
    this.#nextJoinAttempt(nowMs)
  }

  /** Nobody of the winning tree took this root: it stays the root of its own tree. */
  #revertMerge(nowMs: number): void {
    this.#merging = false
    this.#join.stop()
    this.#become(this.#address as Address, this.#tree as TreeId, 'promoted', nowMs)
  }

  // ---- routing ----

  #routerFor(): GreedyRouter<LinkId> | undefined {
    const address = this.#address
    if (address === undefined) return undefined
    if (this.#router === undefined) this.#router = new GreedyRouter<LinkId>(address)
    if (this.#routerDirty) {
      const neighbours: Neighbour<LinkId>[] = []
      for (const l of this.#links.values()) {
        if (l.open && l.address && l.address.q === address.q && sameTree(l.tree, this.#tree)) {
          neighbours.push({ id: l.id, address: l.address })
        }
      }
      this.#router.setNeighbours(neighbours)
      this.#routerDirty = false
    }
    return this.#router
  }

  /**
   * A routed message to pass on or take: `bytes` its encoding up to where `tail` begins
   * (`m` decoded whole when it came from a link; `head`, when it starts here, is its
   * payload without the tail).
   */
  #onRouted(
    from: LinkEntry | undefined,
    m: RoutedMessage,
    bytes: Uint8Array,
    nowMs: number,
    tail: readonly Uint8Array[],
    head: Uint8Array | undefined,
    borrowed = false,
  ): void {
    const router = this.#routerFor()
    if (router === undefined || this.#address === undefined || m.dest.q !== this.#address.q) {
      this.#fail(m, 'not-joined', nowMs)
      return
    }
    if (m.hops >= m.maxHops) {
      this.#fail(m, 'hop-limit', nowMs)
      return
    }
    const decision = router.route(m.dest)
    switch (decision.kind) {
      case 'deliver':
        this.#deliver(whole(m, head, tail), false, nowMs)
        return
      case 'forward': {
        // hops counts links crossed, so a neighbour is 1 hop away.
        bytes[ROUTED_HOPS_OFFSET] = m.hops + 1
        if (from !== undefined) this.stats.forwarded++
        this.stats.sent.routed = (this.stats.sent.routed ?? 0) + 1
        // A borrowed message waits in the next link's queue: it needs memory of its own.
        const own = borrowed ? concatBytes([bytes, ...tail]) : undefined
        const send = own === undefined ? bytes : own.subarray(0, bytes.length)
        const rest = own === undefined ? tail : [own.subarray(bytes.length)]
        this.#actions.push({
          type: 'send',
          link: decision.next.id,
          bytes: send,
          datagram: true,
          tail: rest,
        })
        return
      }
      case 'no-progress':
        if (m.flags & ROUTED_FLAG.anycast) this.#deliver(whole(m, head, tail), true, nowMs)
        else this.#fail(m, 'no-route', nowMs)
        return
    }
  }

  /** Tells the source why `m` went no further (never for an error itself: no storms). */
  #fail(m: RoutedMessage, reason: Undeliverable, nowMs: number): void {
    this.stats.undeliverable++
    this.#count(`routed-${reason}`)
    if (m.proto === PROTO.control) return
    if (this.#address !== undefined && m.src.equals(this.#address)) {
      this.#undeliverable(m.proto, m.dest, reason, m.payload)
      return
    }
    if (this.#address === undefined) return
    const payload = encodeControlError({ reason, proto: m.proto, dest: m.dest, payload: m.payload })
    this.route(m.src, PROTO.control, payload, nowMs)
  }

  #undeliverable(proto: number, dest: Address, reason: Undeliverable, payload: Uint8Array): void {
    if (proto === PROTO.echo) {
      const echo = decodeEcho(payload)
      if (echo.ok && echo.value.kind === 'request' && this.#pings.delete(echo.value.id)) {
        this.#event({ type: 'pong', id: echo.value.id, ok: false, reason, hops: 0, rttMs: 0 })
      }
      return
    }
    this.#event({ type: 'undeliverable', proto, dest, reason, payload })
  }

  #deliver(m: RoutedMessage, atClosest: boolean, nowMs: number): void {
    this.stats.delivered++
    switch (m.proto) {
      case PROTO.control: {
        const e = decodeControlError(m.payload)
        if (!e.ok) {
          this.#count('bad-control')
          return
        }
        this.#undeliverable(e.value.proto, e.value.dest, e.value.reason, e.value.payload)
        return
      }
      case PROTO.echo:
        this.#onEcho(m, nowMs)
        return
      case PROTO.merge: {
        const hint = decodeMergeHint(m.payload)
        if (!hint.ok) {
          this.#count('bad-merge-hint')
          return
        }
        if (this.isRoot && !this.#merging) this.#startMerge(hint.value, nowMs)
        return
      }
      default:
        this.#event({
          type: 'deliver',
          proto: m.proto,
          src: m.src,
          dest: m.dest,
          hops: m.hops,
          atClosest,
          payload: m.payload,
        })
    }
  }

  #onEcho(m: RoutedMessage, nowMs: number): void {
    const echo = decodeEcho(m.payload)
    if (!echo.ok) {
      this.#count('bad-echo')
      return
    }
    const e = echo.value
    if (e.kind === 'request') {
      const kind = e.name === this.name ? 'reply' : 'wrong-node'
      this.route(m.src, PROTO.echo, encodeEcho({ kind, id: e.id, forwardHops: m.hops }), nowMs)
      return
    }
    const pending = this.#pings.get(e.id)
    if (pending === undefined) {
      this.#count('stray-pong')
      return
    }
    this.#pings.delete(e.id)
    this.#event({
      type: 'pong',
      id: e.id,
      ok: e.kind === 'reply',
      reason: e.kind === 'reply' ? undefined : 'wrong-node',
      hops: e.forwardHops,
      rttMs: nowMs - pending.sentMs,
    })
  }
}

export { OverlayError }

/** A message that starts here, with its tail joined on (delivered to this node itself: rare). */
function whole(
  m: RoutedMessage,
  head: Uint8Array | undefined,
  tail: readonly Uint8Array[],
): RoutedMessage {
  if (head === undefined || tail.length === 0) return m
  return { ...m, payload: concatBytes([head, ...tail]) }
}
