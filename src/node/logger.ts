/**
 * The daemon's logger: pino, always to stderr (stdout belongs to command
 * output). JSON lines when stderr is a file or a pipe, for machines; a
 * readable, coloured rendering on a terminal, for people.
 */
import { type Logger as PinoLogger, pino } from 'pino'
import pretty from 'pino-pretty'

export type Logger = PinoLogger

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)
}

export interface LoggerInit {
  readonly level: LogLevel
  /** Human-readable output; default: whether stderr is a terminal. */
  readonly pretty?: boolean
}

/**
 * A logger writing synchronously to stderr. Synchronous on purpose: a daemon
 * that exits on a fatal error must not lose the line that explains why, and
 * pino-pretty runs in-process rather than as a worker transport so that no
 * thread outlives the daemon.
 */
export function createLogger(init: LoggerInit): Logger {
  const options = { level: init.level, base: { pid: process.pid } }
  if (init.pretty ?? process.stderr.isTTY === true) {
    return pino(
      options,
      pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }),
    )
  }
  return pino(options, pino.destination({ dest: 2, sync: true }))
}
