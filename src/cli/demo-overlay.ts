/**
 * `npm run demo:overlay`: a real CLOAK overlay on this machine. Starts node processes
 * on loopback that join in random order, has every node ping and look up
 * every other by name, kills the root with SIGKILL, and shows the overlay
 * repairing itself: new addresses, and how long until every name resolves and
 * every node reaches every other again. About half a minute; cleans up after
 * itself whatever happens.
 */
import { Rng } from '../core/rng.ts'
import { Cluster, type ClusterNode, type PairCheck } from './cluster.ts'

const NODES = Number(process.env.SEMOS_DEMO_NODES ?? 12)
const out = (s: string): boolean => process.stdout.write(s)
const short = (name: string): string => `${name.slice(0, 8)}…`

interface Status {
  readonly address?: string
  readonly links: unknown[]
}

async function addresses(cluster: Cluster): Promise<Map<ClusterNode, Status>> {
  const all = await Promise.all(
    cluster.live().map(async (n) => [n, (await cluster.call(n, 'status')) as Status] as const),
  )
  return new Map(all)
}

function summary(check: PairCheck): string {
  const ok = check.pairs - check.failures.length
  const hops = check.pings.map((p) => p.hops)
  const mean = hops.reduce((s, h) => s + h, 0) / Math.max(1, hops.length)
  return `${ok}/${check.pairs} pairs reached by name (ping + lookup), ${mean.toFixed(1)} overlay hops on average`
}

/** Round-trip times of one ping at a time (the all-pairs check loads every node at once). */
async function quietRtt(cluster: Cluster, rng: Rng, samples = 20): Promise<string> {
  const live = cluster.live()
  const rtts: number[] = []
  for (let i = 0; i < samples; i++) {
    const [a, b] = rng.shuffle([...live]) as [ClusterNode, ClusterNode]
    const ping = (await cluster.call(a, 'ping', { name: b.name })) as { rttMs: number }
    rtts.push(ping.rttMs)
  }
  rtts.sort((x, y) => x - y)
  const at = (q: number): string => (rtts[Math.floor(q * (rtts.length - 1))] ?? 0).toFixed(2)
  return `overlay ping RTT, one at a time: median ${at(0.5)} ms, max ${at(1)} ms (${samples} random pairs)`
}

async function untilAllPairs(cluster: Cluster, label: string): Promise<number> {
  const start = performance.now()
  for (;;) {
    const check = await cluster.checkAllPairs()
    const ms = performance.now() - start
    process.stderr.write(
      `\r  ${label}: ${(ms / 1000).toFixed(1)} s, ${check.failures.length} pairs failing   `,
    )
    if (check.failures.length === 0) {
      process.stderr.write('\n')
      out(`  ${summary(check)}\n`)
      return ms
    }
    if (ms > 60_000) throw new Error(`no full recovery after 60 s: ${check.failures[0]}`)
  }
}

async function main(): Promise<void> {
  const cluster = new Cluster()
  const stop = (): void => {
    void cluster.destroy().then(() => process.exit(130))
  }
  process.once('SIGINT', stop)
  try {
    out(`semos overlay demo: a real CLOAK overlay of ${NODES} node processes on loopback.
Each node has a permanent name (its public key) and gets an address in the hyperbolic plane
from its parent; names map to addresses in the overlay's DHT.

`)
    const rng = new Rng(Number(process.env.SEMOS_DEMO_SEED ?? Date.now() % 100_000))
    const root = await cluster.start([])
    out(`  node  0 ${short(root.name)} started the overlay\n`)
    for (let i = 1; i < NODES; i++) {
      const via = rng.pick(cluster.live())
      const node = await cluster.start([via.endpoint])
      out(`  node ${String(i).padStart(2)} ${short(node.name)} joined through node ${via.index}\n`)
    }
    const before = await addresses(cluster)
    out('\nEvery node pings and looks up every other, by name:\n')
    await untilAllPairs(cluster, 'checking')
    out(`  ${await quietRtt(cluster, rng)}\n`)
    const rootNode = [...before].find(([, s]) => s.address === 'q4:/')?.[0] as ClusterNode
    out(`\nSIGKILL the root (node ${rootNode.index}, ${short(rootNode.name)}): its children notice at once or
within the keepalive's 3 s, the lowest-slot child becomes the new root, the others re-join, and
every node whose address changed publishes its new record.\n`)
    cluster.kill(rootNode)
    const ms = await untilAllPairs(cluster, 'repairing')
    const after = await addresses(cluster)
    out(
      `\nRecovered ${(ms / 1000).toFixed(1)} s after the root's death. Addresses before → after:\n`,
    )
    for (const [node, status] of after) {
      const was = before.get(node)?.address ?? '?'
      out(
        `  node ${String(node.index).padStart(2)} ${short(node.name)}  ${was.padEnd(14)} → ${status.address}\n`,
      )
    }
    out(`
Try it yourself: bin/semos up --help, bin/semos status, docs/overlay-daemon.md.
The simulator at 10,000 nodes: npm run demo:sim.
`)
  } finally {
    process.removeListener('SIGINT', stop)
    await cluster.destroy()
  }
}

await main()
