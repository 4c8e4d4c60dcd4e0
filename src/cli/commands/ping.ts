/**
 * `semos ping NAME`: round trips through the overlay to a name, one probe per
 * interval, printed like ping(8) with a summary at the end (also on Ctrl-C).
 * Exits 0 if any probe was answered.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { type Command, InvalidArgumentError } from 'commander'
import { ControlError } from '../../node/control.ts'
import { CommandFailure } from '../errors.ts'
import { callDaemon, type Io, isRecord, nameArgument } from '../io.ts'
import { notFound } from './lookup.ts'

interface PingFlags {
  readonly count: number
  readonly intervalMs: number
  readonly json?: boolean
  readonly stateDir?: string
}

interface Probe {
  readonly seq: number
  readonly rttMs?: number
  readonly hops?: number
  readonly address?: unknown
  readonly error?: string
}

export function registerPing(program: Command, io: Io): void {
  program
    .command('ping')
    .description('measure round trips to a name through the overlay')
    .argument('<name>', 'a node name (52 characters of a-z, 2-7) or an alias')
    .option('-c, --count <n>', 'number of probes', positiveInt, 4)
    .option('--interval-ms <ms>', 'time between probes', positiveInt, 1000)
    .option('--json', 'print the probes and summary as JSON')
    .option('--state-dir <dir>', 'state directory holding control.sock')
    .action(async (nameText: string, flags: PingFlags) => {
      const name = nameArgument(nameText, io)
      const probes = await runProbes(io, name, flags)
      const replies = probes.filter((p) => p.rttMs !== undefined).length
      io.out(
        flags.json === true
          ? `${JSON.stringify(summary(name, probes))}\n`
          : formatSummary(name, probes),
      )
      if (replies === 0) throw new CommandFailure(`${name}: no reply`)
    })
}

async function runProbes(io: Io, name: string, flags: PingFlags): Promise<Probe[]> {
  const probes: Probe[] = []
  const interrupted = new AbortController()
  const onSigint = (): void => interrupted.abort()
  process.once('SIGINT', onSigint)
  if (flags.json !== true) io.out(`PING ${name}\n`)
  try {
    for (let seq = 1; seq <= flags.count && !interrupted.signal.aborted; seq++) {
      const probe = await runProbe(io, name, seq, flags, interrupted.signal)
      if (probe === undefined) break
      probes.push(probe)
      if (flags.json !== true) io.out(formatProbe(probe))
      if (seq < flags.count) {
        await delay(flags.intervalMs, undefined, { signal: interrupted.signal }).catch(() => {})
      }
    }
  } finally {
    process.off('SIGINT', onSigint)
  }
  return probes
}

/** One probe; undefined if it was cut short by Ctrl-C. Failures other than a lost probe are thrown. */
async function runProbe(
  io: Io,
  name: string,
  seq: number,
  flags: PingFlags,
  signal: AbortSignal,
): Promise<Probe | undefined> {
  try {
    const reply = await callDaemon(io, flags, 'ping', { name }, { signal })
    if (!isRecord(reply) || typeof reply.rttMs !== 'number') {
      throw new CommandFailure(`the daemon's ping reply is malformed: ${JSON.stringify(reply)}`)
    }
    const hops = typeof reply.hops === 'number' ? reply.hops : undefined
    return {
      seq,
      rttMs: reply.rttMs,
      address: reply.address,
      ...(hops !== undefined ? { hops } : {}),
    }
  } catch (err) {
    if (signal.aborted) return undefined
    if (notFound(err)) throw new CommandFailure(`${name}: not found`)
    // A probe the daemon gave up on is lost, like an unanswered echo request.
    if (err instanceof ControlError && err.code === 'remote') return { seq, error: err.message }
    throw err
  }
}

/** The overlay address, not the name, on each line: it shows the peer moving. */
function formatProbe(p: Probe): string {
  if (p.rttMs === undefined) return `seq=${p.seq} lost: ${p.error}\n`
  const from = typeof p.address === 'string' ? p.address : '?'
  return `reply from ${from}: seq=${p.seq} hops=${p.hops ?? '?'} time=${p.rttMs.toFixed(2)} ms\n`
}

function summary(name: string, probes: readonly Probe[]) {
  const rtts = probes.flatMap((p) => (p.rttMs === undefined ? [] : [p.rttMs]))
  const rtt =
    rtts.length === 0
      ? undefined
      : {
          minMs: Math.min(...rtts),
          avgMs: rtts.reduce((a, b) => a + b, 0) / rtts.length,
          maxMs: Math.max(...rtts),
        }
  return { name, sent: probes.length, received: rtts.length, probes, rtt }
}

function formatSummary(name: string, probes: readonly Probe[]): string {
  const s = summary(name, probes)
  const loss = s.sent === 0 ? 0 : Math.round((100 * (s.sent - s.received)) / s.sent)
  let text = `--- ${name} ping statistics ---\n${s.sent} probes sent, ${s.received} replies, ${loss}% lost\n`
  if (s.rtt !== undefined) {
    const { minMs, avgMs, maxMs } = s.rtt
    text += `rtt min/avg/max = ${minMs.toFixed(2)}/${avgMs.toFixed(2)}/${maxMs.toFixed(2)} ms\n`
  }
  return text
}

function positiveInt(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a positive integer')
  }
  return n
}
