/**
 * Issue 5's end-to-end test: two `semos up` processes on loopback; one exposes an
 * HTTP server and an sshd (both on loopback, the sshd with throwaway keys), the
 * other forwards to them — and clients this project did not write go through:
 * `curl --socks5-hostname` through -D, OpenSSH's `ssh` through -L, running a
 * command. Every process and file is removed at the end, whatever happened.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { Cluster, type ClusterNode } from '../../src/cli/cluster.ts'
import { has, type Sshd, sshArgs, sshdUnavailable, startSshd } from '../helpers/sshd.ts'

const run = promisify(execFile)

interface ForwardRow {
  readonly id: string
  readonly bound?: string
}

const portOf = (row: ForwardRow | undefined): number => Number(row?.bound?.split(':').at(-1))

describe('real clients through semos up', { timeout: 120_000 }, () => {
  const cluster = new Cluster()
  const dir = mkdtempSync(join(tmpdir(), 'semos-clients-'))
  let web: Server | undefined
  let sshd: Sshd | undefined
  let exposing: ClusterNode
  let using: ClusterNode
  let socksPort = 0
  let sshPort = 0
  let skip: string | undefined

  before(async () => {
    if (!(await has('curl', ['--version']))) {
      skip = 'curl is missing (.ci/run installs it)'
      return
    }
    skip = await sshdUnavailable()
    if (skip !== undefined) return
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
    await sshd?.stop()
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
    const server = sshd as Sshd
    const { stdout } = await run('ssh', [
      ...sshArgs(server),
      '-p',
      String(sshPort),
      `${server.user}@127.0.0.1`,
      'echo ran over semos: $((6 * 7))',
    ])
    assert.equal(stdout.trim(), 'ran over semos: 42')
  })
})
