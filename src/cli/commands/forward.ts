/**
 * The forwarding commands, which ask the running daemon (`semos up`):
 *
 *   semos forward -L [bind_address:]port:NAME:port     (as ssh -L)
 *   semos forward -D [bind_address:]port               (as ssh -D: SOCKS5, NAME.semos)
 *   semos forward -R port:host:hostport                (as ssh -R; = semos expose)
 *   semos expose [host:]port | port:host:hostport  [--allow NAME]… [--allow-any]
 *   semos unforward ID                                 (ID as `semos forwards` shows it)
 *
 * With --save, forward/expose also write the forward to the config file (so the next
 * `semos up` starts it) and unforward takes it out.
 *   semos forwards [--json]
 */
import type { Command } from 'commander'
import { ControlError } from '../../node/control.ts'
import { UsageError } from '../errors.ts'
import { callDaemon, type Io, isRecord } from '../io.ts'

interface AllowFlags {
  readonly allow?: string[]
  readonly allowAny?: boolean
  readonly stateDir?: string
  readonly save?: boolean
}

const SAVE_HELP = 'also save it to the config file, for the next semos up'

export function registerForward(program: Command, io: Io): void {
  program
    .command('forward')
    .description('add a forward to the running daemon (ssh syntax: -L, -D, -R)')
    .option('-L <spec>', 'local: [bind_address:]port:NAME:port')
    .option('-D <spec>', 'dynamic (SOCKS5): [bind_address:]port')
    .option('-R <spec>', 'expose: port:host:hostport (as semos expose)')
    .option('--allow <name>', 'for -R: who may connect, a name or alias (repeatable)', collect)
    .option('--allow-any', 'for -R: every node of the overlay may connect')
    .option('--save', SAVE_HELP)
    .option('--json', 'print the forward as JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (flags: AllowFlags & { L?: string; D?: string; R?: string; json?: boolean }) => {
      const given = (['L', 'D', 'R'] as const).filter((k) => flags[k] !== undefined)
      if (given.length !== 1) throw new UsageError('give exactly one of -L, -D or -R')
      const k = given[0] as 'L' | 'D' | 'R'
      const kind = k === 'L' ? 'local' : k === 'D' ? 'dynamic' : 'expose'
      if (kind !== 'expose' && (flags.allow !== undefined || flags.allowAny === true)) {
        throw new UsageError('--allow and --allow-any go with -R (or semos expose)')
      }
      await add(io, flags, kind, flags[k] as string, flags.json === true)
    })
  program
    .command('expose')
    .description('make a local service reachable from the overlay (as ssh -R)')
    .argument('<spec>', '[host:]port, or port:host:hostport (overlay port : local service)')
    .option('--allow <name>', 'who may connect: a name or alias (repeatable)', collect)
    .option('--allow-any', 'every node of the overlay may connect')
    .option('--save', SAVE_HELP)
    .option('--json', 'print the forward as JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (spec: string, flags: AllowFlags & { json?: boolean }) => {
      await add(io, flags, 'expose', spec, flags.json === true)
    })
  program
    .command('unforward')
    .description('stop a forward (connections already open stay)')
    .argument('<id>', 'the forward, as `semos forwards` shows it, e.g. "L 127.0.0.1:8080"')
    .option('--save', 'also take it out of the config file')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (id: string, flags: { stateDir?: string; save?: boolean }) => {
      const r = await callDaemon(io, flags, 'forward-remove', {
        id,
        ...(flags.save === true && { save: true }),
      })
      const unsaved = isRecord(r) && typeof r.unsaved === 'number' ? r.unsaved : undefined
      io.out(
        `stopped ${id}${unsaved === undefined ? '' : unsaved > 0 ? ', removed from the config' : ' (it was not in the config)'}\n`,
      )
    })
  program
    .command('forwards')
    .description("list the running daemon's forwards")
    .option('--json', 'print JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (flags: { stateDir?: string; json?: boolean }) => {
      const rows = await callDaemon(io, flags, 'forwards')
      io.out(flags.json === true ? `${JSON.stringify(rows)}\n` : formatForwards(rows))
    })
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function add(
  io: Io,
  flags: AllowFlags,
  kind: 'local' | 'dynamic' | 'expose',
  spec: string,
  json: boolean,
): Promise<void> {
  if (flags.allowAny === true && flags.allow !== undefined) {
    throw new UsageError('--allow and --allow-any: give one or the other')
  }
  const allow = flags.allowAny === true ? '*' : flags.allow
  const info = await callDaemon(io, flags, 'forward-add', {
    kind,
    spec,
    ...(allow !== undefined && { allow }),
    ...(flags.save === true && { save: true }),
  }).catch((err: unknown) => {
    // A spec the daemon cannot parse is the user's to fix, like a bad flag (exit 2).
    if (err instanceof ControlError && err.remoteCode === 'bad-spec') {
      throw new UsageError(err.message)
    }
    throw err
  })
  if (json) {
    io.out(`${JSON.stringify(info)}\n`)
    return
  }
  const f = isRecord(info) ? info : {}
  const saved = flags.save === true ? ' (saved to the config)' : ''
  io.out(`${String(f.id)}${typeof f.bound === 'string' ? ` on ${f.bound}` : ''}${saved}\n`)
}

/** One line per forward: id, where it goes, who may use it, open connections. */
export function formatForwards(rows: unknown): string {
  if (!Array.isArray(rows) || rows.length === 0) return 'no forwards\n'
  const lines = rows.filter(isRecord).map((r) => {
    const spec = isRecord(r.spec) ? r.spec : {}
    let to = ''
    if (spec.kind === 'local' && isRecord(spec.target)) {
      const alias = typeof r.alias === 'string' ? ` (${r.alias})` : ''
      to = `→ ${String(spec.target.name)}${alias}:${String(spec.target.port)}`
    } else if (spec.kind === 'dynamic') {
      to = '→ SOCKS5, NAME.semos'
    } else if (spec.kind === 'expose' && isRecord(spec.service)) {
      const allow =
        r.allow === '*' ? 'anyone' : Array.isArray(r.allow) ? r.allow.join(', ') : 'named peers'
      to = `← ${String(spec.service.host)}:${String(spec.service.port)} (allow: ${allow})`
    }
    const on = typeof r.bound === 'string' ? ` on ${r.bound}` : ''
    return `${String(r.id)}${on}  ${to}  ${String(r.connections)} open`
  })
  return `${lines.join('\n')}\n`
}
