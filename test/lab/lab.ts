/**
 * The mobility lab: emulated networks built from Linux network namespaces, veth
 * pairs and bridges, with real `semos up` processes on them (issue 6).
 *
 *   router namespace (IP forwarding on)
 *     ├─ bridge br0 = subnet 0, gateway 10.200.0.1/24 ─ veth ─ host namespace (eth0)
 *     ├─ bridge br1 = subnet 1, gateway 10.200.1.1/24 ─ veth ─ host namespace (eth0)
 *     └─ …
 *
 * Each host is a namespace whose only link, `eth0`, is one end of a veth pair; the
 * other end (`v<host>`) sits in the router namespace, a port of its subnet's bridge —
 * the cable from the host to its switch. `move(host, subnet, gapMs)` does what the
 * papers' emulator did: it pulls the cable (the router end goes down and leaves
 * the bridge, so the host sees its carrier go and loses its address, as a DHCP client
 * would), waits the gap, and plugs it into the other subnet's bridge with a new
 * address and default route. `flap(host, downMs)` takes a cable down and up again,
 * leaving addresses alone. Every host runs its own processes (`semos up`, the
 * applications) with `ip netns exec`, on the project's Node 24.
 *
 * Names start with `semoslab-<pid>-<n>-`, so parallel runs never collide; a new lab
 * removes what a dead run left (namespaces named `semoslab-<pid>-…` whose process is
 * gone), and only that. Clean-up — every process killed, every namespace (with its
 * veths and bridges) deleted, every file removed — runs on destroy(), and also on
 * process exit, SIGINT and SIGTERM, synchronously.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { callControl } from '../../src/node/control.ts'

const run = promisify(execFile)
export const NODE = process.execPath
const ROOT = resolve(import.meta.dirname, '../..')
export const SEMOS_MAIN = join(ROOT, 'src/cli/main.ts')
export const TCP_APP = join(ROOT, 'test/lab/tcp-app.ts')
export const SEMOS_PORT = 7400
const PREFIX = 'semoslab-'

/** Why the lab cannot run here, or undefined when it can. */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'the lab needs root (ip netns, veth, bridges)'
  try {
    await run('ip', ['-V'])
  } catch {
    return "the lab needs iproute2's ip command"
  }
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    await run('ip', ['netns', 'add', probe])
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`
  } finally {
    await run('ip', ['netns', 'del', probe]).catch(() => {})
  }
  return undefined
}

/** One line a process printed: JSON when it was, else { text }. */
export type Line = Record<string, unknown>

/** A process running in a host's namespace, its output lines kept and awaitable. */
export class LabProcess {
  readonly child: ChildProcess
  readonly lines: Line[] = []
  readonly name: string
  exited = false
  #waiters: { test: (l: Line) => boolean; resolve: (l: Line) => void }[] = []

  constructor(name: string, child: ChildProcess) {
    this.name = name
    this.child = child
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue
      createInterface({ input: stream }).on('line', (text) => this.#onLine(text))
    }
    child.on('exit', () => {
      this.exited = true
    })
  }

  #onLine(text: string): void {
    let line: Line
    try {
      const parsed: unknown = JSON.parse(text)
      line = typeof parsed === 'object' && parsed !== null ? (parsed as Line) : { text }
    } catch {
      line = { text }
    }
    this.lines.push(line)
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test(line)) return true
      w.resolve(line)
      return false
    })
  }

  /** The first line (past or future) that passes `test`; rejects if the process exits first. */
  waitFor(test: (l: Line) => boolean, what = 'a line'): Promise<Line> {
    const seen = this.lines.find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve_, reject) => {
      const onExit = (code: number | null): void => {
        const said = this.lines
          .slice(-4)
          .map((l) => JSON.stringify(l))
          .join(' | ')
        reject(new Error(`${this.name} exited (${code}) while waiting for ${what}: ${said}`))
      }
      if (this.exited) return onExit(this.child.exitCode)
      this.#waiters.push({
        test,
        resolve: (l) => {
          this.child.off('exit', onExit)
          resolve_(l)
        },
      })
      this.child.once('exit', onExit)
    })
  }

  /** The first line from now on that passes `test`. */
  next(test: (l: Line) => boolean, what?: string): Promise<Line> {
    const from = this.lines.length
    return this.waitFor((l) => this.lines.indexOf(l) >= from && test(l), what)
  }

  write(text: string): void {
    this.child.stdin?.write(text)
  }
}

export interface Subnet {
  readonly index: number
  readonly bridge: string
  readonly gateway: string
  /** The next host number handed out (every attachment gets a new address). */
  nextHost: number
}

export interface Host {
  readonly name: string
  readonly ns: string
  /** The veth end in the router namespace (the cable's switch end). */
  readonly port: string
  subnet: Subnet | undefined
  address: string | undefined
}

/** A `semos up` process on a host. */
export interface SemosProc {
  readonly host: Host
  readonly proc: LabProcess
  readonly stateDir: string
  /** The node's name, once started. */
  name: string
}

let labs = 0
const live = new Set<Lab>()
let hooked = false

/** Synchronous clean-up of every lab still alive: for exit and signals. */
function cleanupAll(): void {
  for (const lab of live) lab.destroySync()
}

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', cleanupAll)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanupAll()
      process.kill(process.pid, signal)
    })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function killNamespacePids(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL')
      } catch {}
    }
  } catch {}
}

/** Removes namespaces a dead lab run left behind: `semoslab-<pid>-…` whose pid is gone. */
export function removeStale(): string[] {
  let list = ''
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  } catch {
    return []
  }
  const removed: string[] = []
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    const m = /^semoslab-(\d+)-/.exec(ns)
    if (m === null || alive(Number(m[1]))) continue
    killNamespacePids(ns)
    try {
      execFileSync('ip', ['netns', 'del', ns])
      removed.push(ns)
    } catch {}
  }
  return removed
}

export class Lab {
  /** `semoslab-<pid>-<n>-`: every namespace of this lab starts with it. */
  readonly prefix: string
  readonly dir: string
  readonly routerNs: string
  readonly subnets: Subnet[] = []
  readonly hosts = new Map<string, Host>()
  readonly #namespaces: string[] = []
  readonly #procs = new Set<LabProcess>()
  /** Every process started, running or not (for SEMOS_LAB_LOGS). */
  readonly #all: LabProcess[] = []
  #destroyed = false

  private constructor() {
    this.prefix = `${PREFIX}${process.pid}-${labs++}-`
    this.dir = mkdtempSync(join(tmpdir(), this.prefix))
    this.routerNs = `${this.prefix}router`
  }

  /** A lab with a router and `subnets` subnets (bridges); throws if it cannot be built. */
  static async create(subnets: number): Promise<Lab> {
    removeStale()
    hookExit()
    const lab = new Lab()
    live.add(lab)
    try {
      await lab.#addNs(lab.routerNs)
      await lab.#ip(lab.routerNs, 'link', 'set', 'lo', 'up')
      await run('ip', [
        'netns',
        'exec',
        lab.routerNs,
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.ip_forward=1',
      ])
      for (let i = 0; i < subnets; i++) {
        const subnet: Subnet = {
          index: i,
          bridge: `br${i}`,
          gateway: `10.200.${i}.1`,
          nextHost: 10,
        }
        await lab.#ip(lab.routerNs, 'link', 'add', subnet.bridge, 'type', 'bridge')
        await lab.#ip(lab.routerNs, 'addr', 'add', `${subnet.gateway}/24`, 'dev', subnet.bridge)
        await lab.#ip(lab.routerNs, 'link', 'set', subnet.bridge, 'up')
        lab.subnets.push(subnet)
      }
    } catch (err) {
      await lab.destroy()
      throw err
    }
    return lab
  }

  async #addNs(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns])
    this.#namespaces.push(ns)
  }

  #ip(ns: string, ...args: string[]): Promise<unknown> {
    return run('ip', ['-n', ns, ...args])
  }

  subnet(index: number): Subnet {
    const s = this.subnets[index]
    if (s === undefined) throw new Error(`no subnet ${index}`)
    return s
  }

  host(name: string): Host {
    const h = this.hosts.get(name)
    if (h === undefined) throw new Error(`no host ${name}`)
    return h
  }

  /** A host namespace cabled to `subnet`, with an address and a default route. */
  async addHost(name: string, subnet: number): Promise<Host> {
    const host: Host = {
      name,
      ns: `${this.prefix}${name}`,
      port: `v${name}`.slice(0, 15),
      subnet: undefined,
      address: undefined,
    }
    await this.#addNs(host.ns)
    this.hosts.set(name, host)
    await this.#ip(host.ns, 'link', 'set', 'lo', 'up')
    await this.#ip(
      this.routerNs,
      'link',
      'add',
      host.port,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      host.ns,
    )
    await this.#ip(host.ns, 'link', 'set', 'eth0', 'up')
    await this.attach(name, subnet)
    return host
  }

  /** Pulls the host's cable: no carrier, no address, no route. Resolves with the time (ms). */
  async detach(name: string): Promise<number> {
    const host = this.host(name)
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'down')
    const t = Date.now()
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'nomaster')
    await this.#ip(host.ns, 'addr', 'flush', 'dev', 'eth0', 'scope', 'global')
    host.subnet = undefined
    host.address = undefined
    return t
  }

  /**
   * Plugs the host's cable into `subnet`'s bridge with a new address and default
   * route (configured first, carrier last: the moment the host sees the new
   * network). Resolves with the time of attachment (ms, just before the command
   * that brings the carrier up: conservative), the time that command returned, and
   * the new address.
   */
  async attach(
    name: string,
    index: number,
  ): Promise<{ attachedAt: number; upAt: number; address: string }> {
    const host = this.host(name)
    const subnet = this.subnet(index)
    const address = `10.200.${index}.${subnet.nextHost++}`
    await this.#ip(host.ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    await this.#ip(host.ns, 'route', 'replace', 'default', 'via', subnet.gateway, 'dev', 'eth0')
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'master', subnet.bridge)
    const attachedAt = Date.now()
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'up')
    const upAt = Date.now()
    host.subnet = subnet
    host.address = address
    return { attachedAt, upAt, address }
  }

  /** detach, wait `gapMs`, attach to `toSubnet`: the papers' location change. */
  async move(
    name: string,
    toSubnet: number,
    gapMs: number,
  ): Promise<{ detachedAt: number; attachedAt: number; upAt: number; address: string }> {
    const detachedAt = await this.detach(name)
    await new Promise((r) => setTimeout(r, Math.max(0, detachedAt + gapMs - Date.now())))
    return { detachedAt, ...(await this.attach(name, toSubnet)) }
  }

  /** Takes the host's cable down for `downMs` and up again (addresses stay). */
  async flap(name: string, downMs: number): Promise<{ downAt: number; upAt: number }> {
    const host = this.host(name)
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'down')
    const downAt = Date.now()
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + downMs - Date.now())))
    const upAt = Date.now()
    await this.#ip(this.routerNs, 'link', 'set', host.port, 'up')
    return { downAt, upAt }
  }

  /** Runs `argv` in the host's namespace (argv[0] a program); output kept as lines. */
  spawn(name: string, label: string, argv: readonly string[]): LabProcess {
    const host = this.host(name)
    const child = spawn('ip', ['netns', 'exec', host.ns, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const proc = new LabProcess(`${label}@${name}`, child)
    this.#procs.add(proc)
    this.#all.push(proc)
    child.on('exit', () => this.#procs.delete(proc))
    return proc
  }

  /** Runs a command in the host's namespace to completion. */
  async exec(name: string, argv: readonly string[]): Promise<{ stdout: string; stderr: string }> {
    const [cmd, ...args] = argv
    return run('ip', ['netns', 'exec', this.host(name).ns, cmd as string, ...args])
  }

  /**
   * Starts `semos up` on the host, listening on 0.0.0.0:7400 (so it advertises its
   * current address), joining through `join` (addresses), with `extra` flags; resolves
   * once the node has an overlay address.
   */
  async startSemos(
    name: string,
    via: readonly string[],
    extra: readonly string[] = [],
    logLevel = 'info',
  ): Promise<SemosProc> {
    const stateDir = join(this.dir, name)
    mkdirSync(stateDir, { recursive: true })
    // An empty config file of its own: the node never reads the user's.
    const config = join(stateDir, 'config.toml')
    writeFileSync(config, '')
    const args = [NODE, SEMOS_MAIN, 'up', '--listen', `0.0.0.0:${SEMOS_PORT}`]
    args.push('--state-dir', stateDir, '--config', config, '--log-level', logLevel)
    for (const j of via) args.push('--join', j)
    args.push(...extra)
    const proc = this.spawn(name, 'semos', args)
    const node: SemosProc = { host: this.host(name), proc, stateDir, name: '' }
    const started = await proc.waitFor((l) => l.msg === 'node started', 'node started')
    node.name = String(started.name)
    await proc.waitFor(
      (l) => l.msg === 'overlay address' && l.address !== undefined,
      'an overlay address',
    )
    return node
  }

  /** A control request to a node (the control socket is a file: reachable from here). */
  call(node: SemosProc, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return callControl(join(node.stateDir, 'control.sock'), method, params, { timeoutMs: 10_000 })
  }

  /** Runs the `semos` CLI in the node's namespace against its state directory. */
  async semos(node: SemosProc, args: readonly string[]): Promise<string> {
    const { stdout } = await this.exec(node.host.name, [
      NODE,
      SEMOS_MAIN,
      ...args,
      '--state-dir',
      node.stateDir,
    ])
    return stdout
  }

  /**
   * Every process's log lines stamped (pino's `time`, ms since the epoch) within
   * [fromMs, toMs], oldest first, one line each: `+ms name message {rest}` from fromMs — what
   * a slow case prints where its daemons' logs are not kept (CI).
   */
  linesBetween(fromMs: number, toMs: number): string[] {
    const out: { t: number; text: string }[] = []
    for (const p of this.#all) {
      for (const l of p.lines) {
        const t = typeof l.time === 'number' ? l.time : Number.NaN
        if (!(t >= fromMs && t <= toMs)) continue
        const { time: _t, pid: _p, level: _l, msg, ...rest } = l
        out.push({ t, text: `+${t - fromMs} ${p.name} ${String(msg)} ${JSON.stringify(rest)}` })
      }
    }
    return out.sort((a, b) => a.t - b.t).map((x) => x.text)
  }

  /**
   * Kills every process and removes every namespace and file; idempotent. With
   * SEMOS_LAB_LOGS=DIR set, every process's output is first written there (one file each).
   */
  async destroy(): Promise<void> {
    if (this.#destroyed) return
    const logs = process.env.SEMOS_LAB_LOGS
    if (logs !== undefined && logs !== '') {
      mkdirSync(logs, { recursive: true })
      for (const p of this.#all) {
        const text = p.lines.map((l) => JSON.stringify(l)).join('\n')
        writeFileSync(join(logs, `${p.name.replace(/[^\w@.-]/g, '_')}.log`), `${text}\n`)
      }
    }
    const exits = [...this.#procs].map(
      (p) => new Promise<void>((r) => (p.exited ? r() : p.child.once('exit', () => r()))),
    )
    for (const p of this.#procs) p.child.kill('SIGTERM')
    const timeout = new Promise<void>((r) => setTimeout(r, 3000).unref())
    await Promise.race([Promise.all(exits), timeout])
    this.destroySync()
  }

  /** destroy(), synchronously and at once (SIGKILL): for exit and signal handlers. */
  destroySync(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    live.delete(this)
    for (const p of this.#procs) {
      try {
        p.child.kill('SIGKILL')
      } catch {}
    }
    for (const ns of [...this.#namespaces].reverse()) {
      killNamespacePids(ns)
      try {
        execFileSync('ip', ['netns', 'del', ns])
      } catch {}
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}
