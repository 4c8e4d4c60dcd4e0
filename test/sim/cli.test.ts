import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

const dir = mkdtempSync(join(tmpdir(), 'semos-sim-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function sim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['src/sim/main.ts', ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('npm run sim', () => {
  it('prints tables, writes JSON and draws the overlay', () => {
    const json = join(dir, 'r.json')
    const svg = join(dir, 'o.svg')
    const r = sim(
      '--nodes',
      '400',
      '--pairs',
      '500',
      '--gets',
      '200',
      '--out',
      json,
      '--plot',
      svg,
      '--quiet',
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /greedy success/)
    assert.match(r.stdout, /\| local +\| \d+ +\| 500 +\| 100% /)
    const results = JSON.parse(readFileSync(json, 'utf8'))
    assert.equal(results[0].config.nodes, 400)
    assert.equal(results[0].shortcuts[0].routing.successRatio, 1)
    assert.equal(results[0].churn.routingAfter.successRatio, 1)
    const picture = readFileSync(svg, 'utf8')
    assert.match(picture, /^<svg /)
    assert.equal(picture.match(/<circle /g)?.length, 400 + 1, 'a dot per node and the rim')
  })

  it('is deterministic for a seed', () => {
    const a = join(dir, 'a.json')
    const b = join(dir, 'b.json')
    for (const out of [a, b]) {
      const r = sim(
        '--nodes',
        '300',
        '--pairs',
        '300',
        '--gets',
        '100',
        '--seed',
        '9',
        '--out',
        out,
        '--quiet',
      )
      assert.equal(r.status, 0, r.stderr)
    }
    const strip = (p: string): unknown =>
      JSON.parse(readFileSync(p, 'utf8'), (k, v) => (/Ms$|Bytes$/.test(k) ? undefined : v))
    assert.deepEqual(strip(a), strip(b))
  })

  it('rejects bad options with a one-line reason and exit code 2', () => {
    for (const [args, reason] of [
      [['--nodes', 'many'], /--nodes must be an integer/],
      [['--attach', 'sideways'], /--attach: unknown 'sideways'/],
      [['--churn', '1.5'], /--churn must be a fraction/],
      [['--q', '2'], /--q must be an integer in \[3, 64\]/],
      [['--frobnicate'], /Unknown option '--frobnicate'/],
    ] as const) {
      const r = sim(...args)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr.split('\n')[0] ?? '', reason)
    }
  })

  it('refuses, before any work, to draw an overlay too large to look at', () => {
    const r = sim('--nodes', '6000', '--plot', join(dir, 'x.svg'))
    assert.equal(r.status, 2)
    assert.match(r.stderr.split('\n')[0] ?? '', /--plot draws at most 5000 nodes/)
  })

  it('runs without DHT records when asked for none', () => {
    const r = sim(
      '--nodes',
      '300',
      '--pairs',
      '100',
      '--keys',
      '0',
      '--out',
      join(dir, 'k.json'),
      '--quiet',
    )
    assert.equal(r.status, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /placement/)
  })
})
