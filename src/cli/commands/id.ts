/** `semos id`: prints this node's permanent name, creating its identity on first use. */
import type { Command } from 'commander'
import { resolveStateDir } from '../../node/config.ts'
import { loadOrCreateIdentity } from '../../node/state-dir.ts'
import type { Io } from '../io.ts'

export function registerId(program: Command, io: Io): void {
  program
    .command('id')
    .description("print this node's name (creates its identity on first run)")
    .option('--state-dir <dir>', 'state directory (identity.key, control.sock)')
    .action((flags: { stateDir?: string }) => {
      const stateDir = resolveStateDir(flags, io.env)
      const identity = loadOrCreateIdentity(stateDir, {
        onCreate: (keyPath) => io.err(`semos: created a new identity in ${keyPath}\n`),
      })
      io.out(`${identity.name}\n`)
    })
}
