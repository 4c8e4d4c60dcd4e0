/**
 * Bulk frames relayed by an overlay node, beside raw TCP on loopback, in one run.
 *
 *   raw TCP direct       source → sink                      (net sockets, write() backpressure)
 *   raw TCP via a relay  source → pump → sink                (the pump is socket.pipe)
 *   semos via relay B    daemon A → daemon B → daemon C      (Noise links, routed datagrams)
 *
 * Every participant runs in its own worker thread (relay-worker.ts) and
 * measures its own CPU time. For each scenario: set up, let it run for a
 * warm-up, snapshot every worker, run S seconds, snapshot again, tear down.
 * Rates are what the receiving end counted in its own clock; the median over
 * --runs is reported, scenarios interleaved run by run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Address } from '../src/overlay/address.ts'
import { maxRoutedPayloadBytes } from './relay-overlay.ts'
import type { OverlayFigures, Snapshot } from './relay-protocol.ts'
import { BenchWorker } from './relay-workers.ts'

const WARMUP_MS = 1000

interface Options {
  readonly seconds: number
  readonly payloadBytes: number
  readonly runs: number
}

type Scenario = 'tcp-direct' | 'tcp-relay' | 'overlay'

const LABELS: Record<Scenario, string> = {
  'tcp-direct': 'raw TCP direct',
  'tcp-relay': 'raw TCP via a relay (pipe)',
  overlay: 'semos overlay via relay node B',
}

interface Measure {
  /** Delivered payload, 10^6 bytes per second. */
  readonly mbPerS: number
  readonly framesPerS: number
  /** CPU seconds of all participants per 10^9 payload bytes delivered. */
  readonly cpuSPerGb: number
  /** The relay's share of it (NaN without a relay). */
  readonly relayCpuSPerGb: number
  /** Each participant's CPU seconds per wall second, in spawn order. */
  readonly busy: readonly number[]
  readonly overlay?: OverlayCheck
}

interface OverlayCheck {
  readonly aPeers: readonly string[]
  readonly bName: string
  readonly forwarded: number
  /** Drops during the measured window by node (A, B, C) and reason. */
  readonly drops: Record<string, Record<string, number>>
  readonly sentFrames: number
}

/** Default payload: the largest routed datagram one link record carries between depth-1 addresses. */
function defaultPayloadBytes(): number {
  return maxRoutedPayloadBytes(Address.fromSlots(4, [1]), Address.fromSlots(4, [0]))
}

export async function benchRelay(
  args: Record<string, string | boolean | undefined>,
): Promise<void> {
  const options: Options = {
    seconds: Number(args.seconds ?? 5),
    payloadBytes: Number(args.payload ?? defaultPayloadBytes()),
    runs: Number(args.runs ?? 3),
  }
  if (!(options.seconds > 0) || !(options.runs >= 1) || !(options.payloadBytes >= 1))
    throw new Error('--seconds, --runs and --payload must be positive')
  const results: Record<Scenario, Measure[]> = { 'tcp-direct': [], 'tcp-relay': [], overlay: [] }
  const stateRoot = mkdtempSync(join(tmpdir(), 'semos-bench-relay-'))
  try {
    for (let run = 1; run <= options.runs; run++) {
      for (const scenario of Object.keys(results) as Scenario[]) {
        const m = await measure(scenario, options, join(stateRoot, `run${run}`))
        results[scenario].push(m)
        process.stderr.write(`run ${run} ${LABELS[scenario]}: ${m.mbPerS.toFixed(1)} MB/s\n`)
      }
    }
  } finally {
    rmSync(stateRoot, { recursive: true, force: true })
  }
  process.stdout.write(report(results, options))
}

function measure(scenario: Scenario, o: Options, stateDir: string): Promise<Measure> {
  switch (scenario) {
    case 'tcp-direct':
      return measureTcp(o, false)
    case 'tcp-relay':
      return measureTcp(o, true)
    case 'overlay':
      return measureOverlay(o, stateDir)
  }
}

async function measureTcp(o: Options, relayed: boolean): Promise<Measure> {
  const workers: BenchWorker[] = []
  try {
    const sink = BenchWorker.spawn({ role: 'tcp-sink' }, workers)
    const sinkPort = (await sink.start()).port as number
    const pump = relayed
      ? BenchWorker.spawn({ role: 'tcp-pump', targetPort: sinkPort }, workers)
      : undefined
    const targetPort = pump === undefined ? sinkPort : ((await pump.start()).port as number)
    const source = BenchWorker.spawn(
      { role: 'tcp-source', targetPort, payloadBytes: o.payloadBytes },
      workers,
    )
    await source.start()
    const [before, after] = await window(workers, o.seconds)
    return figures(before, after, workers.indexOf(sink), pump && workers.indexOf(pump), o)
  } finally {
    await Promise.all(workers.map((w) => w.close()))
  }
}

async function measureOverlay(o: Options, stateDir: string): Promise<Measure> {
  const workers: BenchWorker[] = []
  try {
    const b = BenchWorker.spawn(
      { role: 'overlay', stateDir: join(stateDir, 'b'), bootstrap: [], noShortcuts: false },
      workers,
    )
    const bReady = await b.start()
    const joiner = (name: string): BenchWorker =>
      BenchWorker.spawn(
        {
          role: 'overlay',
          stateDir: join(stateDir, name),
          bootstrap: [bReady.endpoint as string],
          noShortcuts: true,
        },
        workers,
      )
    const a = joiner('a')
    const c = joiner('c')
    const [, cReady] = await Promise.all([a.start(), c.start()])
    await a.send(cReady.address as string, o.payloadBytes)
    const [before, after] = await window(workers, o.seconds)
    const m = figures(before, after, workers.indexOf(c), workers.indexOf(b), o)
    const ia = workers.indexOf(a)
    const ib = workers.indexOf(b)
    const bAfter = overlayOf(after[ib])
    const check: OverlayCheck = {
      aPeers: overlayOf(after[ia]).peers,
      bName: bAfter.name,
      forwarded: bAfter.forwarded - overlayOf(before[ib]).forwarded,
      drops: {
        A: dropsDuring(before[ia], after[ia]),
        B: dropsDuring(before[ib], after[ib]),
        C: dropsDuring(before[workers.indexOf(c)], after[workers.indexOf(c)]),
      },
      sentFrames: (after[ia]?.framesOut ?? 0) - (before[ia]?.framesOut ?? 0),
    }
    return { ...m, overlay: check }
  } finally {
    await Promise.all(workers.map((w) => w.close()))
  }
}

/** Snapshots of every worker after the warm-up and S seconds later. */
async function window(workers: BenchWorker[], seconds: number): Promise<[Snapshot[], Snapshot[]]> {
  await sleep(WARMUP_MS)
  const before = await Promise.all(workers.map((w) => w.snapshot()))
  await sleep(seconds * 1000)
  const after = await Promise.all(workers.map((w) => w.snapshot()))
  return [before, after]
}

function figures(
  before: Snapshot[],
  after: Snapshot[],
  receiver: number,
  relay: number | undefined,
  o: Options,
): Measure {
  const r0 = before[receiver] as Snapshot
  const r1 = after[receiver] as Snapshot
  const seconds = (r1.tMs - r0.tMs) / 1000
  const bytes = r1.bytesIn - r0.bytesIn
  const gb = bytes / 1e9
  const cpuS = (i: number): number => ((after[i]?.cpuUs ?? 0) - (before[i]?.cpuUs ?? 0)) / 1e6
  let total = 0
  for (let i = 0; i < after.length; i++) total += cpuS(i)
  return {
    mbPerS: bytes / 1e6 / seconds,
    framesPerS: (r1.framesIn - r0.framesIn || bytes / o.payloadBytes) / seconds,
    cpuSPerGb: total / gb,
    relayCpuSPerGb: relay === undefined ? Number.NaN : cpuS(relay) / gb,
    busy: after.map((_, i) => cpuS(i) / seconds),
  }
}

function overlayOf(s: Snapshot | undefined): OverlayFigures {
  if (s?.overlay === undefined) throw new Error('not an overlay snapshot')
  return s.overlay
}

function dropsDuring(s0: Snapshot | undefined, s1: Snapshot | undefined): Record<string, number> {
  const d0 = overlayOf(s0).drops
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(overlayOf(s1).drops)) {
    if (v - (d0[k] ?? 0) > 0) out[k] = v - (d0[k] ?? 0)
  }
  return out
}

function sumDrops(all: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {}
  for (const d of all) for (const [k, v] of Object.entries(d)) sum[k] = (sum[k] ?? 0) + v
  return sum
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((p, q) => p - q)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

function report(results: Record<Scenario, Measure[]>, o: Options): string {
  const base = median(results['tcp-direct'].map((m) => m.mbPerS))
  const num = (x: number, digits: number): string => (Number.isNaN(x) ? '—' : x.toFixed(digits))
  const rows = (Object.keys(results) as Scenario[]).map((s) => {
    const ms = results[s]
    const mb = median(ms.map((m) => m.mbPerS))
    return [
      LABELS[s],
      num(mb, 1),
      num(mb / base, 3),
      num(median(ms.map((m) => m.cpuSPerGb)), 2),
      num(median(ms.map((m) => m.relayCpuSPerGb)), 2),
    ]
  })
  const header = ['', 'MB/s', 'ratio to direct', 'CPU s/GB (all)', 'CPU s/GB (relay)']
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  )
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  const overlay = results.overlay
  const checks = overlay.map((m) => m.overlay as OverlayCheck)
  const aOnlyB = checks.every((c) => c.aPeers.length === 1 && c.aPeers[0] === c.bName)
  const drops = (node: string): string =>
    JSON.stringify(sumDrops(checks.map((c) => c.drops[node] ?? {})))
  return [
    `relay throughput: ${o.payloadBytes}-byte payloads, ${o.seconds} s after a ${WARMUP_MS / 1000} s warm-up, median of ${o.runs} run(s); 1 MB = 10^6 bytes`,
    '',
    line(header),
    sep,
    ...rows.map(line),
    '',
    `semos: ${num(median(overlay.map((m) => m.framesPerS)), 0)} frames/s delivered at C; ` +
      `B forwarded ${checks.map((c) => c.forwarded).join(', ')} frames (per run); ` +
      `A sent ${checks.map((c) => c.sentFrames).join(', ')}`,
    `semos: CPU busy per run (cores), B A C: ${overlay.map((m) => m.busy.map((b) => b.toFixed(2)).join(' ')).join('; ')}`,
    `raw TCP via pipe: CPU busy per run (cores), sink pump source: ${results['tcp-relay'].map((m) => m.busy.map((b) => b.toFixed(2)).join(' ')).join('; ')}`,
    `semos: A's only link is B in every run: ${aOnlyB ? 'yes' : `NO (${checks.map((c) => c.aPeers.join('+')).join('; ')})`}; ` +
      `drops in the measured windows (all runs): A ${drops('A')}, B ${drops('B')}, C ${drops('C')}`,
    '',
  ].join('\n')
}
