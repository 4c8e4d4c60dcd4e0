/**
 * `semos node`: runs the daemon in the foreground until SIGINT or SIGTERM.
 * Order matters: the control socket is claimed before the daemon starts, so a
 * second `semos node` on the same state directory stops before it binds any
 * overlay port or touches the network.
 */
import type { Command } from 'commander'
import { formatHostPort, resolveDaemonOptions } from '../../node/config.ts'
import { ControlError } from '../../node/control.ts'
import { serveControl } from '../../node/control-server.ts'
import { startDaemon } from '../../node/daemon.ts'
import type { Daemon } from '../../node/daemon-api.ts'
import { createLogger, type Logger } from '../../node/logger.ts'
import { controlSocketPath, loadOrCreateIdentity } from '../../node/state-dir.ts'
import { CommandFailure, EXIT_FAILURE, EXIT_OK } from '../errors.ts'
import type { Io } from '../io.ts'

interface NodeFlags {
  readonly listen?: string
  readonly advertise?: string
  readonly join?: string[]
  readonly stateDir?: string
  readonly config?: string
  readonly logLevel?: string
}

export function registerNode(program: Command, io: Io): void {
  program
    .command('node')
    .description('run the overlay daemon in the foreground')
    .option('--listen <host:port>', 'TCP address for overlay links (default 127.0.0.1:7400)')
    .option('--advertise <host:port>', 'address other nodes should dial (default: --listen)')
    .option('--join <host:port>', 'join the overlay through this member (repeatable)', collect)
    .option('--state-dir <dir>', 'state directory (identity.key, control.sock)')
    .option('--config <file>', 'config file (TOML)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
    .action(async (flags: NodeFlags) => {
      process.exit(await runNode(flags, io))
    })
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function runNode(flags: NodeFlags, io: Io): Promise<number> {
  const { options, logLevel, configPath } = resolveDaemonOptions(flags, io.env)
  const log = createLogger({ level: logLevel })
  const identity = loadOrCreateIdentity(options.stateDir, {
    onCreate: (keyPath) => log.info({ keyPath }, 'created a new identity'),
  })
  const controlPath = controlSocketPath(options.stateDir)
  let daemon: Daemon | undefined
  const control = await serveControl(
    controlPath,
    (method, params) => {
      if (daemon === undefined)
        throw ControlError.remote('starting', 'the daemon is still starting')
      return daemon.handle(method, params)
    },
    { log },
  )
  try {
    daemon = await startDaemon(options, { identity, log })
  } catch (err) {
    await control.close()
    throw err
  }
  log.info(
    {
      name: daemon.name,
      listen: formatHostPort(options.listen),
      advertise: options.advertise,
      bootstrap: options.bootstrap,
      control: controlPath,
      config: configPath,
    },
    options.bootstrap.length === 0 ? 'semos node started a new overlay' : 'semos node running',
  )
  const stopRequested = onStopSignal(daemon, log)
  await daemon.stopped
  await control.close()
  if (!stopRequested()) throw new CommandFailure('the daemon stopped unexpectedly (see the log)')
  log.info('semos node stopped')
  return EXIT_OK
}

/** Stops gracefully on the first SIGINT/SIGTERM; a second one exits at once. */
function onStopSignal(daemon: Daemon, log: Logger): () => boolean {
  let requested = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (requested) {
      log.warn({ signal }, 'second signal: exiting without a graceful stop')
      process.exit(EXIT_FAILURE)
    }
    requested = true
    log.info({ signal }, 'stopping')
    daemon.stop().catch((err: unknown) => log.error({ err }, 'graceful stop failed'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => requested
}
