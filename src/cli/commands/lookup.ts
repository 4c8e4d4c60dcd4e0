/** `semos lookup NAME`: the name's current overlay address, from the DHT. */
import type { Command } from 'commander'
import { ControlError } from '../../node/control.ts'
import { CommandFailure } from '../errors.ts'
import { callDaemon, type Io, isRecord, nameArgument } from '../io.ts'

export function registerLookup(program: Command, io: Io): void {
  program
    .command('lookup')
    .description("look up a name's current overlay address")
    .argument('<name>', 'a node name (52 characters of a-z, 2-7) or an alias')
    .option('--json', 'print the record as JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (nameText: string, flags: { stateDir?: string; json?: boolean }) => {
      const name = nameArgument(nameText, io)
      const record = await callDaemon(io, flags, 'lookup', { name }).catch((err: unknown) => {
        throw notFound(err) ? new CommandFailure(`${name}: not found`) : err
      })
      io.out(flags.json === true ? `${JSON.stringify(record)}\n` : formatRecord(record))
    })
}

export function notFound(err: unknown): boolean {
  return err instanceof ControlError && err.code === 'remote' && err.remoteCode === 'not-found'
}

function formatRecord(record: unknown): string {
  if (!isRecord(record)) return `${JSON.stringify(record)}\n`
  const rows: [string, unknown][] = [
    ['name', record.name],
    ['address', record.address],
    ['seq', record.seq],
  ]
  if (typeof record.expiresAtMs === 'number') {
    const inS = Math.round((record.expiresAtMs - Date.now()) / 1000)
    rows.push(['expires', `${new Date(record.expiresAtMs).toISOString()} (in ${inS} s)`])
  }
  if (record.hops !== undefined) rows.push(['hops', record.hops])
  return rows
    .map(([k, v]) => `${k.padEnd(8)} ${typeof v === 'string' ? v : JSON.stringify(v)}\n`)
    .join('')
}
