/**
 * The acceptance run, with real processes on loopback: 20 nodes join
 * in random order; every node pings and looks up every other; 5 random
 * non-root nodes are SIGKILLed, then the root; every survivor must reach every
 * other again and every name resolve to its owner's current address.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Cluster, type ClusterNode } from '../../src/cli/cluster.ts'
import { Rng } from '../../src/core/rng.ts'

const NODES = 20

/** Re-checks until every pair works; returns the milliseconds it took (or throws at the budget). */
async function converge(cluster: Cluster, budgetMs: number): Promise<number> {
  const start = performance.now()
  let failures: string[] = []
  while (performance.now() - start < budgetMs) {
    failures = (await cluster.checkAllPairs()).failures
    console.log(
      `# ${Math.round(performance.now() - start)} ms: ${failures.length} failures ${failures.slice(0, 3).join('; ')}`,
    )
    if (failures.length === 0) return performance.now() - start
  }
  assert.fail(
    `not converged after ${budgetMs} ms: ${failures.length} failures, e.g. ${failures.slice(0, 5).join('; ')}`,
  )
}

describe(`${NODES} node processes on loopback`, { timeout: 180_000 }, () => {
  const cluster = new Cluster()
  after(() => cluster.destroy())
  const rng = new Rng(Number(process.env.SEMOS_TEST_SEED ?? 1))

  it('join in random order; every node pings and looks up every other', async () => {
    const root = await cluster.start([])
    const joined: ClusterNode[] = [root]
    for (let i = 1; i < NODES; i++) {
      const via = rng.pick(joined)
      joined.push(await cluster.start([via.endpoint]))
    }
    // Joining is not what the issue times (the repair below is): the budget only bounds a
    // slow machine's all-pairs rounds, 380 pings and lookups at once, each given 1 s.
    await converge(cluster, 30_000)
  })

  it('5 random non-root nodes killed, then the root: all survivors reach each other within 10 s', async () => {
    const statuses = await Promise.all(
      cluster
        .live()
        .map(async (n) => [n, (await cluster.call(n, 'status')) as { address?: string }] as const),
    )
    const root = statuses.find(([, s]) => s.address === 'q4:/')?.[0]
    assert.ok(root, 'a root')
    const victims = rng.shuffle(cluster.live().filter((n) => n !== root)).slice(0, 5)
    for (const v of victims) cluster.kill(v)
    const afterFive = await converge(cluster, 10_000)
    cluster.kill(root)
    const afterRoot = await converge(cluster, 10_000)
    console.log(
      `# converged ${Math.round(afterFive)} ms after 5 kills, ${Math.round(afterRoot)} ms after the root's death`,
    )
  })
})
