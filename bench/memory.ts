/**
 * `npm run bench -- memory [--minutes M] [--sample-s S]`: a stream whose peer is
 * unreachable for M minutes (default 10) while the local application keeps writing.
 *
 * The peer (node B, the overlay's root, a sink on port 9) runs in a child process, so
 * that the memory reported is the writer's alone: node A, in this process, joins
 * through B and streams pseudo-random bytes to it as fast as the stream takes them
 * (awaiting 'drain', as every Node application does). After a few seconds of flow B
 * is cut off (`disconnect()`: every link dropped, none accepted) for M minutes; every
 * S seconds (default 30) this process's memory is sampled beside what the stream
 * holds. Then B re-joins through A, and the bench reports how long until the first new
 * byte reached B, and that the session was resumed rather than re-established.
 *
 * The baseline is this process's own memory just before the outage. A benchmark
 * reports; it asserts nothing (the bound itself is tested in virtual time in
 * test/session/session-manager.test.ts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createNode, type SemosNode, type SessionInfo } from '../src/node/semos-node.ts'

const PEER_FLAG = '--semos-memory-peer'
const SINK_PORT = 9
const CHUNK_BYTES = 1024 * 1024
const FLOW_BEFORE_MS = 3000
const MiB = 1024 * 1024

type PeerRequest = {
  readonly id: number
  readonly cmd: 'disconnect' | 'reconnect' | 'bytes'
  readonly via?: string
}
type PeerReply = {
  readonly id: number
  readonly bytes?: number
  readonly name?: string
  readonly endpoint?: string
}

// ---------------------------------------------------------------- the peer (child process)

async function runPeer(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'semos-memory-peer-'))
  const node = await createNode({ stateDir: dir })
  await node.joined()
  let bytes = 0
  node.listen(SINK_PORT, (stream) => {
    stream.on('error', () => {})
    stream.on('data', (c: Buffer) => {
      bytes += c.length
    })
  })
  const send = (m: PeerReply): void => {
    process.send?.(m)
  }
  process.on('message', (m: PeerRequest) => {
    if (m.cmd === 'disconnect') node.disconnect()
    if (m.cmd === 'reconnect') node.reconnect(m.via === undefined ? [] : [m.via])
    send({ id: m.id, bytes })
  })
  process.on('disconnect', () => {
    void node.close().finally(() => {
      rmSync(dir, { recursive: true, force: true })
      process.exit(0)
    })
  })
  send({ id: 0, name: node.name, endpoint: node.endpoint })
}

// ---------------------------------------------------------------- the writer (this process)

class Peer {
  readonly #child: ChildProcess
  #next = 1
  readonly #waiting = new Map<number, (r: PeerReply) => void>()

  constructor(child: ChildProcess) {
    this.#child = child
    child.on('message', (m: PeerReply) => {
      this.#waiting.get(m.id)?.(m)
      this.#waiting.delete(m.id)
    })
  }

  ready(): Promise<PeerReply> {
    return new Promise((resolve) => this.#waiting.set(0, resolve))
  }

  ask(cmd: PeerRequest['cmd'], via?: string): Promise<PeerReply> {
    const id = this.#next++
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve)
      this.#child.send({ id, cmd, via } satisfies PeerRequest)
    })
  }
}

interface Sample {
  readonly atS: number
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  /** Bytes the application had handed to the stream since the outage began. */
  readonly acceptedSinceOutage: number
  /** Bytes waiting in the Duplex's own buffer (Node's, above the session). */
  readonly writableLength: number
}

/** Resolves on the stream's next 'drain' or 'close', leaving no listener behind. */
function drainOrClose(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

/** Writes until stopped, honouring backpressure; counts what the stream took. */
function writeForever(stream: Duplex, stop: { stop: boolean }): { accepted: () => number } {
  const chunk = randomBytes(CHUNK_BYTES)
  let accepted = 0
  void (async () => {
    while (!stop.stop && !stream.destroyed) {
      accepted += chunk.length
      if (!stream.write(chunk)) await drainOrClose(stream)
    }
  })()
  return { accepted: () => accepted }
}

const mb = (n: number): string => (n / MiB).toFixed(1)

export async function benchMemory(
  args: Record<string, string | boolean | undefined>,
): Promise<void> {
  const minutes = Number(args.minutes ?? 10)
  const sampleS = Number(args['sample-s'] ?? 30)
  if (!(minutes > 0) || !(sampleS > 0))
    throw new Error('--minutes and --sample-s: positive numbers')
  const child = fork(fileURLToPath(import.meta.url), [PEER_FLAG], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const peer = new Peer(child)
  const dir = mkdtempSync(join(tmpdir(), 'semos-memory-'))
  let node: SemosNode | undefined
  try {
    const b = await peer.ready()
    node = await createNode({ stateDir: dir, bootstrap: [b.endpoint as string] })
    await node.joined()
    const events: string[] = []
    node.on('session', (e: SessionInfo) => events.push(e.type))
    const stream = node.connect(b.name as string, SINK_PORT)
    stream.on('error', (err: Error & { code?: string }) => {
      if (err.code !== 'node-closed') process.stderr.write(`stream error: ${err.message}\n`)
    })
    const stop = { stop: false }
    const writer = writeForever(stream, stop)
    await sleep(FLOW_BEFORE_MS)
    const flowed = (await peer.ask('bytes')).bytes ?? 0
    globalThis.gc?.()
    const before = process.memoryUsage()
    const acceptedAtOutage = writer.accepted()
    await peer.ask('disconnect')
    const start = performance.now()
    process.stderr.write(
      `flowing: ${mb(flowed)} MiB in ${FLOW_BEFORE_MS / 1000} s; peer cut off for ${minutes} min…\n`,
    )
    const samples: Sample[] = []
    const sample = (): void => {
      const m = process.memoryUsage()
      samples.push({
        atS: (performance.now() - start) / 1000,
        rss: m.rss,
        heapUsed: m.heapUsed,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        acceptedSinceOutage: writer.accepted() - acceptedAtOutage,
        writableLength: stream.writableLength,
      })
      const s = samples.at(-1) as Sample
      process.stderr.write(
        `  ${s.atS.toFixed(0).padStart(5)} s: rss ${mb(s.rss)} MiB, accepted since the outage ${mb(s.acceptedSinceOutage)} MiB\n`,
      )
    }
    const endAt = start + minutes * 60_000
    while (performance.now() < endAt) {
      await sleep(Math.min(sampleS * 1000, endAt - performance.now()))
      sample()
    }
    const beforeResume = (await peer.ask('reconnect', node.endpoint)).bytes ?? 0
    const reconnectAt = performance.now()
    let resumedMs = Number.NaN
    for (let i = 0; i < 600; i++) {
      await sleep(10)
      if (((await peer.ask('bytes')).bytes ?? 0) > beforeResume) {
        resumedMs = performance.now() - reconnectAt
        break
      }
    }
    stop.stop = true
    process.stdout.write(report(minutes, sampleS, before, samples, resumedMs, events))
  } finally {
    await node?.close()
    child.disconnect()
    await once(child, 'exit')
    rmSync(dir, { recursive: true, force: true })
  }
}

function report(
  minutes: number,
  sampleS: number,
  before: NodeJS.MemoryUsage,
  samples: readonly Sample[],
  resumedMs: number,
  events: readonly string[],
): string {
  const peak = (k: keyof Sample): number => Math.max(...samples.map((s) => s[k]))
  const last = samples.at(-1) as Sample
  const rows = [
    ['rss', before.rss, peak('rss'), last.rss],
    ['heap used', before.heapUsed, peak('heapUsed'), last.heapUsed],
    ['external', before.external, peak('external'), last.external],
    ['array buffers', before.arrayBuffers, peak('arrayBuffers'), last.arrayBuffers],
  ]
  const count = (t: string): number => events.filter((e) => e === t).length
  return [
    `memory bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, 127.0.0.1`,
    `command: npm run bench -- memory --minutes ${minutes} --sample-s ${sampleS}`,
    '',
    '| writer process, MiB | before the outage | peak during it | at its end |',
    '|---------------------|------------------:|---------------:|-----------:|',
    ...rows.map(
      ([k, b, p, l]) =>
        `| ${String(k).padEnd(19)} | ${mb(b as number).padStart(17)} | ${mb(p as number).padStart(14)} | ${mb(l as number).padStart(10)} |`,
    ),
    '',
    `bytes the application handed over during the ${minutes} min outage: ${mb(peak('acceptedSinceOutage'))} MiB (the stream's send buffer is 4 MiB); Node's own Duplex buffer peaked at ${mb(peak('writableLength'))} MiB`,
    `after the peer re-joined: first new byte at the peer ${Number.isFinite(resumedMs) ? `${resumedMs.toFixed(0)} ms` : 'never (within 6 s)'} after reconnect; session events at the writer: ${count('established')} established, ${count('suspended')} suspended, ${count('resumed')} resumed, ${count('closed')} closed`,
    '',
  ].join('\n')
}

if (process.argv.includes(PEER_FLAG)) await runPeer()
