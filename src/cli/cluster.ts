/**
 * Real semos node processes on loopback, for the demo and the integration
 * tests: spawn, await their log lines, talk to their control sockets, and kill
 * every one of them (and remove their state) at the end, whatever happened.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { callControl } from '../node/control.ts'

const MAIN = resolve(import.meta.dirname, 'main.ts')

export interface ClusterNode {
  readonly index: number
  readonly stateDir: string
  readonly process: ChildProcess
  name: string
  endpoint: string
  /** Every JSON log line so far. */
  readonly lines: Record<string, unknown>[]
  /** Lines that were not JSON (a crash's message). */
  readonly text: string[]
  alive: boolean
}

/** A pair whose ping or lookup takes longer than this counts as failing in this round. */
const CHECK_TIMEOUT_MS = 1000

interface PingAnswer {
  readonly address: string
  readonly hops: number
  readonly rttMs: number
}

/** The outcome of Cluster.checkAllPairs. */
export interface PairCheck {
  readonly pairs: number
  readonly failures: string[]
  readonly pings: { hops: number; rttMs: number }[]
}

export class Cluster {
  readonly root = mkdtempSync(join(tmpdir(), 'semos-cluster-'))
  readonly nodes: ClusterNode[] = []
  readonly #waiters: {
    node: ClusterNode
    test: (l: Record<string, unknown>) => boolean
    resolve: (l: Record<string, unknown>) => void
  }[] = []

  /** Starts a node joining through `join` (none: a new overlay); resolves once it has an address. */
  async start(join: string[], extra: string[] = []): Promise<ClusterNode> {
    const index = this.nodes.length
    const stateDir = join_(this.root, `n${index}`)
    const args = [
      MAIN,
      'up',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--log-level',
      'info',
    ]
    for (const j of join) args.push('--join', j)
    args.push(...extra)
    // The user's own config file and petnames stay out of the cluster's nodes.
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join_(this.root, 'config') }
    delete env.SEMOS_CONFIG
    delete env.SEMOS_STATE_DIR
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    const node: ClusterNode = {
      index,
      stateDir,
      process: child,
      name: '',
      endpoint: '',
      lines: [],
      text: [],
      alive: true,
    }
    this.nodes.push(node)
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (text) => this.#onLine(node, text))
    }
    child.on('exit', () => {
      node.alive = false
    })
    const started = await this.waitFor(node, (l) => l.msg === 'node started')
    node.name = String(started.name)
    node.endpoint = String(started.endpoint)
    await this.waitFor(node, (l) => l.msg === 'overlay address' && l.address !== undefined)
    return node
  }

  /** Resolves with the first log line (past or future) of `node` that passes `test`. */
  waitFor(
    node: ClusterNode,
    test: (l: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> {
    const seen = node.lines.find(test)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve_, reject) => {
      const onExit = (code: number | null): void => {
        const said = node.text.slice(-3).join(' | ')
        reject(new Error(`node ${node.index} exited (${code}) while awaited: ${said}`))
      }
      const w = {
        node,
        test,
        resolve: (l: Record<string, unknown>) => {
          node.process.off('exit', onExit)
          resolve_(l)
        },
      }
      this.#waiters.push(w)
      node.process.once('exit', onExit)
    })
  }

  call(
    node: ClusterNode,
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = 5000,
  ): Promise<unknown> {
    return callControl(join_(node.stateDir, 'control.sock'), method, params, { timeoutMs })
  }

  /**
   * Every live node pings and looks up every other, all at once. A pair fails
   * when either call fails or the answer is not the target's current address.
   */
  async checkAllPairs(): Promise<PairCheck> {
    const live = this.live()
    const addresses = new Map<string, string | undefined>()
    for (const n of live) {
      addresses.set(n.name, ((await this.call(n, 'status')) as { address?: string }).address)
    }
    const failures: string[] = []
    const pings: { hops: number; rttMs: number }[] = []
    const pairs = live.flatMap((a) => live.filter((b) => b !== a).map((b) => [a, b] as const))
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const what = `${a.index}→${b.index}`
        try {
          const ping = (await this.call(
            a,
            'ping',
            { name: b.name },
            CHECK_TIMEOUT_MS,
          )) as PingAnswer
          const found = (await this.call(a, 'lookup', { name: b.name }, CHECK_TIMEOUT_MS)) as {
            address: string
          }
          const want = addresses.get(b.name)
          if (found.address !== want) failures.push(`${what}: lookup ${found.address}, is ${want}`)
          else if (ping.address !== want)
            failures.push(`${what}: pinged ${ping.address}, is ${want}`)
          else pings.push({ hops: ping.hops, rttMs: ping.rttMs })
        } catch (error) {
          failures.push(`${what}: ${(error as Error).message}`)
        }
      }),
    )
    return { pairs: pairs.length, failures, pings }
  }

  kill(node: ClusterNode): void {
    node.process.kill('SIGKILL')
    node.alive = false
  }

  live(): ClusterNode[] {
    return this.nodes.filter((n) => n.alive)
  }

  /** Kills every node and removes the state. Idempotent. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (n) =>
          new Promise<void>((done) => {
            if (n.process.exitCode !== null || n.process.signalCode !== null) return done()
            n.process.once('exit', () => done())
            n.process.kill('SIGKILL')
          }),
      ),
    )
    rmSync(this.root, { recursive: true, force: true })
  }

  #onLine(node: ClusterNode, text: string): void {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text) as Record<string, unknown>
    } catch {
      node.text.push(text)
      return
    }
    node.lines.push(line)
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]
      if (w && w.node === node && w.test(line)) {
        this.#waiters.splice(i, 1)
        w.resolve(line)
      }
    }
  }
}

function join_(...parts: string[]): string {
  return join(...parts)
}
