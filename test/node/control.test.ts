import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CodedError } from '../../src/core/coded-error.ts'
import { ControlError, callControl, MAX_REQUEST_LINE_BYTES } from '../../src/node/control.ts'
import {
  type ControlServer,
  ControlServerError,
  serveControl,
} from '../../src/node/control-server.ts'

/** A handler with one method of each kind of outcome. */
async function handler(method: string, params: Record<string, unknown>): Promise<unknown> {
  switch (method) {
    case 'echo':
      return { params }
    case 'nothing':
      return undefined
    case 'lookup':
      throw ControlError.remote('not-found', `${String(params.name)}: not found`)
    case 'coded':
      throw new CodedError('bad-params', 'params.name is required')
    case 'crash':
      throw new Error('boom')
    default:
      throw ControlError.remote('unknown-method', `no method "${method}"`)
  }
}

/** Sends raw lines over one connection and collects the parsed response lines. */
async function rawExchange(path: string, text: string, responses: number): Promise<unknown[]> {
  const socket = createConnection(path)
  await once(socket, 'connect')
  socket.write(text)
  const lines: unknown[] = []
  let buffered = ''
  for await (const chunk of socket) {
    buffered += String(chunk)
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const line of parts) lines.push(JSON.parse(line))
    if (lines.length >= responses) break
  }
  socket.destroy()
  return lines
}

describe('control channel', () => {
  let dir: string
  let path: string
  let server: ControlServer
  const cleanups: (() => unknown)[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semos-control-'))
    path = join(dir, 'control.sock')
    server = await serveControl(path, handler)
  })
  after(async () => {
    for (const cleanup of cleanups) await cleanup()
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('round-trips a request, with an owner-only socket', async () => {
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.deepEqual(await callControl(path, 'echo', { a: [1, 'x'] }), { params: { a: [1, 'x'] } })
    assert.equal(await callControl(path, 'nothing'), null)
  })

  it("passes the daemon's error code and message through", async () => {
    const expectRemote = async (method: string, code: string, message: string) =>
      assert.rejects(callControl(path, method, { name: 'n' }), (err: unknown) => {
        assert.ok(err instanceof ControlError)
        assert.equal(err.code, 'remote')
        assert.equal(err.remoteCode, code)
        assert.equal(err.message, message)
        return true
      })
    await expectRemote('lookup', 'not-found', 'n: not found')
    await expectRemote('coded', 'bad-params', 'params.name is required')
    await expectRemote('crash', 'internal', 'boom')
    await expectRemote('nope', 'unknown-method', 'no method "nope"')
  })

  it('answers malformed lines with errors and keeps the connection', async () => {
    const lines = await rawExchange(
      path,
      'not json\n[1]\n{"method":"echo"}\n{"id":7}\n{"id":8,"method":"echo","params":3}\n\n{"id":9,"method":"echo"}\n',
      6,
    )
    assert.deepEqual(
      lines.map((l) => {
        const { id, error } = l as { id: unknown; error?: { code: string } }
        return [id, error?.code]
      }),
      [
        [null, 'bad-request'],
        [null, 'bad-request'],
        [null, 'bad-request'],
        [7, 'bad-request'],
        [8, 'bad-request'],
        [9, undefined],
      ],
    )
    assert.deepEqual(lines[5], { id: 9, result: { params: {} } })
  })

  it('answers an oversize line with an error and closes the connection', async () => {
    const socket = createConnection(path)
    await once(socket, 'connect')
    socket.write('x'.repeat(MAX_REQUEST_LINE_BYTES + 1))
    let received = ''
    for await (const chunk of socket) received += String(chunk)
    assert.equal(JSON.parse(received).error.code, 'line-too-long')
    // The server is still fine for everyone else.
    assert.deepEqual(await callControl(path, 'echo'), { params: {} })
  })

  it('reports daemon-not-running when there is no socket or nobody listens', async () => {
    const missing = join(dir, 'missing.sock')
    await assert.rejects(callControl(missing, 'status'), (err: unknown) => {
      assert.ok(err instanceof ControlError)
      assert.equal(err.code, 'daemon-not-running')
      assert.equal(
        err.message,
        `no semos daemon is running (no control socket at ${missing}); start one with: semos up`,
      )
      return true
    })
    const stale = await staleSocket(join(dir, 'stale.sock'))
    await assert.rejects(callControl(stale, 'status'), { code: 'daemon-not-running' })
  })

  it('times out against a server that never answers', async () => {
    const silentPath = join(dir, 'silent.sock')
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    cleanups.push(() => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => silent.close(resolve))
    })
    await listenOn(silent, silentPath)
    await assert.rejects(callControl(silentPath, 'status', {}, { timeoutMs: 50 }), {
      code: 'timeout',
      message: 'the daemon did not answer "status" within 50 ms',
    })
  })

  it('refuses to start a second server, and replaces a stale socket file', async () => {
    await assert.rejects(serveControl(path, handler), (err: unknown) => {
      assert.ok(err instanceof ControlServerError)
      assert.equal(err.code, 'already-running')
      assert.equal(err.message, `a daemon is already running (control socket ${path})`)
      return true
    })
    const stale = await staleSocket(join(dir, 'stale2.sock'))
    const second = await serveControl(stale, handler)
    cleanups.push(() => second.close())
    assert.deepEqual(await callControl(stale, 'echo'), { params: {} })
    await second.close()
    await second.close() // idempotent
    assert.equal(existsSync(stale), false)
  })

  it('refuses a path that is not a socket', async () => {
    const file = join(dir, 'plain-file')
    writeFileSync(file, '')
    await assert.rejects(serveControl(file, handler), { code: 'not-a-socket' })
    assert.equal(existsSync(file), true)
  })

  /** A socket file nobody listens on, as a crashed daemon leaves behind. */
  async function staleSocket(socketPath: string): Promise<string> {
    // A clean close unlinks the file; only a process killed outright leaves it.
    const script = `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(() => child.kill('SIGKILL'))
    const [line] = await once(child.stdout, 'data')
    assert.equal(String(line).trim(), 'up')
    child.kill('SIGKILL')
    await once(child, 'exit')
    assert.equal(existsSync(socketPath), true)
    return socketPath
  }
})

function listenOn(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
}
