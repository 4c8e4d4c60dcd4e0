/**
 * `npm run bench -- forward [--mb N] [--runs N]`: bulk throughput through
 * `semos forward -L`, beside raw TCP on loopback and OpenSSH's `ssh -L` (cipher
 * aes128-gcm@openssh.com, no compression), all in the same run, on 127.0.0.1.
 *
 *   raw TCP    source → sink
 *   semos -L   source → semos up (-L, added by `semos forward -L`) → session → semos up
 *              (expose) → sink: two daemon processes, the second joined through the first
 *   ssh -L     source → ssh → sshd (a throwaway one: fresh host and user keys) → sink
 *   floor      source → entry → exit → sink: bench/sealed-floor.ts as two processes, the
 *              least any tunnel sealing with node:crypto in Node must do (AES-256-GCM
 *              records and nothing else), so that semos and ssh can be judged against it
 *
 * The source and the sink are plain TCP sockets, each in its own worker thread of this
 * process; every run opens one new connection through the tunnel (set up once, before
 * the runs) and pushes --mb MB (10^6 bytes) through it. MB/s: bytes ÷ (source's connect
 * call → the sink's end). CPU s/GB: utime + stime from /proc/<pid>/stat, before and
 * after, summed over the tunnel's processes (semos: both daemons; ssh: the client and
 * every process the sshd forked), and for the source + sink (this process).
 * A benchmark reports; it asserts nothing but that every byte arrived.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Cluster } from '../src/cli/cluster.ts'
import {
  descendants,
  freePort,
  type Sshd,
  sshArgs,
  sshdUnavailable,
  startSshd,
} from '../test/helpers/sshd.ts'

const HOST = '127.0.0.1'
const CHUNK_BYTES = 1024 * 1024
const EXPOSE_PORT = 5001
const WARMUP_BYTES = 20e6
const CIPHER = 'aes128-gcm@openssh.com'
const WORKER_FLAG = 'semos-forward-bench'
const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts')
const FLOOR = resolve(import.meta.dirname, 'sealed-floor.ts')
const run = promisify(execFile)

/** One clock for all threads of the process, in ms. */
const absMs = (): number => performance.timeOrigin + performance.now()

// ---------------------------------------------------------------- the endpoints (workers)

type Msg =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'received'; readonly bytes: number; readonly endMs: number }
  | { readonly type: 'started'; readonly startMs: number }
  | { readonly type: 'sent' }
  | { readonly type: 'failed'; readonly error: string }

/** The sink: takes connections, reads each to its end, reports its bytes and end time. */
function sink(): void {
  const port = parentPort
  if (port === null) return
  const server = createServer({ noDelay: true }, (s: Socket) => {
    let bytes = 0
    s.on('data', (c: Buffer) => {
      bytes += c.length
    })
    s.once('end', () => {
      port.postMessage({ type: 'received', bytes, endMs: absMs() } satisfies Msg)
      s.end()
    })
    s.once('error', (e) => port.postMessage({ type: 'failed', error: `sink: ${e.message}` }))
  })
  server.listen(0, HOST, () => {
    const a = server.address()
    port.postMessage({ type: 'listening', port: typeof a === 'object' && a ? a.port : 0 })
  })
}

/** The source: on each request, connects and writes that many bytes, then ends. */
function source(): void {
  const port = parentPort
  if (port === null) return
  const payload = randomBytes(CHUNK_BYTES)
  port.on('message', async (m: { port: number; bytes: number }) => {
    const startMs = absMs()
    const s = tcpConnect({ host: HOST, port: m.port, noDelay: true })
    s.once('error', (e) => port.postMessage({ type: 'failed', error: `source: ${e.message}` }))
    port.postMessage({ type: 'started', startMs } satisfies Msg)
    await once(s, 'connect')
    for (let sent = 0; sent < m.bytes; sent += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, m.bytes - sent)
      if (!s.write(n === CHUNK_BYTES ? payload : payload.subarray(0, n))) await once(s, 'drain')
    }
    s.end()
    s.resume() // the sink's FIN
    await once(s, 'close')
    port.postMessage({ type: 'sent' } satisfies Msg)
  })
}

if (!isMainThread && (workerData as { flag?: string } | null)?.flag === WORKER_FLAG) {
  if ((workerData as { role: string }).role === 'sink') sink()
  else source()
}

// ---------------------------------------------------------------- the main thread

/** A worker and the messages it sends, awaited one kind at a time. */
class Endpoint {
  readonly worker: Worker
  readonly #queue: Msg[] = []
  #waiter: ((m: Msg) => void) | undefined
  #failure: Error | undefined

  constructor(role: 'sink' | 'source') {
    this.worker = new Worker(new URL(import.meta.url), {
      workerData: { flag: WORKER_FLAG, role },
    })
    this.worker.on('message', (m: Msg) => {
      if (m.type === 'failed') this.#fail(new Error(m.error))
      else if (this.#waiter !== undefined) {
        const w = this.#waiter
        this.#waiter = undefined
        w(m)
      } else this.#queue.push(m)
    })
    this.worker.on('error', (e) => this.#fail(e))
    this.worker.on('exit', (code) => this.#fail(new Error(`${role} worker exited (${code})`)))
  }

  #fail(e: Error): void {
    this.#failure ??= e
    const w = this.#waiter
    this.#waiter = undefined
    w?.({ type: 'failed', error: e.message })
  }

  async next<T extends Msg['type']>(type: T): Promise<Extract<Msg, { type: T }>> {
    const m =
      this.#queue.shift() ??
      (this.#failure === undefined
        ? await new Promise<Msg>((r) => {
            this.#waiter = r
          })
        : undefined)
    if (m === undefined || m.type === 'failed') {
      throw this.#failure ?? new Error(m?.type === 'failed' ? m.error : 'endpoint failed')
    }
    if (m.type !== type) throw new Error(`expected ${type}, got ${m.type}`)
    return m as Extract<Msg, { type: T }>
  }
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's times (getconf CLK_TCK). */
let CLK_TCK = 100

async function clockTicks(): Promise<number> {
  try {
    return Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100
  } catch {
    return 100
  }
}

/** utime + stime of a process so far, in seconds; 0 once it is gone. */
function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / CLK_TCK
  } catch {
    return 0
  }
}

function selfCpuS(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

interface Path {
  readonly label: string
  /** Where the source connects. */
  readonly port: number
  /** The tunnel's processes now (before and after a transfer). */
  readonly pids: () => number[]
}

interface Result {
  readonly mbPerS: number
  /** The tunnel's processes, CPU s per GB (NaN without a tunnel). */
  readonly tunnelCpu: number
  /** The source and the sink (this process), CPU s per GB. */
  readonly endpointCpu: number
}

async function transfer(path: Path, bytes: number, src: Endpoint, snk: Endpoint): Promise<Result> {
  const pids = path.pids()
  const before = new Map(pids.map((p) => [p, processCpuS(p)]))
  const selfBefore = selfCpuS()
  src.worker.postMessage({ port: path.port, bytes })
  const { startMs } = await src.next('started')
  const got = await snk.next('received')
  const selfAfter = selfCpuS()
  let tunnel = 0
  for (const p of new Set([...pids, ...path.pids()]))
    tunnel += processCpuS(p) - (before.get(p) ?? 0)
  await src.next('sent')
  if (got.bytes !== bytes) {
    throw new Error(`${path.label}: the sink got ${got.bytes} bytes of ${bytes}`)
  }
  const gb = bytes / 1e9
  return {
    mbPerS: bytes / 1e6 / ((got.endMs - startMs) / 1000),
    tunnelCpu: pids.length === 0 ? Number.NaN : tunnel / gb,
    endpointCpu: (selfAfter - selfBefore) / gb,
  }
}

/** Everything started here, stopped on every exit path (idempotent). */
class Resources {
  cluster: Cluster | undefined
  sshd: Sshd | undefined
  ssh: ChildProcess | undefined
  readonly floor: ChildProcess[] = []
  readonly endpoints: Endpoint[] = []
  dir: string | undefined
  #done: Promise<void> | undefined

  close(): Promise<void> {
    this.#done ??= (async () => {
      const ssh = this.ssh
      if (ssh !== undefined && ssh.exitCode === null && ssh.signalCode === null) {
        const exited = once(ssh, 'exit')
        ssh.kill('SIGTERM')
        await exited
      }
      await this.sshd?.stop()
      for (const child of this.floor) {
        if (child.exitCode !== null || child.signalCode !== null) continue
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      }
      await this.cluster?.destroy()
      await Promise.all(this.endpoints.map((e) => e.worker.terminate()))
      if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true })
    })()
    return this.#done
  }
}

/** Two `semos up` processes: one exposes the sink, the other gets `semos forward -L` to it. */
async function semosPath(r: Resources, sinkPort: number): Promise<Path> {
  const cluster = new Cluster()
  r.cluster = cluster
  const exposing = await cluster.start(
    [],
    ['--expose', `${EXPOSE_PORT}:${HOST}:${sinkPort}`, '--allow-any'],
  )
  const using = await cluster.start([exposing.endpoint])
  const { stdout } = await run(process.execPath, [
    MAIN,
    'forward',
    '-L',
    `${HOST}:0:${exposing.name}:${EXPOSE_PORT}`,
    '--state-dir',
    using.stateDir,
    '--json',
  ])
  const bound = (JSON.parse(stdout) as { bound: string }).bound
  const pids = [exposing.process.pid, using.process.pid].filter((p) => p !== undefined)
  return { label: 'semos forward -L', port: Number(bound.split(':').at(-1)), pids: () => pids }
}

/** The sealed floor as a tunnel: exit (dials the sink) and entry (dials the exit), two processes. */
async function floorPath(r: Resources, sinkPort: number): Promise<Path> {
  const keys = randomBytes(64).toString('hex')
  const start = async (role: 'entry' | 'exit', port: number): Promise<number> => {
    const child = spawn(process.execPath, [FLOOR, role, HOST, String(port), keys], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    r.floor.push(child)
    const line = new Promise<string>((ready, fail) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', ready)
      child.once('error', fail)
      child.once('exit', (code) => fail(new Error(`the floor's ${role} exited (${code})`)))
    })
    return (JSON.parse(await line) as { port: number }).port
  }
  const exitPort = await start('exit', sinkPort)
  const entryPort = await start('entry', exitPort)
  const pids = r.floor.map((c) => c.pid).filter((p) => p !== undefined)
  return { label: 'sealed floor (node:crypto)', port: entryPort, pids: () => pids }
}

/** A throwaway sshd and `ssh -N -L` to the sink through it; resolves once the forward listens. */
async function sshPath(r: Resources, sinkPort: number): Promise<Path> {
  const dir = mkdtempSync(join(tmpdir(), 'semos-bench-sshd-'))
  r.dir = dir
  const sshd = await startSshd(dir)
  r.sshd = sshd
  const port = await freePort()
  const ssh = spawn(
    'ssh',
    [
      '-N',
      '-v', // before sshArgs: for each option the first value given wins
      '-o',
      'LogLevel=DEBUG1',
      '-c',
      CIPHER,
      '-o',
      'Compression=no',
      '-o',
      'ExitOnForwardFailure=yes',
      '-L',
      `${HOST}:${port}:${HOST}:${sinkPort}`,
      ...sshArgs(sshd),
      '-p',
      String(sshd.port),
      `${sshd.user}@${HOST}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  r.ssh = ssh
  const said: string[] = []
  let cipher = ''
  await new Promise<void>((ready, fail) => {
    createInterface({ input: ssh.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      said.push(line)
      const c = /kex: client->server cipher: (\S+)/.exec(line)
      if (c !== null) cipher = c[1] as string
      if (line.includes('Entering interactive session')) ready()
    })
    ssh.once('error', fail)
    ssh.once('exit', (code) =>
      fail(new Error(`ssh exited (${code}): ${said.slice(-3).join(' | ')}`)),
    )
  })
  if (cipher !== CIPHER) throw new Error(`ssh negotiated ${cipher || 'no cipher'}, not ${CIPHER}`)
  const sshPid = ssh.pid as number
  const sshdPid = sshd.child.pid as number
  return {
    label: `ssh -L (${CIPHER})`,
    port,
    pids: () => [sshPid, ...descendants(sshdPid)],
  }
}

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export async function benchForward(
  args: Record<string, string | boolean | undefined>,
): Promise<void> {
  const mb = Number(args.mb ?? 500)
  const runs = Number(args.runs ?? 3)
  for (const [k, v] of Object.entries({ mb, runs })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`--${k}: a positive integer, got ${v}`)
  }
  CLK_TCK = await clockTicks()
  const r = new Resources()
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`${signal}: stopping the daemons, ssh and sshd\n`)
    r.close().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const snk = new Endpoint('sink')
    const src = new Endpoint('source')
    r.endpoints.push(snk, src)
    const sinkPort = (await snk.next('listening')).port
    const paths: Path[] = [{ label: 'raw TCP', port: sinkPort, pids: () => [] }]
    paths.push(await semosPath(r, sinkPort))
    paths.push(await floorPath(r, sinkPort))
    const noSsh = await sshdUnavailable()
    if (noSsh === undefined) paths.push(await sshPath(r, sinkPort))
    else process.stderr.write(`no ssh -L row: ${noSsh}\n`)
    for (const p of paths) await transfer(p, WARMUP_BYTES, src, snk)
    const results = new Map<Path, Result[]>(paths.map((p) => [p, []]))
    for (let i = 1; i <= runs; i++) {
      const line: string[] = []
      for (const p of paths) {
        const res = await transfer(p, mb * 1e6, src, snk)
        results.get(p)?.push(res)
        line.push(`${p.label} ${res.mbPerS.toFixed(0)} MB/s`)
      }
      process.stderr.write(`run ${i}: ${line.join(', ')}\n`)
    }
    process.stdout.write(report(mb, runs, paths, results))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await r.close()
  }
}

function report(mb: number, runs: number, paths: Path[], results: Map<Path, Result[]>): string {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—')
  const med = (p: Path | undefined, k: keyof Result): number =>
    p === undefined ? Number.NaN : median((results.get(p) ?? []).map((x) => x[k]))
  const raw = paths[0]
  const ssh = paths.find((p) => p.label.startsWith('ssh'))
  const header = [
    'path',
    'MB/s',
    'ratio to raw TCP',
    'ratio to ssh -L',
    'tunnel CPU s/GB',
    'source+sink CPU s/GB',
  ]
  const rows = paths.map((p) => [
    p.label,
    f(med(p, 'mbPerS'), 0),
    f(med(p, 'mbPerS') / med(raw, 'mbPerS'), 3),
    f(med(p, 'mbPerS') / med(ssh, 'mbPerS'), 2),
    f(med(p, 'tunnelCpu'), 2),
    f(med(p, 'endpointCpu'), 2),
  ])
  const perRun = paths.map(
    (p) => `${p.label}: ${(results.get(p) ?? []).map((x) => x.mbPerS.toFixed(0)).join(', ')} MB/s`,
  )
  return [
    `forward bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, 127.0.0.1; median of ${runs} runs of ${mb} MB (10^6 bytes) each`,
    `command: npm run bench -- forward --mb ${mb} --runs ${runs}`,
    '',
    table(header, rows),
    '',
    'tunnel CPU: utime + stime from /proc (semos: both daemon processes; ssh: the client and the sshd processes of its session; floor: its two processes)',
    'sealed floor: bench/sealed-floor.ts, one AES-256-GCM seal per 64 KiB record with node:crypto and nothing else (no headers, ACKs, windows, retransmission buffer): the least work any Node tunnel sealing with node:crypto does, one thread per end',
    `per run: ${perRun.join('; ')}`,
    '',
  ].join('\n')
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}
