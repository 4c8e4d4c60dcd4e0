/**
 * The scale benchmark: build a 100,000-node overlay (with shortcuts)
 * and route 100,000 random pairs; wall time and peak RSS of this process.
 * The baseline in the same run is the build alone.
 */
import { Rng } from '../src/core/rng.ts'
import { DEFAULT_CONFIG, growOverlay } from '../src/sim/experiment.ts'
import { ATTACH_POLICIES, type AttachPolicy } from '../src/sim/overlay.ts'
import { measureRouting } from '../src/sim/routing.ts'
import { addShortcuts } from '../src/sim/shortcuts.ts'

export function benchSim(args: Record<string, string | boolean | undefined>): void {
  const nodes = Number(args.nodes ?? 100_000)
  const seed = Number(args.seed ?? 1)
  const attach = (args.attach ?? DEFAULT_CONFIG.attach) as AttachPolicy
  if (!ATTACH_POLICIES.includes(attach))
    throw new Error(`--attach: one of ${ATTACH_POLICIES.join(', ')}`)
  const config = { ...DEFAULT_CONFIG, nodes, seed, attach }
  const t0 = performance.now()
  const overlay = growOverlay(config)
  addShortcuts(
    overlay,
    { policy: 'local', perNode: config.shortcutsPerNode, maxDegree: config.maxDegree },
    new Rng(seed + 1),
  )
  const t1 = performance.now()
  const report = measureRouting(overlay, 100_000, new Rng(seed + 2))
  const t2 = performance.now()
  const peakMiB = process.resourceUsage().maxRSS / 1024
  process.stdout.write(
    [
      `${nodes} nodes (attach=${config.attach}, shortcuts=local), 100,000 greedy routes`,
      `  build:   ${((t1 - t0) / 1000).toFixed(1)} s (depth max ${overlay.maxDepth()})`,
      `  routing: ${((t2 - t1) / 1000).toFixed(1)} s, success ${(100 * report.successRatio).toFixed(3)}%, hops mean ${report.hops.mean.toFixed(2)}`,
      `  total:   ${((t2 - t0) / 1000).toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB`,
      '',
    ].join('\n'),
  )
}
