/** `semos status`: what the running daemon reports about itself (a summary, or --json). */
import type { Command } from 'commander'
import { callDaemon, type Io } from '../io.ts'

interface LinkRow {
  readonly peer?: string
  readonly role: string
  readonly address?: string
  readonly endpoint?: string
  readonly bytesIn: number
  readonly bytesOut: number
}

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
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  for (const r of rows)
    lines.push(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
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

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 ** 2).toFixed(1)} MiB`
}
