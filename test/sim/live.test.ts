import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { parseSimArgs, UsageError } from '../../src/sim/cli-args.ts'
import type { LiveResult } from '../../src/sim/live.ts'

const dir = mkdtempSync(join(tmpdir(), 'semos-live-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function sim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['src/sim/main.ts', ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('npm run sim -- --engine node', () => {
  it('grows 300 real nodes, and routing and lookups recover to 100% after 10% die', () => {
    const out = join(dir, 'live.json')
    const r = sim(
      '--engine',
      'node',
      '--nodes',
      '300',
      '--pairs',
      '300',
      '--gets',
      '300',
      '--probes',
      '200',
      '--out',
      out,
      '--quiet',
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /## node engine: 300 nodes/)
    assert.match(r.stdout, /\| after kill \| routing \| lookups \|/)
    const result = JSON.parse(readFileSync(out, 'utf8')) as LiveResult
    assert.equal(result.engine, 'node')
    assert.equal(result.config.nodes, 300)
    const g = result.growth
    assert.equal(g.unplaced, 0)
    assert.ok(g.placedAtMs > 0 && g.maxDepth >= 4 && g.meanDepth > 1)
    assert.ok(g.traffic.perNode.hello !== undefined && g.traffic.perNodeTotal > 0)
    assert.equal(
      g.traffic.total,
      g.traffic.statsSent,
      'the tap sees every message the overlay sends',
    )
    assert.equal(result.static.routing.successRatio, 1)
    assert.equal(result.static.lookups.successRatio, 1)
    assert.ok(result.static.routing.values.mean > 1)
    const ch = result.churn
    assert.ok(ch)
    assert.equal(ch.killed, 30)
    assert.equal(ch.survivors, 270)
    assert.ok(ch.routingRecoveredMs !== undefined, 'routing back to 100%')
    assert.ok(ch.lookupsRecoveredMs !== undefined, 'lookups back to 100%')
    const last = ch.timeline.slice(-2)
    assert.equal(last.length, 2)
    for (const c of last) {
      assert.equal(c.routing.successRatio, 1)
      assert.equal(c.lookups.successRatio, 1)
      assert.equal(c.unplaced, 0)
    }
    assert.ok(ch.timeline[0]?.routing.successRatio !== 1, 'the kill is felt at first')
    assert.equal(ch.afterRepair.routing.successRatio, 1)
    assert.ok(ch.readdressed > 0 && ch.unplacedAfter === 0)
    assert.ok(ch.repair.perNodeTotal > 0 && ch.repair.probes > 0 && ch.repair.nodes === 270)
    assert.ok(result.totalMs > 0 && result.peakRssBytes > 0)
  })

  it('takes its own defaults and refuses the model engine options', () => {
    const a = parseSimArgs(['--engine', 'node'])
    assert.equal(a.engine, 'node')
    assert.equal(a.live?.nodes, 10_000)
    assert.equal(a.live?.churn, 0.1)
    assert.equal(a.out, 'out/sim-node-10000-seed1.json')
    assert.deepEqual(a.configs, [])
    assert.equal(parseSimArgs([]).engine, 'model')
    for (const [args, reason] of [
      [['--engine', 'warp'], /--engine: unknown 'warp'/],
      [['--engine', 'node', '--attach', 'bfs'], /--attach applies to --engine model only/],
      [['--probes', '5'], /--probes applies to --engine node only/],
    ] as const) {
      assert.throws(
        () => parseSimArgs(args),
        (e: unknown) => {
          assert.ok(e instanceof UsageError)
          assert.match(e.message, reason)
          return true
        },
      )
    }
  })
})
