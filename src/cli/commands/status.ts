/** `semos status`: what the running daemon reports about itself. */
import type { Command } from 'commander'
import { callDaemon, type Io } from '../io.ts'

export function registerStatus(program: Command, io: Io): void {
  program
    .command('status')
    .description("show the running daemon's status")
    .option('--json', 'print JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (flags: { stateDir?: string; json?: boolean }) => {
      const status = await callDaemon(io, flags, 'status')
      // Pretty JSON for people as well until the status has a settled shape for a table.
      io.out(`${JSON.stringify(status, null, flags.json === true ? undefined : 2)}\n`)
    })
}
