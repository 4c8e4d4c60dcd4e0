/**
 * An SVG picture of an overlay in the Poincaré disk: the rim, tree links drawn
 * as hyperbolic geodesics (arcs orthogonal to the rim), shortcut links, and
 * nodes coloured by depth.
 */
import { diskPosition } from '../overlay/geometry.ts'
import type { SimOverlay } from './overlay.ts'

/** Overlays larger than this make an unreadable picture and a huge file. */
export const MAX_PLOT_NODES = 5000

const SIZE = 1000
const R = SIZE / 2 - 10

export function plotOverlay(overlay: SimOverlay, title: string): string {
  const live = overlay.nodes.filter((n) => n.alive)
  if (live.length > MAX_PLOT_NODES) {
    throw new RangeError(
      `--plot draws at most ${MAX_PLOT_NODES} nodes; this overlay has ${live.length}`,
    )
  }
  const pos = new Map(live.map((n) => [n.id, diskPosition(n.address)]))
  const maxDepth = Math.max(1, overlay.maxDepth())
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SIZE} ${SIZE + 40}" width="${SIZE}" height="${SIZE + 40}">`,
    `<rect width="100%" height="100%" fill="#fcfcfa"/>`,
    `<text x="${SIZE / 2}" y="${SIZE + 28}" font-family="sans-serif" font-size="18" text-anchor="middle">${escapeXml(title)}</text>`,
    `<circle cx="${SIZE / 2}" cy="${SIZE / 2}" r="${R}" fill="#f1f4f8" stroke="#445" stroke-width="1.5"/>`,
  )
  const shortcutPaths: string[] = []
  const treePaths: string[] = []
  for (const n of live) {
    const a = pos.get(n.id) as [number, number]
    if (n.parent >= 0 && pos.has(n.parent))
      treePaths.push(geodesic(a, pos.get(n.parent) as [number, number]))
    for (const s of n.shortcuts) {
      if (s > n.id && pos.has(s)) shortcutPaths.push(geodesic(a, pos.get(s) as [number, number]))
    }
  }
  out.push(
    `<path d="${shortcutPaths.join('')}" fill="none" stroke="#e39b2d" stroke-opacity="0.35" stroke-width="0.6"/>`,
  )
  out.push(
    `<path d="${treePaths.join('')}" fill="none" stroke="#2b4c7e" stroke-opacity="0.8" stroke-width="0.8"/>`,
  )
  for (const n of live) {
    const [x, y] = toScreen(pos.get(n.id) as [number, number])
    const depth = n.address.depth
    const r = Math.max(0.6, 6 * 0.72 ** depth)
    out.push(
      `<circle cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="${r.toFixed(2)}" fill="${depthColour(depth / maxDepth)}"/>`,
    )
  }
  out.push('</svg>')
  return out.join('\n')
}

function toScreen([x, y]: [number, number]): [number, number] {
  return [SIZE / 2 + R * x, SIZE / 2 - R * y]
}

/** SVG path of the geodesic between two points of the disk: an arc orthogonal to the rim, or a diameter. */
function geodesic(a: [number, number], b: [number, number]): string {
  const [ax, ay] = toScreen(a)
  const [bx, by] = toScreen(b)
  const cross = a[0] * b[1] - a[1] * b[0]
  const start = `M${ax.toFixed(2)} ${ay.toFixed(2)}`
  if (Math.abs(cross) < 1e-9) return `${start}L${bx.toFixed(2)} ${by.toFixed(2)}`
  // Centre c of the circle through a, b orthogonal to the unit circle: |c|² = r² + 1.
  const a2 = a[0] * a[0] + a[1] * a[1] + 1
  const b2 = b[0] * b[0] + b[1] * b[1] + 1
  const d = 2 * cross
  const cx = (a2 * b[1] - b2 * a[1]) / d
  const cy = (b2 * a[0] - a2 * b[0]) / d
  const radius = Math.sqrt(Math.max(0, cx * cx + cy * cy - 1)) * R
  const sweep = cross > 0 ? 0 : 1
  return `${start}A${radius.toFixed(2)} ${radius.toFixed(2)} 0 0 ${sweep} ${bx.toFixed(2)} ${by.toFixed(2)}`
}

function depthColour(t: number): string {
  const hue = 220 - 200 * Math.min(1, Math.max(0, t))
  return `hsl(${hue.toFixed(0)} 70% 45%)`
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)
}
