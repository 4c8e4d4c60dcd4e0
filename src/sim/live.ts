/**
 * The simulator's `node` engine: the real OverlayNode and DhtNode on the
 * in-memory SimNetwork, on virtual time, at thousands of nodes.
 *
 *   1. Growth: N hosts, each with a real identity, join in random order, each
 *      through a uniformly random host already started, `joinGapMs` apart;
 *      then the overlay settles until every host is placed.
 *   2. Static checks: pings between random pairs, and lookups of random names
 *      from random hosts with the lookup cache bypassed.
 *   3. Churn: a fraction of the non-root hosts die at once; every `stepMs` a
 *      fresh sample of pings and lookups among the survivors, until both
 *      succeed fully at two checkpoints in a row (or `capMs`).
 *
 * Messages are counted by a tap on every overlay (live-stack.ts), so that the
 * engine's probes are kept out of the growth and repair figures. Same config,
 * same result (wall-clock figures aside).
 */

import { Rng } from '../core/rng.ts'
import { DEFAULT_LIFETIME_MS } from '../dht/dht-node.ts'
import { identityFromSeed } from '../identity/keys.ts'
import { type ProbeBatch, Prober, type ProbeSummary, summarizeTally } from './live-probe.ts'
import { type LiveStack, stackHost } from './live-stack.ts'
import { sentTotals, type Traffic, TrafficTap, traffic } from './live-traffic.ts'
import { SimNetwork } from './network.ts'
import type { Progress } from './progress.ts'

export interface LiveConfig {
  readonly nodes: number
  readonly seed: number
  /** Overlay degree. */
  readonly q: number
  /** Pings in the static check. */
  readonly pairs: number
  /** Lookups in the static check. */
  readonly lookups: number
  /** Fraction of the nodes killed at once; 0 skips churn. */
  readonly churn: number
  /** Pings and lookups (each) at every churn checkpoint. */
  readonly probes: number
  /** Virtual time between churn checkpoints. */
  readonly stepMs: number
  /** Churn checkpoints stop this long after the kill even if not recovered. */
  readonly capMs: number
  /** Virtual time between two joins. */
  readonly joinGapMs: number
  /** Virtual time the overlay runs after every node is placed, before the checks (DHT re-publishes). */
  readonly settleMs: number
}

export const DEFAULT_LIVE_CONFIG: LiveConfig = {
  nodes: 10_000,
  seed: 1,
  q: 4,
  pairs: 2000,
  lookups: 2000,
  churn: 0.1,
  probes: 300,
  stepMs: 250,
  capMs: 60_000,
  joinGapMs: 5,
  settleMs: 3000,
}

export interface Checkpoint {
  /** Virtual ms after the kill. */
  readonly atMs: number
  readonly routing: ProbeSummary
  readonly lookups: ProbeSummary
  /** Survivors not placed at this moment. */
  readonly unplaced: number
}

export interface LiveResult {
  readonly engine: 'node'
  readonly config: LiveConfig
  readonly growth: {
    /** Virtual ms from the first start until every node was placed. */
    readonly placedAtMs: number
    readonly unplaced: number
    readonly maxDepth: number
    readonly meanDepth: number
    readonly traffic: Traffic
  }
  readonly static: { readonly routing: ProbeSummary; readonly lookups: ProbeSummary }
  readonly churn: LiveChurn | undefined
  readonly totalMs: number
  readonly peakRssBytes: number
}

export interface LiveChurn {
  readonly killed: number
  readonly survivors: number
  readonly timeline: readonly Checkpoint[]
  /** Virtual ms after the kill from which routing (lookups) stayed at 100%; undefined if never. */
  readonly routingRecoveredMs: number | undefined
  readonly lookupsRecoveredMs: number | undefined
  /** Virtual ms after the kill from which every survivor was placed; undefined if never. */
  readonly allPlacedMs: number | undefined
  /** Survivors whose address at recovery differs from the one before the kill. */
  readonly readdressed: number
  /** The static checks again, on survivors, once the timeline stopped (at `atMs` after the kill). */
  readonly afterRepair: {
    readonly atMs: number
    readonly routing: ProbeSummary
    readonly lookups: ProbeSummary
  }
  /**
   * The same once every publisher has refreshed its record (at `atMs` after the
   * kill): records lost with both their owner and its parent come back then.
   */
  readonly afterRefresh: {
    readonly atMs: number
    readonly routing: ProbeSummary
    readonly lookups: ProbeSummary
  }
  readonly unplacedAfter: number
  readonly maxDepthAfter: number
  readonly meanDepthAfter: number
  /** Messages from the kill until both recovered, per survivor. */
  readonly repair: Traffic
}

/** Runs the live engine with `config`. */
export function runLive(config: LiveConfig, progress: Progress): LiveResult {
  const started = performance.now()
  const net = new SimNetwork({ seed: config.seed })
  const rng = new Rng(config.seed ^ 0x6c697665)
  const prober = new Prober(net, new Rng(config.seed ^ 0x70726f62))
  const tap = new TrafficTap()
  const stacks = grow(net, rng, prober, tap, config, progress)
  const growth = {
    ...placement(stacks),
    placedAtMs: net.now,
    traffic: traffic(tap.snapshot(), {}, stacks.length, sentTotals(stacks)),
  }
  net.runFor(config.settleMs)
  progress.update('static checks')
  const batch = prober.issue(stacks, config.pairs, config.lookups)
  prober.finish(10_000)
  const stat = { routing: summarizeTally(batch.pings), lookups: summarizeTally(batch.lookups) }
  const churn =
    config.churn > 0 ? runChurn(net, rng, prober, tap, stacks, config, progress) : undefined
  progress.done()
  return {
    engine: 'node',
    config,
    growth,
    static: stat,
    churn,
    totalMs: performance.now() - started,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }
}

function grow(
  net: SimNetwork,
  rng: Rng,
  prober: Prober,
  tap: TrafficTap,
  config: LiveConfig,
  progress: Progress,
): LiveStack[] {
  const stacks: LiveStack[] = []
  for (let i = 0; i < config.nodes; i++) {
    const seed = new Uint8Array(32)
    for (let b = 0; b < 32; b++) seed[b] = rng.int(256)
    const identity = identityFromSeed(seed)
    const contact = i === 0 ? undefined : (stacks[rng.int(stacks.length)] as LiveStack).host
    const host = net.addHost({
      name: identity.name,
      bootstrap: contact === undefined ? [] : [contact.endpoint],
      q: config.q,
    })
    tap.attach(host)
    stacks.push(stackHost(host, identity, prober))
    net.start(host)
    net.runFor(config.joinGapMs)
    if (i % 100 === 0) progress.update('grow', i, config.nodes)
  }
  const deadline = net.now + config.capMs
  while (placement(stacks).unplaced > 0 && net.now < deadline) {
    progress.update(`settle: ${placement(stacks).unplaced} unplaced`)
    net.runFor(config.stepMs)
  }
  return stacks
}

/** Placement and depth over the live hosts. */
function placement(stacks: readonly LiveStack[]): {
  unplaced: number
  maxDepth: number
  meanDepth: number
} {
  let unplaced = 0
  let maxDepth = 0
  let sum = 0
  let placed = 0
  for (const s of stacks) {
    if (!s.host.alive) continue
    const a = s.host.overlay.address
    if (s.host.overlay.placement !== 'placed' || a === undefined) {
      unplaced++
      continue
    }
    placed++
    sum += a.depth
    maxDepth = Math.max(maxDepth, a.depth)
  }
  return { unplaced, maxDepth, meanDepth: placed === 0 ? Number.NaN : sum / placed }
}

function runChurn(
  net: SimNetwork,
  rng: Rng,
  prober: Prober,
  tap: TrafficTap,
  stacks: readonly LiveStack[],
  config: LiveConfig,
  progress: Progress,
): LiveChurn {
  const candidates = stacks.filter((s) => s.host.alive && !s.host.overlay.isRoot)
  const victims = rng.shuffle([...candidates]).slice(0, Math.round(config.churn * stacks.length))
  const before = new Map(stacks.map((s) => [s, s.host.overlay.address?.key]))
  const tapAtKill = tap.snapshot()
  const sentAtKill = sentTotals(stacks)
  const killedAt = net.now
  for (const v of victims) net.kill(v.host)
  const survivors = stacks.filter((s) => s.host.alive)
  const batches: ProbeBatch[] = []
  const unplaced: number[] = []
  const snapshots: { tap: Record<string, number>; sent: ReturnType<typeof sentTotals> }[] = []
  // Recovered: two checkpoints in a row fully successful, and every survivor placed.
  const recovered = (): boolean => {
    const last = batches.slice(-2)
    const placed = unplaced[unplaced.length - 1] === 0
    return placed && last.length === 2 && last.every((b) => b.pending === 0 && full(b))
  }
  while (!recovered() && net.now - killedAt <= config.capMs) {
    snapshots.push({ tap: tap.snapshot(), sent: sentTotals(stacks) })
    unplaced.push(placement(survivors).unplaced)
    batches.push(prober.issue(survivors, config.probes, config.probes))
    progress.update(`churn: ${((net.now - killedAt) / 1000).toFixed(2)} s after the kill`)
    net.runFor(config.stepMs)
  }
  const readdressed = survivors.filter((s) => s.host.overlay.address?.key !== before.get(s)).length
  const after = placement(survivors)
  const last = { tap: tap.snapshot(), sent: sentTotals(stacks) }
  prober.finish(10_000)
  /** Full-size checks among the survivors now, timed from the kill. */
  const fullCheck = (label: string) => {
    progress.update(`churn: checks ${label}`)
    const check = prober.issue(survivors, config.pairs, config.lookups)
    prober.finish(10_000)
    return {
      atMs: check.atMs - killedAt,
      routing: summarizeTally(check.pings),
      lookups: summarizeTally(check.lookups),
    }
  }
  const afterRepair = fullCheck('after repair')
  net.runFor(Math.max(0, killedAt + DEFAULT_LIFETIME_MS / 3 + 2000 - net.now))
  const afterRefresh = fullCheck('after a refresh period')
  const timeline = batches.map((b, i) => ({
    atMs: b.atMs - killedAt,
    routing: summarizeTally(b.pings),
    lookups: summarizeTally(b.lookups),
    unplaced: unplaced[i] as number,
  }))
  const since = (ok: (c: Checkpoint) => boolean): number | undefined => {
    let i = timeline.length
    while (i > 0 && ok(timeline[i - 1] as Checkpoint)) i--
    return i === timeline.length ? undefined : (timeline[i] as Checkpoint).atMs
  }
  const routingRecoveredMs = since((c) => c.routing.successRatio === 1)
  const lookupsRecoveredMs = since((c) => c.lookups.successRatio === 1)
  const allPlacedMs = since((c) => c.unplaced === 0)
  // Repair traffic: from the kill to the checkpoint at which both had recovered.
  const end = Math.max(
    routingRecoveredMs ?? Number.POSITIVE_INFINITY,
    lookupsRecoveredMs ?? Number.POSITIVE_INFINITY,
  )
  const endIndex = timeline.findIndex((c) => c.atMs === end)
  const endSnapshot = snapshots[endIndex] ?? last
  return {
    killed: victims.length,
    survivors: survivors.length,
    timeline,
    routingRecoveredMs,
    lookupsRecoveredMs,
    allPlacedMs,
    readdressed,
    afterRepair,
    afterRefresh,
    unplacedAfter: after.unplaced,
    maxDepthAfter: after.maxDepth,
    meanDepthAfter: after.meanDepth,
    repair: traffic(endSnapshot.tap, tapAtKill, survivors.length, endSnapshot.sent, sentAtKill),
  }
}

function full(b: ProbeBatch): boolean {
  return b.pings.ok === b.pings.sent && b.lookups.ok === b.lookups.sent
}
