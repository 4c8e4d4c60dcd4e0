/**
 * A throwaway OpenSSH server on 127.0.0.1, for the tests and benchmarks that run
 * OpenSSH through or beside semos: host and user keys made fresh in a directory the
 * caller owns (and removes), no PAM, public keys only. `sshArgs` gives an ssh client
 * the options to log in with no prompt and no known_hosts entry.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const SSHD = '/usr/sbin/sshd'

export interface Sshd {
  readonly port: number
  readonly child: ChildProcess
  /** The client's private key (authorized for `user`). */
  readonly key: string
  /** The user to log in as: the one running this process. */
  readonly user: string
  /** Ends the server and the session processes it forked; resolves once it exited. Idempotent. */
  stop(): Promise<void>
}

/** The parent of every process now, from /proc/<pid>/stat (Linux); empty elsewhere. */
export function parents(): Map<number, number> {
  const map = new Map<number, number>()
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return map
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so cut at the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      map.set(Number(e), ppid)
    } catch {
      // exited meanwhile
    }
  }
  return map
}

/** The processes descended from `pid` now (children, theirs, …), not `pid` itself. */
export function descendants(pid: number): number[] {
  const ppid = parents()
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const p = queue.shift() as number
    for (const [child, parent] of ppid) {
      if (parent === p) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

/** Whether `command` runs (ssh -V prints on stderr and exits 0; a missing one is ENOENT). */
export async function has(command: string, args: string[] = ['-V']): Promise<boolean> {
  try {
    await run(command, args)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/** Why an sshd cannot run here, or undefined if it can. */
export async function sshdUnavailable(): Promise<string | undefined> {
  if (!(await has('ssh')) || !(await has(SSHD)) || !(await has('ssh-keygen', ['-?']))) {
    return 'ssh, sshd or ssh-keygen is missing (.ci/run installs them)'
  }
  if (process.getuid?.() !== 0) return 'sshd needs root here (privilege separation)'
  return undefined
}

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  await once(s, 'close')
  return port
}

/**
 * Throwaway host and client keys in `dir` and an sshd_config for them: key logins only,
 * no PAM, TCP forwarding on. Returns the config's path and the client key's.
 */
export async function writeSshdConfig(
  dir: string,
  listen: { readonly host: string; readonly port: number },
): Promise<{ config: string; key: string }> {
  const hostKey = join(dir, 'host_ed25519')
  const key = join(dir, 'client_ed25519')
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 })
  mkdirSync('/run/sshd', { recursive: true })
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${listen.port}`,
      `ListenAddress ${listen.host}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'Compression no',
      '',
    ].join('\n'),
  )
  return { config, key }
}

/** Starts an sshd on 127.0.0.1 with throwaway keys in `dir`; resolves once it listens. */
export async function startSshd(dir: string): Promise<Sshd> {
  const port = await freePort()
  const { config, key } = await writeSshdConfig(dir, { host: '127.0.0.1', port })
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    // Sessions outlive their listener: end them first, by the ids this sshd forked.
    for (const pid of descendants(child.pid ?? -1)) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // gone already
      }
    }
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream })
  const said: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        said.push(line)
        if (/Server listening on 127\.0\.0\.1 port/.test(line)) resolve()
      })
      child.once('error', reject)
      child.once('exit', (code) =>
        reject(new Error(`sshd exited with ${code}: ${said.join(' | ')}`)),
      )
    })
  } catch (error) {
    await stop()
    throw error
  }
  const user = userInfo().username
  return { port, child, key, user, stop }
}

/** ssh options for logging in to `sshd` with its throwaway key, never prompting. */
export function sshArgs(sshd: Pick<Sshd, 'key'>): string[] {
  return [
    '-i',
    sshd.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=30',
  ]
}
