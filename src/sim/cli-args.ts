/**
 * Command-line options of `npm run sim`, validated into an ExperimentConfig.
 * Errors name the option and the accepted values.
 */
import { parseArgs } from 'node:util'
import type { PlacementKind } from '../dht/placement.ts'
import { isValidQ } from '../overlay/address.ts'
import { DEFAULT_CONFIG, type ExperimentConfig } from './experiment.ts'
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from './live.ts'
import { ATTACH_POLICIES, type AttachPolicy } from './overlay.ts'
import { MAX_PLOT_NODES } from './plot.ts'
import { SHORTCUT_POLICIES, type ShortcutPolicy } from './shortcuts.ts'

const L = DEFAULT_LIVE_CONFIG

export const USAGE = `usage: npm run sim -- [options]

  --engine E           model (default): the overlay and DHT as models, up to millions of nodes;
                       node: the real OverlayNode and DhtNode on an in-memory network
  --nodes N            overlay size (default ${DEFAULT_CONFIG.nodes})
  --seed N             random seed (default ${DEFAULT_CONFIG.seed})
  --q N                overlay degree, 3..64 (default ${DEFAULT_CONFIG.q})
  --attach LIST        attach policies to run: ${ATTACH_POLICIES.join(', ')} (default ${DEFAULT_CONFIG.attach})
  --near-climb N       levels a 'near' join climbs from its contact (default ${DEFAULT_CONFIG.nearClimb})
  --shortcuts LIST     shortcut policies to compare: ${SHORTCUT_POLICIES.join(', ')} (default ${DEFAULT_CONFIG.shortcutPolicies.join(',')})
  --per-node N         shortcuts each node tries to add (default ${DEFAULT_CONFIG.shortcutsPerNode})
  --max-degree N       bound on a node's links, child slots included (default ${DEFAULT_CONFIG.maxDegree})
  --pairs N            random pairs routed per policy (default ${DEFAULT_CONFIG.pairs})
  --stretch-sources N  BFS sources for stretch (default ${DEFAULT_CONFIG.stretchSources}), x --stretch-dests N (default ${DEFAULT_CONFIG.stretchDestsPerSource})
  --placements LIST    DHT placements: naive, balanced (default ${DEFAULT_CONFIG.placements.join(',')})
  --keys N             DHT keys published per node (default ${DEFAULT_CONFIG.keysPerNode})
  --replicas N         DHT replicas per key (default ${DEFAULT_CONFIG.replicas})
  --gets N             DHT gets per measurement (default ${DEFAULT_CONFIG.gets})
  --churn F            fraction of nodes failing at once, 0 to skip (default ${DEFAULT_CONFIG.churn})
  --keepalive-ms N     failure detection timeout, virtual ms (default ${DEFAULT_CONFIG.keepaliveTimeoutMs})
  --hop-ms N           latency of one overlay hop, virtual ms (default ${DEFAULT_CONFIG.hopLatencyMs})
  --out FILE           JSON results (default out/sim-<nodes>-seed<seed>.json)
  --plot FILE.svg      draw the overlay (at most ${MAX_PLOT_NODES} nodes)
  --quiet              no progress line
  --help

With --engine node: --nodes (default ${L.nodes}), --seed, --q, --pairs (pings, default ${L.pairs}),
--gets (lookups, default ${L.lookups}), --churn (default ${L.churn}), --out (default
out/sim-node-<nodes>-seed<seed>.json), --quiet, and:
  --probes N           pings and lookups at each churn checkpoint (default ${L.probes})
  --step-ms N          virtual time between churn checkpoints (default ${L.stepMs})
  --join-gap-ms N      virtual time between two joins (default ${L.joinGapMs})`

/** Options that only one engine understands. */
const MODEL_ONLY = [
  'attach',
  'near-climb',
  'shortcuts',
  'per-node',
  'max-degree',
  'stretch-sources',
  'stretch-dests',
  'placements',
  'keys',
  'replicas',
  'keepalive-ms',
  'hop-ms',
  'plot',
]
const NODE_ONLY = ['probes', 'step-ms', 'join-gap-ms']

export interface SimArgs {
  readonly engine: 'model' | 'node'
  /** The model engine's experiments (empty with --engine node). */
  readonly configs: readonly ExperimentConfig[]
  /** The node engine's run (undefined with --engine model). */
  readonly live: LiveConfig | undefined
  readonly out: string
  readonly plot: string | undefined
  readonly quiet: boolean
  readonly help: boolean
}

export class UsageError extends Error {}

export function parseSimArgs(argv: readonly string[]): SimArgs {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        engine: { type: 'string' },
        probes: { type: 'string' },
        'step-ms': { type: 'string' },
        'join-gap-ms': { type: 'string' },
        nodes: { type: 'string' },
        seed: { type: 'string' },
        q: { type: 'string' },
        attach: { type: 'string' },
        'near-climb': { type: 'string' },
        shortcuts: { type: 'string' },
        'per-node': { type: 'string' },
        'max-degree': { type: 'string' },
        pairs: { type: 'string' },
        'stretch-sources': { type: 'string' },
        'stretch-dests': { type: 'string' },
        placements: { type: 'string' },
        keys: { type: 'string' },
        replicas: { type: 'string' },
        gets: { type: 'string' },
        churn: { type: 'string' },
        'keepalive-ms': { type: 'string' },
        'hop-ms': { type: 'string' },
        out: { type: 'string' },
        plot: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const d = DEFAULT_CONFIG
  const int = (
    name: string,
    fallback: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    const raw = values[name]
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${raw}'`)
    }
    return n
  }
  const list = <T extends string>(
    name: string,
    fallback: readonly T[],
    allowed: readonly T[],
  ): T[] => {
    const raw = values[name]
    if (raw === undefined) return [...fallback]
    const items = String(raw)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
    for (const item of items) {
      if (!allowed.includes(item as T)) {
        throw new UsageError(`--${name}: unknown '${item}' (choose from ${allowed.join(', ')})`)
      }
    }
    if (items.length === 0) throw new UsageError(`--${name} needs at least one value`)
    return items as T[]
  }
  const engine = values.engine ?? 'model'
  if (engine !== 'model' && engine !== 'node') {
    throw new UsageError(`--engine: unknown '${engine}' (choose from model, node)`)
  }
  for (const name of engine === 'node' ? MODEL_ONLY : NODE_ONLY) {
    if (values[name] !== undefined) {
      throw new UsageError(
        `--${name} applies to --engine ${engine === 'node' ? 'model' : 'node'} only`,
      )
    }
  }
  const q = int('q', d.q, 3, 64)
  if (!isValidQ(q)) throw new UsageError(`--q must be in [3, 64]`)
  const churnRaw = values.churn
  const churn = churnRaw === undefined ? d.churn : Number(churnRaw)
  if (!(churn >= 0 && churn < 1))
    throw new UsageError(`--churn must be a fraction in [0, 1), got '${churnRaw}'`)
  const nodes = int('nodes', d.nodes, 2, 5_000_000)
  const seed = int('seed', d.seed, 0, 2 ** 32 - 1)
  const keepaliveTimeoutMs = int('keepalive-ms', d.keepaliveTimeoutMs, 1, 3_600_000)
  const base: Omit<ExperimentConfig, 'attach'> = {
    nodes,
    seed,
    q,
    nearClimb: int('near-climb', d.nearClimb, 0, 1000),
    shortcutPolicies: list<ShortcutPolicy>('shortcuts', d.shortcutPolicies, SHORTCUT_POLICIES),
    shortcutsPerNode: int('per-node', d.shortcutsPerNode, 0, 1000),
    maxDegree: int('max-degree', d.maxDegree, q + 1, 10_000),
    pairs: int('pairs', d.pairs, 1),
    stretchSources: int('stretch-sources', d.stretchSources, 0),
    stretchDestsPerSource: int('stretch-dests', d.stretchDestsPerSource, 1),
    placements: list<PlacementKind>('placements', d.placements, ['naive', 'balanced']),
    keysPerNode: int('keys', d.keysPerNode, 0, 10_000),
    replicas: int('replicas', d.replicas, 1, 16),
    gets: int('gets', d.gets, 1),
    churn,
    keepaliveTimeoutMs,
    // A failure is seen within one keepalive period before the timeout, never before t = 0.
    keepaliveIntervalMs: Math.min(d.keepaliveIntervalMs, keepaliveTimeoutMs),
    hopLatencyMs: int('hop-ms', d.hopLatencyMs, 0, 60_000),
    timelinePairs: d.timelinePairs,
  }
  const help = values.help === true
  const quiet = values.quiet === true
  if (engine === 'node') {
    const live: LiveConfig = {
      ...L,
      nodes: int('nodes', L.nodes, 2, 1_000_000),
      seed,
      q,
      pairs: int('pairs', L.pairs, 1),
      lookups: int('gets', L.lookups, 1),
      churn: churnRaw === undefined ? L.churn : churn,
      probes: int('probes', L.probes, 1),
      stepMs: int('step-ms', L.stepMs, 1, 60_000),
      joinGapMs: int('join-gap-ms', L.joinGapMs, 0, 60_000),
    }
    const out =
      typeof values.out === 'string' ? values.out : `out/sim-node-${live.nodes}-seed${seed}.json`
    return { engine, configs: [], live, out, plot: undefined, quiet, help }
  }
  const attach = list<AttachPolicy>('attach', [d.attach], ATTACH_POLICIES)
  if (typeof values.plot === 'string' && nodes > MAX_PLOT_NODES) {
    throw new UsageError(
      `--plot draws at most ${MAX_PLOT_NODES} nodes; ask for --nodes ${MAX_PLOT_NODES} or fewer`,
    )
  }
  return {
    engine,
    live: undefined,
    configs: attach.map((a) => ({ ...base, attach: a })),
    out: typeof values.out === 'string' ? values.out : `out/sim-${nodes}-seed${seed}.json`,
    plot: typeof values.plot === 'string' ? values.plot : undefined,
    quiet,
    help,
  }
}
