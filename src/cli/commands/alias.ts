/**
 * `semos alias`: the petnames file (docs/petnames.md), short local names for peers.
 *
 *   semos alias                    list every alias and its name
 *   semos alias ALIAS NAME         ALIAS now stands for NAME (added, or changed)
 *   semos alias --rm ALIAS         forget ALIAS
 *
 * A running daemon picks the change up on its next use of a name; nothing is sent to
 * any peer: aliases are this user's own labels.
 */
import type { Command } from 'commander'
import { Petnames, PetnamesError, petnamesPath } from '../../node/petnames.ts'
import { CommandFailure, UsageError } from '../errors.ts'
import type { Io } from '../io.ts'

interface AliasFlags {
  readonly rm?: boolean
  readonly json?: boolean
  readonly config?: string
  readonly petnames?: string
}

export function registerAlias(program: Command, io: Io): void {
  program
    .command('alias')
    .description('list, set or remove petnames: short local aliases for names')
    .argument('[alias]', 'the alias (a DNS label: a-z, 0-9, -)')
    .argument('[name]', 'the name it stands for (52 characters of a-z, 2-7)')
    .option('--rm', 'remove the alias')
    .option('--json', 'list as JSON')
    .option('--config <file>', 'config file whose directory holds petnames.toml')
    .option('--petnames <file>', 'petnames file (default: petnames.toml beside the config)')
    .action((alias: string | undefined, name: string | undefined, flags: AliasFlags) => {
      const petnames = load(io, flags)
      if (alias === undefined) {
        if (flags.rm === true) throw new UsageError('--rm needs the alias to remove')
        list(io, petnames, flags.json === true)
        return
      }
      if (flags.rm === true) {
        if (name !== undefined) throw new UsageError('--rm takes the alias only')
        const next = petnames.delete(alias)
        if (next === petnames) throw new CommandFailure(`no alias '${alias}' in ${petnames.path}`)
        save(next)
        io.out(`removed ${alias.toLowerCase()}\n`)
        return
      }
      if (name === undefined) {
        const target = petnames.resolve(alias)
        if (target === undefined)
          throw new CommandFailure(`no alias '${alias}' in ${petnames.path}`)
        io.out(`${target}\n`)
        return
      }
      let next: Petnames
      try {
        next = petnames.set(alias, name)
      } catch (err) {
        if (err instanceof PetnamesError) throw new UsageError(err.message)
        throw err
      }
      save(next)
      io.out(`${alias.toLowerCase()} = ${next.resolve(alias)}\n`)
    })
}

function load(io: Io, flags: AliasFlags): Petnames {
  try {
    return Petnames.load(petnamesPath(flags, io.env))
  } catch (err) {
    if (err instanceof PetnamesError) throw new UsageError(err.message)
    throw err
  }
}

function save(petnames: Petnames): void {
  try {
    petnames.save()
  } catch (err) {
    if (err instanceof PetnamesError) throw new CommandFailure(err.message)
    throw err
  }
}

function list(io: Io, petnames: Petnames, json: boolean): void {
  const entries = petnames.entries()
  if (json) {
    io.out(`${JSON.stringify(entries)}\n`)
    return
  }
  if (entries.length === 0) {
    io.out(`no aliases (in ${petnames.path})\n`)
    return
  }
  const width = Math.max(...entries.map((e) => e.alias.length))
  for (const e of entries) io.out(`${e.alias.padEnd(width)}  ${e.name}\n`)
}
