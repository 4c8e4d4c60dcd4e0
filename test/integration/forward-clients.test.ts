/**
 * Issue 5's end-to-end test: two `semos up` processes on loopback; one exposes an
 * HTTP server and an sshd (both on loopback, the sshd with throwaway keys), the
 * other forwards to them — and clients this project did not write go through:
 * `curl --socks5-hostname` through -D, OpenSSH's `ssh` through -L, running a
 * command. Every process and file is removed at the end, whatever happened.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { Cluster, type ClusterNode } from '../../src/cli/cluster.ts'

const run = promisify(execFile)
const SSHD = '/usr/sbin/sshd'

async function has(command: string, args: string[] = ['-V']): Promise<boolean> {
  try {
    await run(command, args)
    return true
  } catch (error) {
    // ssh -V prints its version on stderr and exits 0; a missing program is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/** A port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = createTcpServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  await once(s, 'close')
  return port
}

/** An sshd on 127.0.0.1 with throwaway keys in `dir`; resolves once it listens. */
async function startSshd(dir: string): Promise<{ port: number; child: ChildProcess; key: string }> {
  const hostKey = join(dir, 'host_ed25519')
  const key = join(dir, 'client_ed25519')
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 })
  mkdirSync('/run/sshd', { recursive: true })
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  )
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream })
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (/Server listening on 127\.0\.0\.1 port/.test(line)) resolve()
    })
    child.once('exit', (code) => reject(new Error(`sshd exited with ${code}`)))
  })
  return { port, child, key }
}

interface ForwardRow {
  readonly id: string
  readonly bound?: string
}

const portOf = (row: ForwardRow | undefined): number => Number(row?.bound?.split(':').at(-1))

describe('real clients through semos up', { timeout: 120_000 }, () => {
  const cluster = new Cluster()
  const dir = mkdtempSync(join(tmpdir(), 'semos-clients-'))
  let web: Server | undefined
  let sshd: { port: number; child: ChildProcess; key: string } | undefined
  let exposing: ClusterNode
  let using: ClusterNode
  let socksPort = 0
  let sshPort = 0
  let skip: string | undefined

  before(async () => {
    if (!(await has('curl', ['--version'])) || !(await has('ssh')) || !(await has(SSHD, ['-V']))) {
      skip = 'curl, ssh or sshd is missing (.ci/run installs them)'
      return
    }
    if (process.getuid?.() !== 0) {
      skip = 'sshd needs root here (privilege separation)'
      return
    }
    web = createServer((req, res) => res.end(`served over semos: ${req.url}`))
    web.listen(0, '127.0.0.1')
    await once(web, 'listening')
    const webPort = (web.address() as { port: number }).port
    sshd = await startSshd(dir)
    exposing = await cluster.start(
      [],
      [
        '--expose',
        `80:127.0.0.1:${webPort}`,
        '--expose',
        `22:127.0.0.1:${sshd.port}`,
        '--allow-any',
      ],
    )
    using = await cluster.start(
      [exposing.endpoint],
      ['-D', '127.0.0.1:0', '-L', `127.0.0.1:0:${exposing.name}:22`],
    )
    const rows = (await cluster.call(using, 'forwards')) as ForwardRow[]
    socksPort = portOf(rows.find((r) => r.id.startsWith('D ')))
    sshPort = portOf(rows.find((r) => r.id.startsWith('L ')))
  })

  after(async () => {
    await cluster.destroy()
    sshd?.child.kill('SIGTERM')
    web?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('curl --socks5-hostname through -D reaches the HTTP server exposed on the other node', async (t) => {
    if (skip !== undefined) return t.skip(skip)
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '30',
      '--socks5-hostname',
      `127.0.0.1:${socksPort}`,
      `http://${exposing.name}.semos/hello`,
    ])
    assert.equal(stdout, 'served over semos: /hello')
  })

  it('ssh through -L runs a command on the sshd exposed on the other node', async (t) => {
    if (skip !== undefined) return t.skip(skip)
    const { stdout } = await run('ssh', [
      '-i',
      sshd?.key as string,
      '-p',
      String(sshPort),
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
      'root@127.0.0.1',
      'echo ran over semos: $((6 * 7))',
    ])
    assert.equal(stdout.trim(), 'ran over semos: 42')
  })
})
