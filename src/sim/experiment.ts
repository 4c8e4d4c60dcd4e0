/**
 * One simulator experiment: grow an overlay, measure greedy routing for each
 * shortcut policy, then DHT placement, then a mass failure with repair, DHT
 * handover and re-publication. Deterministic for a given configuration.
 */
import { Rng } from '../core/rng.ts'
import type { PlacementKind } from '../dht/placement.ts'
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
  replicas: 3,
  gets: 20_000,
  churn: 0.1,
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
    readonly routingAfter: RoutingReport
    readonly maxDepthAfter: number
  }
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

export function runExperiment(config: ExperimentConfig, progress?: Progress): ExperimentResult {
  const started = performance.now()
  let peakRss = process.memoryUsage().rss
  const sampleRss = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
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
    sampleRss()
    shortcuts.push({ policy, links, buildMs: t1 - t0, routeMs, routing, stretch })
  }
  if (overlay === undefined) throw new Error('no shortcut policy to run')
  let depthSum = 0
  for (const n of overlay.nodes) depthSum += n.address.depth
  const tree = { maxDepth: overlay.maxDepth(), meanDepth: depthSum / overlay.nodes.length }

  // DHT on the last policy's overlay: publish, measure, then fail and repair.
  const models = config.placements.map((kind) => {
    const t0 = performance.now()
    const model = new DhtModel(overlay, kind, config.keysPerNode, config.replicas)
    model.publishAll((done) => progress?.update(`publishing (${kind})`, done, model.records))
    const publishMs = performance.now() - t0
    progress?.update(`gets (${kind})`)
    const load = model.load()
    const gets = model.gets(config.gets, new Rng(config.seed + 3))
    sampleRss()
    return { model, publishMs, load, gets }
  })

  let churn: ExperimentResult['churn']
  const churnResults = new Map<PlacementKind, PlacementResult['churn']>()
  if (config.churn > 0) {
    const rng = new Rng(config.seed + 4)
    const victims = rng
      .shuffle(overlay.aliveIds())
      .slice(0, Math.round(config.churn * overlay.aliveCount))
    const rootFailed = victims.includes(overlay.root)
    progress?.update('failing and repairing')
    const repair = overlay.failAndRepair(victims, rng)
    const routingAfter = measureRouting(overlay, Math.max(1000, Math.floor(config.pairs / 10)), rng)
    churn = {
      failed: victims.length,
      rootFailed,
      orphans: repair.orphans,
      readdressed: repair.readdressed,
      routingAfter,
      maxDepthAfter: overlay.maxDepth(),
    }
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
      sampleRss()
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
    peakRssBytes: peakRss,
    totalMs: performance.now() - started,
  }
  return churn === undefined ? result : { ...result, churn }
}
