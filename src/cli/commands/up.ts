/**
 * `semos up` (also `semos node`): runs a node in the foreground until SIGINT or
 * SIGTERM — the overlay, sessions, the forwards given by flags and the config file,
 * and the control socket through which `semos forward`, `expose`, `status`… reach it.
 * Order matters: the control socket is claimed before anything else, so a second
 * daemon on the same state directory stops before it binds any port.
 */
import type { Command } from 'commander'
import {
  type ExposeEntry,
  formatHostPort,
  resolveDaemonOptions,
  resolveForwardSettings,
} from '../../node/config.ts'
import { ControlError } from '../../node/control.ts'
import { serveControl } from '../../node/control-server.ts'
import { startDaemon } from '../../node/daemon.ts'
import { createLogger, type Logger } from '../../node/logger.ts'
import { Petnames, petnamesPath } from '../../node/petnames.ts'
import { type ForwardKindName, Service } from '../../node/service.ts'
import { controlSocketPath, loadOrCreateIdentity } from '../../node/state-dir.ts'
import { CommandFailure, EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.ts'
import type { Io } from '../io.ts'

interface UpFlags {
  readonly listen?: string
  readonly advertise?: string
  readonly join?: string[]
  readonly stateDir?: string
  readonly config?: string
  readonly logLevel?: string
  readonly local?: string[]
  readonly dynamic?: string[]
  readonly expose?: string[]
  readonly allow?: string[]
  readonly allowAny?: boolean
  readonly metrics?: string
  readonly petnames?: string
}

export function registerUp(program: Command, io: Io): void {
  program
    .command('up')
    .alias('node')
    .description('run a node in the foreground: overlay, sessions, forwards, control socket')
    .option('--listen <host:port>', 'TCP address for overlay links (default 127.0.0.1:7400)')
    .option('--advertise <host:port>', 'address other nodes should dial (default: --listen)')
    .option('--join <host:port>', 'join the overlay through this member (repeatable)', collect)
    .option('-L, --local <spec>', 'forward [bind_address:]port:NAME:port (repeatable)', collect)
    .option('-D, --dynamic <spec>', 'SOCKS5 proxy on [bind_address:]port (repeatable)', collect)
    .option('--expose <spec>', 'expose a local service: [host:]port or port:host:hostport', collect)
    .option('--allow <name>', 'who may use --expose ports: a name or alias (repeatable)', collect)
    .option('--allow-any', 'let every node of the overlay use --expose ports')
    .option('--metrics <[host:]port>', 'serve Prometheus metrics on this loopback address')
    .option('--state-dir <dir>', 'state directory (identity.key, control.sock)')
    .option('--config <file>', 'config file (TOML)')
    .option('--petnames <file>', 'petnames file (default: petnames.toml beside the config)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
    .action(async (flags: UpFlags) => {
      process.exit(await runUp(flags, io))
    })
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function runUp(flags: UpFlags, io: Io): Promise<number> {
  const { options, logLevel, configPath } = resolveDaemonOptions(flags, io.env)
  const settings = resolveForwardSettings(flags, io.env)
  if (flags.allowAny === true && flags.allow !== undefined) {
    throw new UsageError('--allow and --allow-any: give one or the other')
  }
  const exposeAllow = flags.allowAny === true ? '*' : (flags.allow ?? settings.exposeAllow)
  const petnames = Petnames.load(petnamesPath(flags, io.env))
  const log = createLogger({ level: logLevel })
  const identity = loadOrCreateIdentity(options.stateDir, {
    onCreate: (keyPath) => log.info({ keyPath }, 'created a new identity'),
  })
  const controlPath = controlSocketPath(options.stateDir)
  let service: Service | undefined
  const control = await serveControl(
    controlPath,
    (method, params) => {
      if (service === undefined) {
        throw ControlError.remote('starting', 'the daemon is still starting')
      }
      return service.handle(method, params)
    },
    { log },
  )
  let daemon: Awaited<ReturnType<typeof startDaemon>>
  try {
    daemon = await startDaemon(options, { identity, log })
  } catch (err) {
    await control.close()
    throw err
  }
  const s = new Service({
    daemon,
    petnames,
    log,
    configPath: settings.configPath,
    ...(exposeAllow !== undefined && { exposeAllow }),
  })
  try {
    await s.start(flags.metrics ?? settings.metrics)
    const wanted: [ForwardKindName, readonly ExposeEntry[]][] = [
      ['local', [...settings.local, ...(flags.local ?? [])].map((spec) => ({ spec }))],
      ['dynamic', [...settings.dynamic, ...(flags.dynamic ?? [])].map((spec) => ({ spec }))],
      ['expose', [...settings.expose, ...(flags.expose ?? []).map((spec) => ({ spec }))]],
    ]
    for (const [kind, entries] of wanted) {
      for (const { spec, allow } of entries) {
        const f = await s.addForward(kind, spec, allow)
        io.err(`semos: ${kind} forward ${f.id}${f.bound ? ` on ${f.bound}` : ''}\n`)
      }
    }
  } catch (err) {
    await s.close()
    await control.close()
    if (!(err instanceof ControlError)) throw err
    throw err.remoteCode === 'bad-spec'
      ? new UsageError(err.message)
      : new CommandFailure(err.message)
  }
  service = s
  log.info(
    {
      name: daemon.name,
      listen: formatHostPort(options.listen),
      advertise: options.advertise,
      bootstrap: options.bootstrap,
      control: controlPath,
      config: configPath,
      petnames: petnames.path,
    },
    options.bootstrap.length === 0 ? 'semos up: started a new overlay' : 'semos up: running',
  )
  const stopRequested = onStopSignal(s, log)
  await daemon.stopped
  await control.close()
  if (!stopRequested()) throw new CommandFailure('the daemon stopped unexpectedly (see the log)')
  log.info('semos stopped')
  return EXIT_OK
}

/** Stops gracefully on the first SIGINT/SIGTERM; a second one exits at once. */
function onStopSignal(service: Service, log: Logger): () => boolean {
  let requested = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (requested) {
      log.warn({ signal }, 'second signal: exiting without a graceful stop')
      process.exit(EXIT_FAILURE)
    }
    requested = true
    log.info({ signal }, 'stopping')
    service.close().catch((err: unknown) => log.error({ err }, 'graceful stop failed'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => requested
}
