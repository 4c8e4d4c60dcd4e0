/**
 * `npm run bench -- <name> [options]`: speed figures, each beside a baseline
 * measured in the same run (the machines are noisy; only ratios compare).
 *
 *   routing   greedy next hop: uncached decision (path arithmetic) vs the
 *             router's cached decision (one map lookup), on a simulated overlay
 *   sim       the 100,000-node issue run: build + 100,000 greedy routes, time and peak memory
 *   relay     bulk datagrams A → B → C through three overlay daemons (one thread each),
 *             beside raw TCP on loopback, direct and through a socket.pipe relay
 *   root-death  N node processes: time until whole again after the root dies, beside an
 *             inner node's death (--signal KILL, or STOP for a suspended machine)
 *   session   one session's bulk throughput beside raw TCP, set-up of a first stream to a
 *             fresh name beside a TCP connect, resumption after a move beside a TCP
 *             reconnect (--mb, --runs, --targets, --moves, --gap-ms, --members,
 *             --only throughput|setup|resume)
 *   aead      ChaCha20-Poly1305 against AES-256-GCM sealing session-sized records (GB per CPU-s)
 *   memory    a stream whose peer is unreachable for --minutes (10) while the application
 *             keeps writing: the writer process's memory every --sample-s (30) seconds
 *   forward   bulk throughput through `semos forward -L` (two `semos up` processes) beside
 *             raw TCP and OpenSSH's ssh -L (aes128-gcm), with CPU s per GB (--mb, --runs)
 */
import { parseArgs } from 'node:util'
import { benchAead } from './aead.ts'
import { benchForward } from './forward.ts'
import { benchMemory } from './memory.ts'
import { benchRelay } from './relay.ts'
import { benchRootDeath } from './root-death.ts'
import { benchRouting } from './routing.ts'
import { benchSession } from './session.ts'
import { benchSim } from './sim.ts'

type Bench = (args: Record<string, string | boolean | undefined>) => void | Promise<void>

const benches: Record<string, Bench> = {
  aead: benchAead,
  routing: benchRouting,
  sim: benchSim,
  relay: benchRelay,
  'root-death': benchRootDeath,
  session: benchSession,
  memory: benchMemory,
  forward: benchForward,
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
    seconds: { type: 'string' },
    payload: { type: 'string' },
    runs: { type: 'string' },
    signal: { type: 'string' },
    mb: { type: 'string' },
    targets: { type: 'string' },
    moves: { type: 'string' },
    'gap-ms': { type: 'string' },
    members: { type: 'string' },
    minutes: { type: 'string' },
    'sample-s': { type: 'string' },
    only: { type: 'string' },
  },
})
const name = positionals[0]
const bench = name === undefined ? undefined : benches[name]
if (bench === undefined) {
  process.stderr.write(
    `usage: npm run bench -- <${Object.keys(benches).join('|')}> [--nodes N] [--seed N] [--dests N] [--attach random|bfs|near] [--seconds S] [--payload BYTES] [--runs N] [--signal KILL|STOP] [--mb N] [--targets N] [--moves N] [--gap-ms MS] [--members N] [--minutes M] [--sample-s S] [--only PART]\n`,
  )
  process.exitCode = 2
} else {
  await bench(values)
}
