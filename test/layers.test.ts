import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'

/**
 * The layers, bottom up (../shared/DESIGN.md). A module may import from its own
 * layer and the ones below it, never from above: the simulator drives the
 * overlay, the overlay never knows the simulator.
 */
const LAYERS = [
  'core',
  'identity',
  'link',
  'overlay',
  'dht',
  'session',
  'forward',
  'node',
  'sim',
  'cli',
]

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

function layerOf(file: string): string {
  return relative('src', file).split('/')[0] ?? ''
}

describe('layers', () => {
  it('every source folder is a known layer', () => {
    for (const file of sources('src'))
      assert.ok(LAYERS.includes(layerOf(file)), `${file}: unknown layer`)
  })

  it('no module imports from a layer above its own', () => {
    const violations: string[] = []
    for (const file of sources('src')) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative('.', resolve(dirname(file), m[1] as string))
        if (!target.startsWith('src/')) continue
        if (LAYERS.indexOf(layerOf(target)) > LAYERS.indexOf(layerOf(file))) {
          violations.push(`${file} imports ${target}`)
        }
      }
    }
    assert.deepEqual(violations, [])
  })
})
