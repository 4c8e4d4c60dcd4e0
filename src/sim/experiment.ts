/**
 * One simulator experiment: grow an overlay, measure greedy routing for each
 * shortcut policy, then DHT placement, then a mass failure with repair, DHT
 * handover and re-publication. Deterministic for a given configuration.
 */
import { Rng } from '../core/rng.ts'
import { DEFAULT_REPLICAS, type PlacementKind } from '../dht/placement.ts'
import { VirtualClock } from './clock.ts'
import { DhtModel, type GetReport, type LoadReport } from './dht.ts'
import { type AttachPolicy, SimOverlay } from './overlay.ts'
import type { Progress } from './progress.ts'
import {
  measureRouting,
  measureStretch,
  type RoutingReport,
  type StretchReport,
} from './routing.ts'
import { addShortcuts, type ShortcutPolicy } from './shortcuts.ts'

export interface ExperimentConfig {
  readonly nodes: number
  readonly seed: number
  readonly q: number
  readonly attach: AttachPolicy
  readonly nearClimb: number
  readonly shortcutPolicies: readonly ShortcutPolicy[]
  readonly shortcutsPerNode: number
  readonly maxDegree: number
  readonly pairs: number
  readonly stretchSources: number
  readonly stretchDestsPerSource: number
  readonly placements: readonly PlacementKind[]
  readonly keysPerNode: number
  readonly replicas: number
  readonly gets: number
  /** Fraction of nodes that fail at once (0 to skip churn). */
  readonly churn: number
  /** A link is declared dead after this long without traffic (virtual ms). */
  readonly keepaliveTimeoutMs: number
  /** Keepalive period: a failure is seen between timeout − period and timeout after it. */
  readonly keepaliveIntervalMs: number
  /** One overlay hop's latency (virtual ms). */
  readonly hopLatencyMs: number
  /** Pairs routed at each checkpoint of the repair timeline. */
  readonly timelinePairs: number
}

export const DEFAULT_CONFIG: ExperimentConfig = {
  nodes: 10_000,
  seed: 1,
  q: 4,
  attach: 'near',
  nearClimb: 3,
  shortcutPolicies: ['none', 'local'],
  shortcutsPerNode: 4,
  maxDegree: 8,
  pairs: 100_000,
  stretchSources: 50,
  stretchDestsPerSource: 20,
  placements: ['naive', 'balanced'],
  keysPerNode: 20,
  replicas: DEFAULT_REPLICAS,
  gets: 20_000,
  churn: 0.1,
  keepaliveTimeoutMs: 3000,
  keepaliveIntervalMs: 1000,
  hopLatencyMs: 20,
  timelinePairs: 2000,
}

export interface ShortcutResult {
  readonly policy: ShortcutPolicy
  readonly links: number
  readonly buildMs: number
  readonly routeMs: number
  readonly routing: RoutingReport
  readonly stretch: StretchReport
}

export interface PlacementResult {
  readonly placement: PlacementKind
  readonly publishMs: number
  readonly load: LoadReport
  readonly gets: GetReport
  readonly churn?: {
    readonly survivedRecords: number
    readonly lostRecords: number
    readonly movedRecords: number
    /** Gets right after handover, before publishers re-publish. */
    readonly getsAfterHandover: GetReport
    /** Gets once live publishers have re-published. */
    readonly getsAfterRepublish: GetReport
    readonly loadAfter: LoadReport
  }
}

export interface ExperimentResult {
  readonly config: ExperimentConfig
  readonly tree: { readonly maxDepth: number; readonly meanDepth: number }
  readonly shortcuts: readonly ShortcutResult[]
  readonly placements: readonly PlacementResult[]
  readonly churn?: {
    readonly failed: number
    readonly rootFailed: boolean
    readonly orphans: number
    readonly readdressed: number
    /** Virtual time from the failure until the last orphaned subtree re-joined. */
    readonly repairedAtMs: number
    /** Greedy success between random live nodes at checkpoints of virtual time. */
    readonly timeline: readonly { readonly atMs: number; readonly successRatio: number }[]
    readonly routingAfter: RoutingReport
    readonly maxDepthAfter: number
  }
  /** Peak resident memory of the whole process so far. */
  readonly peakRssBytes: number
  readonly totalMs: number
}

/** Grows the overlay for `config` (the same tree for the same seed, whatever else is set). */
export function growOverlay(config: ExperimentConfig, progress?: Progress): SimOverlay {
  const rng = new Rng(config.seed)
  const overlay = new SimOverlay({
    q: config.q,
    attach: config.attach,
    nearClimb: config.nearClimb,
  })
  for (let i = 0; i < config.nodes; i++) {
    overlay.join(rng)
    if (progress && (i + 1) % 10_000 === 0)
      progress.update(`joining (${config.attach})`, i + 1, config.nodes)
  }
  return overlay
}

/**
 * Fails `config.churn` of the nodes at virtual time 0 and repairs on a virtual
 * clock: each orphan notices its parent's death when its keepalive timer runs
 * out, then re-joins after a join exchange (handshake with a contact, the
 * climb and descent to a free slot, the reply: (4 + 2·nearClimb) hops). Greedy
 * success between random live nodes is sampled along the way.
 */
function failAndRepairOverTime(
  overlay: SimOverlay,
  config: ExperimentConfig,
): NonNullable<ExperimentResult['churn']> {
  const rng = new Rng(config.seed + 4)
  const clock = new VirtualClock()
  const victims = rng
    .shuffle(overlay.aliveIds())
    .slice(0, Math.round(config.churn * overlay.aliveCount))
  const rootFailed = victims.includes(overlay.root)
  const before = overlay.addressKeys(victims)
  const orphans = overlay.fail(victims)
  const joinMs = (4 + 2 * config.nearClimb) * config.hopLatencyMs
  let repairedAtMs = 0
  for (const o of orphans) {
    const detectMs = config.keepaliveTimeoutMs - rng.next() * config.keepaliveIntervalMs
    clock.schedule(detectMs + joinMs, () => {
      overlay.rejoin(o, rng)
      repairedAtMs = clock.now()
    })
  }
  const timeline: { atMs: number; successRatio: number }[] = []
  const last = config.keepaliveTimeoutMs + joinMs
  const checkpoints = [
    0,
    config.keepaliveTimeoutMs - config.keepaliveIntervalMs,
    (2 * config.keepaliveTimeoutMs - config.keepaliveIntervalMs) / 2,
    last,
    last + 1000,
  ]
  for (const atMs of checkpoints) {
    clock.runUntil(atMs)
    timeline.push({
      atMs,
      successRatio: measureRouting(overlay, config.timelinePairs, rng).successRatio,
    })
  }
  clock.runAll()
  return {
    failed: victims.length,
    rootFailed,
    orphans: orphans.length,
    readdressed: overlay.countReaddressed(before),
    repairedAtMs,
    timeline,
    routingAfter: measureRouting(overlay, Math.max(1000, Math.floor(config.pairs / 10)), rng),
    maxDepthAfter: overlay.maxDepth(),
  }
}

export function runExperiment(config: ExperimentConfig, progress?: Progress): ExperimentResult {
  const started = performance.now()
  const shortcuts: ShortcutResult[] = []
  let overlay: SimOverlay | undefined
  for (const policy of config.shortcutPolicies) {
    const t0 = performance.now()
    overlay = growOverlay(config, progress)
    const links = addShortcuts(
      overlay,
      { policy, perNode: config.shortcutsPerNode, maxDegree: config.maxDegree },
      new Rng(config.seed + 1),
    )
    const t1 = performance.now()
    const rng = new Rng(config.seed + 2)
    const routing = measureRouting(overlay, config.pairs, rng, undefined, (done) =>
      progress?.update(`routing (${policy} shortcuts)`, done, config.pairs),
    )
    const routeMs = performance.now() - t1
    progress?.update(`stretch (${policy} shortcuts)`)
    const stretch = measureStretch(
      overlay,
      config.stretchSources,
      config.stretchDestsPerSource,
      rng,
    )
    shortcuts.push({ policy, links, buildMs: t1 - t0, routeMs, routing, stretch })
  }
  if (overlay === undefined) throw new Error('no shortcut policy to run')
  let depthSum = 0
  for (const n of overlay.nodes) depthSum += n.address.depth
  const tree = { maxDepth: overlay.maxDepth(), meanDepth: depthSum / overlay.nodes.length }

  // DHT on the last policy's overlay: publish, measure, then fail and repair.
  const models = (config.keysPerNode > 0 ? config.placements : []).map((kind) => {
    const t0 = performance.now()
    const model = new DhtModel(overlay, kind, config.keysPerNode, config.replicas)
    model.publishAll((done) => progress?.update(`publishing (${kind})`, done, model.records))
    const publishMs = performance.now() - t0
    progress?.update(`gets (${kind})`)
    const load = model.load()
    const gets = model.gets(config.gets, new Rng(config.seed + 3))
    return { model, publishMs, load, gets }
  })

  let churn: ExperimentResult['churn']
  const churnResults = new Map<PlacementKind, PlacementResult['churn']>()
  if (config.churn > 0) {
    progress?.update('failing and repairing (virtual time)')
    churn = failAndRepairOverTime(overlay, config)
    for (const { model } of models) {
      progress?.update(`handover (${model.kind})`)
      const h = model.handover()
      const getsAfterHandover = model.gets(config.gets, new Rng(config.seed + 5))
      progress?.update(`re-publishing (${model.kind})`)
      model.publishAll()
      const getsAfterRepublish = model.gets(config.gets, new Rng(config.seed + 6))
      churnResults.set(model.kind, {
        survivedRecords: h.survived,
        lostRecords: h.lost,
        movedRecords: h.moved,
        getsAfterHandover,
        getsAfterRepublish,
        loadAfter: model.load(),
      })
    }
  }
  progress?.done()
  const placements: PlacementResult[] = models.map(({ model, publishMs, load, gets }) => {
    const c = churnResults.get(model.kind)
    return c === undefined
      ? { placement: model.kind, publishMs, load, gets }
      : { placement: model.kind, publishMs, load, gets, churn: c }
  })
  const result: ExperimentResult = {
    config,
    tree,
    shortcuts,
    placements,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    totalMs: performance.now() - started,
  }
  return churn === undefined ? result : { ...result, churn }
}
