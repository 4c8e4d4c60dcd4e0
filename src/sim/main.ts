/**
 * `npm run sim -- …`: runs simulator experiments, prints their tables, writes
 * JSON results and, on request, an SVG picture of the overlay. `--engine node`
 * runs the real overlay and DHT state machines instead of the models (live.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { Rng } from '../core/rng.ts'
import { parseSimArgs, USAGE, UsageError } from './cli-args.ts'
import { type ExperimentResult, growOverlay, runExperiment } from './experiment.ts'
import { runLive } from './live.ts'
import { formatLiveReport } from './live-report.ts'
import { plotOverlay } from './plot.ts'
import { Progress } from './progress.ts'
import { formatReport } from './report.ts'
import { addShortcuts } from './shortcuts.ts'

function main(argv: readonly string[]): number {
  let args: ReturnType<typeof parseSimArgs>
  try {
    args = parseSimArgs(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sim: ${err.message}\n\n${USAGE}\n`)
      return 2
    }
    throw err
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const progress = new Progress(process.stderr, args.quiet)
  if (args.live !== undefined) {
    const result = runLive(args.live, progress)
    process.stdout.write(`${formatLiveReport(result)}\n\n`)
    writeOut(args.out, `${JSON.stringify(result, null, 2)}\n`)
    process.stdout.write(`results: ${args.out}\n`)
    return 0
  }
  const results: ExperimentResult[] = []
  for (const config of args.configs) {
    const result = runExperiment(config, progress)
    results.push(result)
    process.stdout.write(`${formatReport(result)}\n\n`)
  }
  writeOut(args.out, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`results: ${args.out}\n`)
  if (args.plot !== undefined) {
    const config = args.configs[0]!
    const overlay = growOverlay(config)
    const policy = config.shortcutPolicies[config.shortcutPolicies.length - 1]!
    addShortcuts(
      overlay,
      { policy, perNode: config.shortcutsPerNode, maxDegree: config.maxDegree },
      new Rng(config.seed + 1),
    )
    try {
      const title = `CLOAK overlay: ${config.nodes} nodes, q=${config.q}, attach=${config.attach}, shortcuts=${policy}`
      writeOut(args.plot, plotOverlay(overlay, title))
      process.stdout.write(`plot: ${args.plot}\n`)
    } catch (err) {
      process.stderr.write(`sim: ${(err as Error).message}\n`)
      return 2
    }
  }
  return 0
}

function writeOut(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
}

process.exitCode = main(process.argv.slice(2))
