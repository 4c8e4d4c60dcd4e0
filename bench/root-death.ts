/**
 * `npm run bench -- root-death`: how long a real overlay takes to be whole
 * again after its root dies, beside the same after an inner (non-root) node
 * dies, in the same run. N node processes on loopback; each run kills (or
 * stops, as a suspended machine would be) one node and measures the time until
 * every survivor pings and looks up every other (rounds of all pairs, each
 * pair given 1 s).
 */

import { Cluster, type ClusterNode } from '../src/cli/cluster.ts'
import { Rng } from '../src/core/rng.ts'

interface Status {
  readonly address?: string
  readonly subtreeSize: number
}

async function recoveryMs(cluster: Cluster): Promise<number> {
  const start = performance.now()
  for (;;) {
    const check = await cluster.checkAllPairs()
    if (check.failures.length === 0) return performance.now() - start
    if (performance.now() - start > 60_000) throw new Error(`no recovery: ${check.failures[0]}`)
  }
}

async function oneRun(
  nodes: number,
  seed: number,
  victim: 'root' | 'inner',
  signal: NodeJS.Signals,
): Promise<number> {
  const cluster = new Cluster()
  try {
    const rng = new Rng(seed)
    await cluster.start([])
    for (let i = 1; i < nodes; i++) await cluster.start([rng.pick(cluster.live()).endpoint])
    await recoveryMs(cluster) // all pairs work before the failure
    const statuses = await Promise.all(
      cluster.live().map(async (n) => [n, (await cluster.call(n, 'status')) as Status] as const),
    )
    const pick = (want: (s: Status) => boolean): ClusterNode =>
      (statuses.find(([, s]) => want(s)) ?? statuses[0])?.[0] as ClusterNode
    const target =
      victim === 'root'
        ? pick((s) => s.address === 'q4:/')
        : pick((s) => s.address !== 'q4:/' && s.subtreeSize > 1)
    target.process.kill(signal)
    target.alive = false
    return await recoveryMs(cluster)
  } finally {
    await cluster.destroy()
  }
}

export async function benchRootDeath(
  args: Record<string, string | boolean | undefined>,
): Promise<void> {
  const nodes = Number(args.nodes ?? 20)
  const runs = Number(args.runs ?? 3)
  const signal = `SIG${String(args.signal ?? 'KILL').toUpperCase()}` as NodeJS.Signals
  const results: Record<'root' | 'inner', number[]> = { root: [], inner: [] }
  for (let r = 0; r < runs; r++) {
    for (const victim of ['inner', 'root'] as const) {
      const ms = await oneRun(nodes, r + 1, victim, signal)
      results[victim].push(ms)
      process.stderr.write(
        `run ${r + 1}: ${victim} ${signal}: whole again after ${ms.toFixed(0)} ms\n`,
      )
    }
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b)
    return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 }
  }
  const inner = stat(results.inner)
  const root = stat(results.root)
  process.stdout.write(`time until every survivor reaches every other (ping + lookup), ${nodes} nodes, ${signal}, ${runs} runs

| node killed | median ms | max ms | median ratio to inner |
|-------------|----------:|-------:|----------------------:|
| inner node  | ${inner.median.toFixed(0).padStart(9)} | ${inner.max.toFixed(0).padStart(6)} | 1.00 |
| root        | ${root.median.toFixed(0).padStart(9)} | ${root.max.toFixed(0).padStart(6)} | ${(root.median / inner.median).toFixed(2)} |
`)
}
