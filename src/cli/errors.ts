/**
 * How a command ends: exit codes, and the one line on stderr that explains a
 * failure. Every error is reported as `semos: COMMAND: message`, never with a
 * stack trace: the people reading it want what to do, not where it happened.
 */
import { CodedError } from '../core/coded-error.ts'
import { ConfigError } from '../node/config.ts'
import { ControlError } from '../node/control.ts'

export const EXIT_OK = 0
/** The command ran and failed: name not found, no reply, daemon error. */
export const EXIT_FAILURE = 1
/** Bad flags, arguments or configuration: the command never ran. */
export const EXIT_USAGE = 2
/** The command needs a daemon and none is running. */
export const EXIT_NO_DAEMON = 3

/** A bad argument or flag value found after commander's own parsing. */
export class UsageError extends CodedError<'usage'> {
  constructor(message: string) {
    super('usage', message)
  }
}

/** A runtime failure whose message is already what the user should read. */
export class CommandFailure extends CodedError<'failed'> {
  constructor(message: string) {
    super('failed', message)
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT_USAGE
  if (err instanceof ControlError && err.code === 'daemon-not-running') return EXIT_NO_DAEMON
  return EXIT_FAILURE
}

/** The one line printed for `err` (without the trailing newline). */
export function errorLine(command: string | undefined, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const prefix = command === undefined ? 'semos' : `semos: ${command}`
  return `${prefix}: ${message.replace(/\s*\n\s*/g, ' ')}`
}
