/**
 * `npm run demo`: the simulator's showcase, until the daemon exists. Grows a
 * 10,000-node CLOAK overlay, routes greedily between random pairs, places DHT
 * records naively and balanced, fails 10% of the nodes at once, repairs, and
 * draws a 1,500-node overlay into out/showcase.svg. About half a minute.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Rng } from '../core/rng.ts'
import { DEFAULT_CONFIG, growOverlay, runExperiment } from './experiment.ts'
import { plotOverlay } from './plot.ts'
import { Progress } from './progress.ts'
import { formatReport } from './report.ts'
import { addShortcuts } from './shortcuts.ts'

const config = { ...DEFAULT_CONFIG, nodes: 10_000, pairs: 10_000, gets: 3_000 }
const out = (s: string): boolean => process.stdout.write(s)

out(`semos simulator showcase: the CLOAK overlay at ${config.nodes.toLocaleString('en-US')} nodes, in memory, seed ${config.seed}.
Every node gets a point of the hyperbolic plane from its parent in a spanning tree; frames go
greedily to the neighbour closest to their destination; a DHT maps names to current addresses.

`)
const progress = new Progress(process.stderr, false)
const result = runExperiment(config, progress)
out(`${formatReport(result)}\n\n`)

const picture = { ...config, nodes: 1500 }
const overlay = growOverlay(picture)
addShortcuts(
  overlay,
  { policy: 'local', perNode: picture.shortcutsPerNode, maxDegree: picture.maxDegree },
  new Rng(picture.seed + 1),
)
mkdirSync('out', { recursive: true })
writeFileSync(
  'out/showcase.svg',
  plotOverlay(
    overlay,
    `CLOAK overlay, ${picture.nodes} nodes, q=${picture.q}, near joins, local shortcuts`,
  ),
)
const routing = result.shortcuts.find((s) => s.policy === 'local') ?? result.shortcuts[0]!
const balanced = result.placements.find((p) => p.placement === 'balanced')
out(`What it shows:
- greedy routing delivered ${(100 * routing.routing.successRatio).toFixed(2)}% of ${routing.routing.pairs.toLocaleString('en-US')} random routes in ${routing.routing.hops.mean.toFixed(1)} hops on average;
- the balanced DHT placement keeps the busiest node at ${balanced?.load.maxOverFair.toFixed(2) ?? '-'}x its fair share of records;
- after ${result.churn?.failed ?? 0} nodes failed at once, the orphaned subtrees re-joined and greedy routing
  delivered ${(100 * (result.churn?.routingAfter.successRatio ?? 0)).toFixed(2)}% again.
A picture of a smaller overlay: out/showcase.svg. More: npm run sim -- --help, docs/overlay.md.
`)
