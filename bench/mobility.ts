/**
 * `npm run bench:mobility`: the papers' mobility experiment (paper 000 Table 1,
 * paper 001 Fig. 7) in the lab of test/lab/ — network namespaces, a router, three
 * subnets with a member each, a fixed host and a mobile host, each running
 * `semos up`. A plain TCP sender on the mobile host writes at --rate MB/s through
 * `semos forward -L` to a plain TCP receiver behind `semos expose` on the fixed
 * host; the mobile host moves --moves times between subnets, off the network for
 * --gap-s each time (a new address and route on each attachment).
 *
 *   resumption latency = the mobile host's attachment to the new subnet (its cable's
 *   carrier up, address and route already set) → the first application byte the
 *   receiver gets after it (wall clock, one machine)
 *
 * with where the time goes, from the mobile node's log: attachment → the node sees
 * its new address (netwatch) → it has re-joined the overlay → the receiver's first
 * byte. Then the same move under OpenSSH `ssh -L` (sshd on the fixed host, throwaway
 * keys, aes128-gcm), and what its application sees: a stall, a break, the time to
 * its next byte. Writes the throughput of both across one move as an SVG (--svg FILE; by
 * default in the temporary directory, '' for none).
 *
 *   npm run bench:mobility                         # 10 moves, 20 s gaps, the ssh baseline (~6 min)
 *   npm run bench:mobility -- --moves 5 --gap-s 2  # a quick run (~1 min)
 *
 * Needs root and iproute2 (and ssh, sshd for the baseline). A benchmark reports; it
 * asserts nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { sshArgs, writeSshdConfig } from '../test/helpers/sshd.ts'
import { type LabProcess, type Line, labUnavailable } from '../test/lab/lab.ts'
import {
  buildMobilityLab,
  type MobilityLab,
  RECEIVER_PORT,
  sessionWith,
  Transfer,
} from '../test/lab/mobility-lab.ts'

const SSH_PORT = 6002
const SSHD = '/usr/sbin/sshd'

const { values } = parseArgs({
  options: {
    moves: { type: 'string', default: '10' },
    'gap-s': { type: 'string', default: '20' },
    rate: { type: 'string', default: '20' },
    'no-ssh': { type: 'boolean', default: false },
    'ssh-watch-s': { type: 'string', default: '60' },
    // Not docs/mobility-throughput.svg by default: a quick re-check must not replace the
    // plot the docs show (that one is made with --svg docs/mobility-throughput.svg).
    svg: { type: 'string', default: join(tmpdir(), 'semos-mobility-throughput.svg') },
    'log-level': { type: 'string', default: 'info' },
  },
})
const MOVES = Number(values.moves)
const GAP_MS = Number(values['gap-s']) * 1000
const RATE = Number(values.rate)
const SSH = !values['no-ssh']
const SSH_WATCH_MS = Number(values['ssh-watch-s']) * 1000
/** Before each move: the transfer runs at full rate again. */
const STEADY_MS = 5000

interface MoveResult {
  readonly to: string
  readonly detachedAt: number
  readonly attachedAt: number
  /** How long the `ip link set … up` that attached it took (ms). */
  readonly ipMs: number
  /** attachment → receiver's first byte after it. */
  readonly resumeMs: number
  /** attachment → the mobile node logs its new address. */
  readonly detectMs: number | undefined
  /** attachment → the mobile node is placed again. */
  readonly rejoinMs: number | undefined
  /** attachment → the mobile node's session resumed (if it had suspended). */
  readonly sessionMs: number | undefined
  /** attachment → the fixed node's session resumed (its first record from the mobile host). */
  readonly peerMs: number | undefined
}

const fmt = (ms: number | undefined): string => (ms === undefined ? '–' : `${Math.round(ms)}`)
const avg = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const time = (l: Line): number => Number(l.time)

/** The first of `lines` at or after `from` that passes `test`. */
function firstAfter(
  lines: readonly Line[],
  from: number,
  test: (l: Line) => boolean,
): Line | undefined {
  return lines.find((l) => time(l) >= from && test(l))
}

async function moveAndMeasure(
  ml: MobilityLab,
  transfer: Transfer,
  to: number,
): Promise<MoveResult> {
  const move = await ml.lab.move('mobile', to, GAP_MS)
  const resumed = await transfer.resumedAfter(move.attachedAt)
  const a = move.attachedAt
  const lines = ml.mobile.proc.lines
  const detect = firstAfter(
    lines,
    a,
    (l) => l.msg === 'network changed' && (l.added as unknown[]).length > 0,
  )
  const rejoin = firstAfter(lines, a, (l) => l.msg === 'overlay address' && l.reason === 'rejoined')
  const session = firstAfter(lines, a, (l) => l.msg === 'session resumed')
  const fixedSession = firstAfter(ml.fixed.proc.lines, a, (l) => l.msg === 'session resumed')
  const sessionAt =
    session !== undefined && time(session) <= Number(resumed.t) + 5000 ? time(session) : undefined
  return {
    to: move.address,
    detachedAt: move.detachedAt,
    attachedAt: a,
    ipMs: move.upAt - a,
    resumeMs: Number(resumed.t) - a,
    detectMs: detect && time(detect) - a,
    rejoinMs: rejoin && time(rejoin) - a,
    sessionMs: sessionAt && sessionAt - a,
    peerMs: fixedSession && time(fixedSession) - a,
  }
}

// ---------------------------------------------------------------- ssh -L baseline

async function startSsh(ml: MobilityLab): Promise<{ sshd: LabProcess; ssh: LabProcess }> {
  const dir = join(ml.lab.dir, 'ssh')
  mkdirSync(dir, { recursive: true })
  const fixedIp = ml.fixed.host.address as string
  const { config, key } = await writeSshdConfig(dir, { host: fixedIp, port: 22 })
  const sshd = ml.lab.spawn('fixed', 'sshd', [SSHD, '-D', '-e', '-f', config])
  await sshd.waitFor((l) => /Server listening on/.test(String(l.text)), 'sshd to listen')
  const ssh = ml.lab.spawn('mobile', 'ssh', [
    'ssh',
    '-v',
    '-N',
    '-L',
    `127.0.0.1:${SSH_PORT}:127.0.0.1:${RECEIVER_PORT}`,
    '-c',
    'aes128-gcm@openssh.com',
    ...sshArgs({ key }),
    '-o',
    'ExitOnForwardFailure=yes',
    `root@${fixedIp}`,
  ])
  await ssh.waitFor((l) => /Local forwarding listening on/.test(String(l.text)), 'ssh -L to listen')
  return { sshd, ssh }
}

interface SshResult {
  readonly outcome: string
  readonly attachedAt: number
  readonly detachedAt: number
  readonly transfer: Transfer
}

async function sshBaseline(ml: MobilityLab, conn: number, to: number): Promise<SshResult> {
  const { ssh } = await startSsh(ml)
  const transfer = await Transfer.start(ml, conn, RATE, SSH_PORT)
  await sleep(STEADY_MS)
  const move = await ml.lab.move('mobile', to, GAP_MS)
  const a = move.attachedAt
  let watching = true
  const broke = new Promise<string>((r) => {
    const check = (): void => {
      if (!watching) return
      const err = transfer.errors()[0]
      if (err !== undefined) {
        r(`the connection broke ${Date.now() - a} ms after the attachment (${String(err.code)})`)
      } else if (ssh.exited) {
        r(`ssh exited ${Date.now() - a} ms after the attachment`)
      } else setTimeout(check, 100)
    }
    check()
  })
  const outcome = await Promise.race([
    transfer.resumedAfter(a).then((l) => `next byte ${Number(l.t) - a} ms after the attachment`),
    broke,
    new Promise<void>((r) => setTimeout(r, SSH_WATCH_MS).unref()).then(
      () =>
        `no byte within ${SSH_WATCH_MS / 1000} s of the attachment: stalled, the connection ` +
        `neither broken nor recovered${ssh.exited ? '' : ' (ssh still running)'}`,
    ),
  ])
  watching = false
  ssh.child.kill('SIGTERM')
  transfer.sender.child.kill('SIGTERM')
  return { outcome, attachedAt: a, detachedAt: move.detachedAt, transfer }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

// ---------------------------------------------------------------- the plot

interface Series {
  readonly label: string
  readonly colour: string
  readonly points: readonly { x: number; y: number }[]
}

/** MB/s per `binMs`, x in seconds from `zero`, from the receiver's ticks. */
function throughput(
  ticks: readonly { t: number; bytes: number }[],
  zero: number,
  fromS: number,
  toS: number,
  binMs = 250,
): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = []
  const at = (t: number): number => {
    let bytes = 0
    for (const k of ticks) {
      if (k.t > t) break
      bytes = k.bytes
    }
    return bytes
  }
  for (let x = fromS * 1000; x + binMs <= toS * 1000; x += binMs) {
    const t0 = zero + x
    const y = (at(t0 + binMs) - at(t0)) / 1e6 / (binMs / 1000)
    out.push({ x: (x + binMs / 2) / 1000, y })
  }
  return out
}

function plotSvg(
  title: string,
  series: readonly Series[],
  marks: readonly { x: number; label: string }[],
): string {
  const W = 900
  const H = 420
  const L = 70
  const R = 20
  const T = 40
  const B = 60
  const xs = series.flatMap((s) => s.points.map((p) => p.x))
  const x0 = Math.min(...xs)
  const x1 = Math.max(...xs)
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y))) * 1.1
  const sx = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R)
  const sy = (y: number): number => T + (1 - y / yMax) * (H - T - B)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fcfcfa"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle">${escapeXml(title)}</text>`,
    `<line x1="${L}" y1="${sy(0)}" x2="${W - R}" y2="${sy(0)}" stroke="#445"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${sy(0)}" stroke="#445"/>`,
  ]
  const yStep = niceStep(yMax / 5)
  for (let y = 0; y <= yMax; y += yStep) {
    out.push(
      `<line x1="${L - 4}" y1="${sy(y).toFixed(1)}" x2="${W - R}" y2="${sy(y).toFixed(1)}" stroke="#dde" stroke-width="0.6"/>`,
      `<text x="${L - 8}" y="${(sy(y) + 4).toFixed(1)}" font-size="12" text-anchor="end">${round(y)}</text>`,
    )
  }
  const xStep = niceStep((x1 - x0) / 10)
  for (let x = Math.ceil(x0 / xStep) * xStep; x <= x1; x += xStep) {
    out.push(
      `<line x1="${sx(x).toFixed(1)}" y1="${sy(0)}" x2="${sx(x).toFixed(1)}" y2="${sy(0) + 4}" stroke="#445"/>`,
      `<text x="${sx(x).toFixed(1)}" y="${sy(0) + 18}" font-size="12" text-anchor="middle">${round(x)}</text>`,
    )
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 14}" font-size="13" text-anchor="middle">time from the detachment (s)</text>`,
    `<text x="18" y="${(T + sy(0)) / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${(T + sy(0)) / 2})">application throughput (MB/s)</text>`,
  )
  for (const m of marks) {
    out.push(
      `<line x1="${sx(m.x).toFixed(1)}" y1="${T}" x2="${sx(m.x).toFixed(1)}" y2="${sy(0)}" stroke="#888" stroke-dasharray="4 3"/>`,
      `<text x="${(sx(m.x) + 4).toFixed(1)}" y="${T + 14}" font-size="12" fill="#555">${escapeXml(m.label)}</text>`,
    )
  }
  series.forEach((s, i) => {
    const d = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join('')
    out.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.8"/>`,
      `<line x1="${W - R - 220}" y1="${T + 34 + i * 18}" x2="${W - R - 196}" y2="${T + 34 + i * 18}" stroke="${s.colour}" stroke-width="2.5"/>`,
      `<text x="${W - R - 190}" y="${T + 38 + i * 18}" font-size="12">${escapeXml(s.label)}</text>`,
    )
  })
  out.push('</svg>')
  return out.join('\n')
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw))
  const f = raw / p
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
}

const round = (v: number): string => String(Math.round(v * 100) / 100)

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const skip = await labUnavailable()
  if (skip !== undefined) {
    console.error(`bench:mobility: ${skip}`)
    process.exitCode = 1
    return
  }
  console.log(
    `bench:mobility: ${MOVES} moves, ${GAP_MS / 1000} s gaps, ${RATE} MB/s sender${SSH ? ', ssh -L baseline' : ''}`,
  )
  const t0 = Date.now()
  const ml = await buildMobilityLab(values['log-level'])
  try {
    console.log(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    const transfer = await Transfer.start(ml, 0, RATE)
    const results: MoveResult[] = []
    for (let i = 0; i < MOVES; i++) {
      await sleep(STEADY_MS)
      const r = await moveAndMeasure(ml, transfer, i % 2 === 0 ? 2 : 1)
      results.push(r)
      console.log(
        `move ${i + 1} → ${r.to}: first byte ${fmt(r.resumeMs)} ms after attachment ` +
          `(address seen ${fmt(r.detectMs)}, re-joined ${fmt(r.rejoinMs)}, session resumed ` +
          `${fmt(r.sessionMs)}, at the peer ${fmt(r.peerMs)})`,
      )
    }
    await sleep(1000)
    const done = await transfer.stop()
    const intact = done.sent.sha256 === done.received.sha256 && transfer.errors().length === 0
    const mobileView = await sessionWith(ml, ml.mobile, ml.fixed)
    const lat = results.map((r) => r.resumeMs)
    const parts = (f: (r: MoveResult) => number | undefined): string => {
      const v = results.map(f).filter((x): x is number => x !== undefined)
      return v.length === 0 ? '–' : `${fmt(avg(v))} / ${fmt(Math.max(...v))}`
    }
    console.log('')
    console.log(
      `transfer: ${(Number(done.sent.bytes) / 1e6).toFixed(1)} MB, ${intact ? 'intact (SHA-256 equal, no socket error)' : 'NOT INTACT'}; ` +
        `session rows ${mobileView.rows}, resumptions ${mobileView.resumptions}`,
    )
    console.log('')
    console.log(`| after a ${GAP_MS / 1000} s gap | avg resumption | max resumption |`)
    console.log('| --- | ---: | ---: |')
    console.log(
      `| **semos** (this run, ${results.length} moves) | **${(avg(lat) / 1000).toFixed(3)} s** | **${(Math.max(...lat) / 1000).toFixed(3)} s** |`,
    )
    console.log('')
    console.log('where the time goes, avg / max ms from the attachment:')
    console.log(`  the node sees its new address (netwatch):      ${parts((r) => r.detectMs)}`)
    console.log(`  the node is placed in the overlay again:       ${parts((r) => r.rejoinMs)}`)
    console.log(`  (the attaching ip command itself took:         ${parts((r) => r.ipMs)})`)
    console.log(`  its session resumed (when it had suspended):  ${parts((r) => r.sessionMs)}`)
    console.log(`  the fixed node's session resumed:             ${parts((r) => r.peerMs)}`)
    console.log(`  first application byte at the receiver:        ${parts((r) => r.resumeMs)}`)

    let sshResult: SshResult | undefined
    if (SSH) {
      sshResult = await sshBaseline(ml, 1, MOVES % 2 === 0 ? 2 : 1)
      console.log('')
      console.log(`ssh -L, the same move: ${sshResult.outcome}`)
    }
    // The plot: the first move of semos, and the ssh move, on the same time axis.
    const first = results[0]
    if (first !== undefined && values.svg !== '') {
      const span = (GAP_MS + STEADY_MS - 500) / 1000
      const series: Series[] = [
        {
          label: 'semos forward -L',
          colour: '#2b4c7e',
          points: throughput(transfer.ticks(), first.detachedAt, -3, span),
        },
      ]
      if (sshResult !== undefined) {
        series.push({
          label: 'ssh -L (OpenSSH)',
          colour: '#d0682d',
          points: throughput(sshResult.transfer.ticks(), sshResult.detachedAt, -3, span),
        })
      }
      const svg = plotSvg(
        `Application throughput across a move (${GAP_MS / 1000} s off the network)`,
        series,
        [
          { x: 0, label: 'detached' },
          { x: (first.attachedAt - first.detachedAt) / 1000, label: 'attached' },
        ],
      )
      const path = resolve(values.svg)
      writeFileSync(path, svg)
      console.log(`\nplot: ${path}`)
    }
  } finally {
    await ml.lab.destroy()
  }
}

await main()
