/** `semos status`: what the running daemon reports about itself (a summary, or --json). */
import type { Command } from 'commander'
import type { SessionRow as NodeSessionRow } from '../../node/semos-node.ts'
import { callDaemon, type Io } from '../io.ts'
import { formatForwards } from './forward.ts'

interface LinkRow {
  readonly peer?: string
  readonly role: string
  readonly address?: string
  readonly endpoint?: string
  readonly bytesIn: number
  readonly bytesOut: number
}

/** A session as `semos up` reports it: the node's row, with the peer's alias if it has one. */
type SessionRow = NodeSessionRow & { readonly alias?: string }

interface Status {
  readonly name: string
  readonly endpoint: string
  readonly placement: string
  readonly address?: string
  readonly parent?: string
  readonly subtreeSize: number
  readonly uptimeMs: number
  readonly links: LinkRow[]
  readonly dht: { readonly records: number; readonly rejected: Record<string, number> }
  readonly overlay: { readonly forwarded: number; readonly drops: Record<string, number> }
  readonly linkCloses: Record<string, number>
  readonly drops: Record<string, number>
  /** From `semos up` (absent from a bare overlay daemon). */
  readonly sessions?: SessionRow[]
  readonly forwards?: unknown[]
  readonly connections?: number
}

export function registerStatus(program: Command, io: Io): void {
  program
    .command('status')
    .description("show the running daemon's status")
    .option('--json', 'print JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (flags: { stateDir?: string; json?: boolean }) => {
      const status = (await callDaemon(io, flags, 'status')) as Status
      io.out(flags.json === true ? `${JSON.stringify(status)}\n` : formatStatus(status))
    })
}

/** A person's view: the node, its links as a table, then the counters that are not zero. */
export function formatStatus(s: Status): string {
  const lines = [
    `name      ${s.name}`,
    `endpoint  ${s.endpoint}`,
    `address   ${s.address ?? '-'} (${s.placement}${s.parent ? `, parent ${s.parent.slice(0, 8)}…` : ''}, subtree ${s.subtreeSize})`,
    `uptime    ${Math.round(s.uptimeMs / 1000)} s`,
    `records   ${s.dht.records} held for the DHT; ${s.overlay.forwarded} frames relayed`,
    '',
  ]
  if (s.sessions !== undefined) lines.push(...sessionLines(s.sessions))
  if (s.forwards !== undefined) {
    lines.push(`forwards  ${s.forwards.length} (${s.connections ?? 0} connections open)`)
    if (s.forwards.length > 0) lines.push(formatForwards(s.forwards).trimEnd())
    lines.push('')
  }
  lines.push(`links     ${s.links.length}`)
  const rows = [['PEER', 'ROLE', 'ADDRESS', 'ENDPOINT', 'IN', 'OUT']]
  for (const l of s.links) {
    rows.push([
      l.peer ? `${l.peer.slice(0, 8)}…` : '?',
      l.role,
      l.address ?? '-',
      l.endpoint ?? '-',
      bytes(l.bytesIn),
      bytes(l.bytesOut),
    ])
  }
  lines.push(...table(rows))
  const counters: [string, Record<string, number>][] = [
    ['link closes', s.linkCloses],
    ['overlay drops', s.overlay.drops],
    ['DHT rejects', s.dht.rejected],
    ['daemon drops', s.drops],
  ]
  for (const [what, c] of counters) {
    const nonZero = Object.entries(c).filter(([, n]) => n > 0)
    if (nonZero.length > 0)
      lines.push(`${what}: ${nonZero.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}

function sessionLines(sessions: readonly SessionRow[]): string[] {
  const now = Date.now()
  const lines = [`sessions  ${sessions.length}`]
  const rows = [['PEER', 'STATE', 'STREAMS', 'IN', 'OUT', 'RTT', 'LAST SUSPENSION']]
  for (const x of sessions) {
    rows.push([
      x.alias ?? `${x.peerName.slice(0, 8)}…`,
      `${x.state} for ${duration(now - x.sinceMs)}`,
      String(x.streams),
      bytes(x.bytesIn),
      bytes(x.bytesOut),
      x.rttMs === undefined ? '-' : `${x.rttMs.toFixed(1)} ms`,
      lastSuspension(x),
    ])
  }
  if (sessions.length > 0) lines.push(...table(rows), '')
  return lines
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  )
}

function lastSuspension(x: SessionRow): string {
  if (x.lastSuspendedForMs === undefined) return '-'
  const resumed =
    x.lastResumedInMs === undefined
      ? ''
      : x.lastResumedInMs < 1
        ? ', resumed within 1 ms of the re-join'
        : `, resumed ${duration(x.lastResumedInMs)} after re-join`
  const times = x.resumptions > 1 ? ` (${x.resumptions} resumptions)` : ''
  return `${duration(x.lastSuspendedForMs)}${resumed}${times}`
}

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.floor(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 ** 2).toFixed(1)} MiB`
}
