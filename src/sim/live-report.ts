/** Plain-text tables of a live-engine run (live.ts), in the style of report.ts. */

import type { LiveResult } from './live.ts'
import type { ProbeSummary } from './live-probe.ts'
import type { Traffic } from './live-traffic.ts'
import { table } from './report.ts'

const pct = (x: number): string => `${(100 * x).toFixed(x === 1 ? 0 : 2)}%`
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')
const sec = (ms: number | undefined): string =>
  ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`

/** The report of a live run: growth, static checks, the churn timeline, messages per node. */
export function formatLiveReport(r: LiveResult): string {
  const c = r.config
  const g = r.growth
  const parts: string[] = []
  parts.push(
    `## node engine: ${c.nodes} nodes (real OverlayNode + DhtNode), q=${c.q}, seed=${c.seed} — ` +
      `all placed ${sec(g.placedAtMs)} (virtual) after the first start, ${g.unplaced} unplaced, ` +
      `depth max ${g.maxDepth}, mean ${f2(g.meanDepth)}`,
  )
  const checks: [string, ProbeSummary, string][] = [
    ['routing (ping)', r.static.routing, 'hops'],
    ['lookup (cache bypassed)', r.static.lookups, 'ms'],
  ]
  if (r.churn !== undefined) {
    checks.push(['routing after repair', r.churn.afterRepair.routing, 'hops'])
    checks.push(['lookup after repair', r.churn.afterRepair.lookups, 'ms'])
    const at = (r.churn.afterRefresh.atMs / 1000).toFixed(0)
    checks.push([`routing ${at} s after the kill`, r.churn.afterRefresh.routing, 'hops'])
    checks.push([`lookup ${at} s after the kill`, r.churn.afterRefresh.lookups, 'ms'])
  }
  parts.push(
    table(
      ['check', 'sent', 'success', 'mean', 'p99', 'unit', 'failures'],
      checks.map(([name, s, unit]) => [
        name,
        String(s.sent),
        pct(s.successRatio),
        f2(s.values.mean),
        String(s.values.p99),
        unit,
        failures(s),
      ]),
    ),
  )
  const ch = r.churn
  if (ch !== undefined) {
    parts.push(
      `churn: ${ch.killed} nodes killed at once (${ch.survivors} survive); routing back to 100% ` +
        `${sec(ch.routingRecoveredMs)} and lookups ${sec(ch.lookupsRecoveredMs)} after the kill ` +
        `(virtual; 100% at every later checkpoint); every survivor placed from ${sec(ch.allPlacedMs)}; ` +
        `${ch.readdressed} survivors changed address; ` +
        `${ch.unplacedAfter} unplaced at the end; depth max ${ch.maxDepthAfter}, mean ${f2(ch.meanDepthAfter)}`,
    )
    parts.push(
      table(
        ['after kill', 'routing', 'lookups', 'unplaced', 'routing failures', 'lookup failures'],
        ch.timeline.map((t) => [
          sec(t.atMs),
          pct(t.routing.successRatio),
          pct(t.lookups.successRatio),
          String(t.unplaced),
          failures(t.routing),
          failures(t.lookups),
        ]),
      ),
    )
  }
  parts.push(trafficTable(g.traffic, ch?.repair))
  parts.push(
    `total ${sec(r.totalMs)} (wall), peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
  )
  return parts.join('\n\n')
}

function failures(s: ProbeSummary): string {
  const entries = Object.entries(s.failures).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '-' : entries.map(([k, n]) => `${k} ${n}`).join(', ')
}

function trafficTable(growth: Traffic, repair: Traffic | undefined): string {
  const kinds = [
    ...new Set([...Object.keys(growth.perNode), ...Object.keys(repair?.perNode ?? {})]),
  ]
  kinds.sort()
  const rows = kinds.map((k) => [
    k,
    f2(growth.perNode[k] ?? 0),
    repair === undefined ? '-' : f2(repair.perNode[k] ?? 0),
  ])
  rows.push([
    'total',
    f2(growth.perNodeTotal),
    repair === undefined ? '-' : f2(repair.perNodeTotal),
  ])
  const note =
    `messages: growth ${growth.total} (overlay stats.sent ${growth.statsSent}, on links ${growth.onLinks})` +
    (repair === undefined
      ? ''
      : `; kill → recovery ${repair.total} (stats.sent ${repair.statsSent}, on links ${repair.onLinks}), of which the engine's own probes ${repair.probes}`)
  return `${table(['message', 'per node, growth', 'per survivor, kill → recovery'], rows)}\n${note}`
}
