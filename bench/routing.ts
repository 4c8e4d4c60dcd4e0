/** Uncached greedy decisions against the router's cached hot path, on one overlay. */
import { Rng } from '../src/core/rng.ts'
import type { Address } from '../src/overlay/address.ts'
import { greedyNextHop } from '../src/overlay/greedy.ts'
import { GreedyRouter } from '../src/overlay/router.ts'
import { DEFAULT_CONFIG, growOverlay } from '../src/sim/experiment.ts'
import { addShortcuts } from '../src/sim/shortcuts.ts'

export function benchRouting(args: Record<string, string | boolean | undefined>): void {
  const nodes = Number(args.nodes ?? 100_000)
  const seed = Number(args.seed ?? 1)
  const destCount = Number(args.dests ?? 2000)
  const config = { ...DEFAULT_CONFIG, nodes, seed }
  const overlay = growOverlay(config)
  addShortcuts(
    overlay,
    { policy: 'local', perNode: config.shortcutsPerNode, maxDegree: config.maxDegree },
    new Rng(seed + 1),
  )
  const rng = new Rng(seed + 2)
  const ids = overlay.aliveIds()
  // A node of typical depth forwarding to many destinations, as a busy relay would.
  const relay = overlay.node(
    ids.find((id) => overlay.node(id).address.depth === Math.round(overlay.maxDepth() / 2)) ??
      ids[0]!,
  )
  const neighbours = overlay.neighbours(relay)
  const dests: Address[] = []
  for (let i = 0; i < destCount; i++) dests.push(overlay.node(rng.pick(ids)).address)
  const router = new GreedyRouter<number>(relay.address, { cacheEntries: destCount })
  router.setNeighbours(neighbours)

  const measure = (fn: () => void, minMs = 1000): number => {
    let ops = 0
    const t0 = performance.now()
    while (performance.now() - t0 < minMs) {
      fn()
      ops += dests.length
    }
    return ops / ((performance.now() - t0) / 1000)
  }
  let sink = 0
  const uncached = measure(() => {
    for (const d of dests)
      if (greedyNextHop(relay.address, neighbours, d).kind === 'forward') sink++
  })
  for (const d of dests) router.route(d) // warm the cache
  const cached = measure(() => {
    for (const d of dests) if (router.route(d).kind === 'forward') sink++
  })
  const f = (x: number): string => `${Math.round(x).toLocaleString('en-US')} decisions/s`
  process.stdout.write(
    [
      `routing decisions at a depth-${relay.address.depth} relay with ${neighbours.length} neighbours, ${nodes} nodes, ${destCount} destinations`,
      `  uncached (path arithmetic): ${f(uncached)}  (${(1e6 / uncached).toFixed(2)} µs each)`,
      `  cached (router hot path):   ${f(cached)}  (${(1e6 / cached).toFixed(3)} µs each)`,
      `  ratio cached/uncached: ${(cached / uncached).toFixed(0)}x   [${sink > 0 ? 'ok' : '?'}]`,
      '',
    ].join('\n'),
  )
}
