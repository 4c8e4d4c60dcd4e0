/**
 * `npm run bench -- <name> [options]`: speed figures, each beside a baseline
 * measured in the same run (the machines are noisy; only ratios compare).
 *
 *   routing   greedy next hop: uncached decision (path arithmetic) vs the
 *             router's cached decision (one map lookup), on a simulated overlay
 *   sim       the 100,000-node issue run: build + 100,000 greedy routes, time and peak memory
 */
import { parseArgs } from 'node:util'
import { benchRouting } from './routing.ts'
import { benchSim } from './sim.ts'

const benches: Record<string, (args: Record<string, string | boolean | undefined>) => void> = {
  routing: benchRouting,
  sim: benchSim,
}

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  strict: true,
  options: {
    nodes: { type: 'string' },
    seed: { type: 'string' },
    dests: { type: 'string' },
    attach: { type: 'string' },
  },
})
const name = positionals[0]
const bench = name === undefined ? undefined : benches[name]
if (bench === undefined) {
  process.stderr.write(
    `usage: npm run bench -- <${Object.keys(benches).join('|')}> [--nodes N] [--seed N] [--dests N] [--attach random|bfs|near]\n`,
  )
  process.exitCode = 2
} else {
  bench(values)
}
