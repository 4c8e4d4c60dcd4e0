/** Plain-text tables of an experiment's results, for the terminal and for docs. */
import type { ExperimentResult } from './experiment.ts'

/** A Markdown table with padded columns (shared by both engines' reports). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

const pct = (x: number): string => `${(100 * x).toFixed(x === 1 ? 0 : 3)}%`
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export function formatReport(r: ExperimentResult): string {
  const c = r.config
  const parts: string[] = []
  parts.push(
    `## ${c.nodes} nodes, q=${c.q}, attach=${c.attach}, seed=${c.seed} — tree depth max ${r.tree.maxDepth}, mean ${f2(r.tree.meanDepth)}`,
  )
  parts.push(
    table(
      [
        'shortcuts',
        'links',
        'pairs',
        'greedy success',
        'hops mean',
        'hops p99',
        'stretch mean',
        'stretch p99',
        'exact decisions',
        'build',
        'routing',
      ],
      r.shortcuts.map((s) => [
        s.policy,
        String(s.links),
        String(s.routing.pairs),
        pct(s.routing.successRatio),
        f2(s.routing.hops.mean),
        String(s.routing.hops.p99),
        f2(s.stretch.stretch.mean),
        f2(s.stretch.stretch.p99),
        pct(s.routing.exactDecisionShare),
        sec(s.buildMs),
        sec(s.routeMs),
      ]),
    ),
  )
  if (r.placements.length > 0) {
    parts.push(
      table(
        [
          'placement',
          'records',
          'max/fair',
          'p99/fair',
          'nodes empty',
          'get success',
          'lookup hops mean',
          'p99',
          'parallel hops mean',
        ],
        r.placements.map((p) => [
          p.placement,
          String(p.load.records),
          f2(p.load.maxOverFair),
          f2(p.load.p99OverFair),
          pct(p.load.emptyShare),
          pct(p.gets.successRatio),
          f2(p.gets.hops.mean),
          String(p.gets.hops.p99),
          f2(p.gets.parallelHops.mean),
        ]),
      ),
    )
  }
  const naive = r.placements.find((p) => p.placement === 'naive')
  const balanced = r.placements.find((p) => p.placement === 'balanced')
  if (naive !== undefined && balanced !== undefined) {
    parts.push(
      `balanced/naive: busiest node ${f2(balanced.load.maxOverFair / naive.load.maxOverFair)}x, lookup hops ${f2(balanced.gets.hops.mean / naive.gets.hops.mean)}x (nearest first), ${f2(balanced.gets.parallelHops.mean / naive.gets.parallelHops.mean)}x (all replicas at once)`,
    )
  }
  if (r.churn !== undefined) {
    const ch = r.churn
    parts.push(
      `churn: ${ch.failed} nodes failed at once${ch.rootFailed ? ' (the root among them)' : ''}; ${ch.orphans} orphaned subtrees re-joined, ${ch.readdressed} nodes re-addressed; repaired ${sec(ch.repairedAtMs)} after the failure (virtual time); greedy success after repair ${pct(ch.routingAfter.successRatio)} over ${ch.routingAfter.pairs} pairs; depth max ${ch.maxDepthAfter}\n` +
        `greedy success over virtual time: ${ch.timeline.map((t) => `${sec(t.atMs)} ${pct(t.successRatio)}`).join(', ')}`,
    )
    if (r.placements.length === 0) return [...parts, footer(r)].join('\n\n')
    parts.push(
      table(
        [
          'placement',
          'records survived',
          'lost',
          'get after handover',
          'get after re-publish',
          'max/fair after',
          'p99/fair after',
          'hops mean',
        ],
        r.placements.flatMap((p) =>
          p.churn === undefined
            ? []
            : [
                [
                  p.placement,
                  pct(p.churn.survivedRecords / (p.churn.survivedRecords + p.churn.lostRecords)),
                  String(p.churn.lostRecords),
                  pct(p.churn.getsAfterHandover.successRatio),
                  pct(p.churn.getsAfterRepublish.successRatio),
                  f2(p.churn.loadAfter.maxOverFair),
                  f2(p.churn.loadAfter.p99OverFair),
                  f2(p.churn.getsAfterRepublish.hops.mean),
                ],
              ],
        ),
      ),
    )
  }
  parts.push(footer(r))
  return parts.join('\n\n')
}

function footer(r: ExperimentResult): string {
  return `total ${sec(r.totalMs)}, peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
}
