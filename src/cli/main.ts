/**
 * `semos`: the command-line tool. Each command lives in commands/; this file
 * wires them into commander and turns every outcome into an exit code
 * (errors.ts) and at most one line on stderr.
 */
import { Command, CommanderError } from 'commander'
import { registerAlias } from './commands/alias.ts'
import { registerForward } from './commands/forward.ts'
import { registerId } from './commands/id.ts'
import { registerLookup } from './commands/lookup.ts'
import { registerPing } from './commands/ping.ts'
import { registerStatus } from './commands/status.ts'
import { registerUp } from './commands/up.ts'
import { EXIT_OK, EXIT_USAGE, errorLine, exitCodeFor } from './errors.ts'
import { type Io, processIo } from './io.ts'

/** Runs one command line (without the node and script arguments); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = new Command('semos')
    .description('secure sessions between named nodes over the CLOAK overlay')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) =>
        write(`${errorLine(undefined, text.trim().replace(/^error: /, ''))}\n`),
    })
    .showSuggestionAfterError()
  let command: string | undefined
  program.hook('preAction', (_program, action) => {
    command = action.name()
  })
  registerId(program, io)
  registerUp(program, io)
  registerForward(program, io)
  registerLookup(program, io)
  registerPing(program, io)
  registerStatus(program, io)
  registerAlias(program, io)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return EXIT_OK
  } catch (err) {
    // commander has already printed its own message (or the help text).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    io.err(`${errorLine(command, err)}\n`)
    return exitCodeFor(err)
  }
}

process.exitCode = await main(process.argv.slice(2))
