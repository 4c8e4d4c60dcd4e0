/**
 * Forwards over real sockets on loopback: three nodes in this process; an HTTP
 * service exposed on one; `-L` and `-D` on the others, used by Node's own HTTP
 * client, by raw SOCKS5 bytes, and by curl (a client this project did not write).
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { createServer as createTcpServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setImmediate } from 'node:timers/promises'
import { promisify } from 'node:util'
import { parseForwardSpec } from '../../src/forward/forward-spec.ts'
import { ForwardError, Forwards } from '../../src/forward/forwards.ts'
import { generateIdentity } from '../../src/identity/keys.ts'
import { canonicalName } from '../../src/identity/name.ts'
import { createNode, type SemosNode } from '../../src/node/semos-node.ts'

const run = promisify(execFile)
const resolve = (n: string): string | undefined => canonicalName(n)

function spec<K extends 'local' | 'dynamic' | 'expose'>(kind: K, text: string) {
  const parsed = parseForwardSpec(kind, text)
  assert.ok(parsed.ok, text)
  return parsed.value
}

/** Yields to the event loop until `cond` holds (the state it waits on emits no event). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await setImmediate()
}

/** GET http://127.0.0.1:port/path → body. */
async function httpGet(port: number, path = '/'): Promise<string> {
  const req = request({ host: '127.0.0.1', port, path })
  req.end()
  const [res] = await once(req, 'response')
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString()
}

/** A raw SOCKS5 CONNECT to host:port through the proxy; the reply code (REP). */
async function socksReply(proxyPort: number, host: string, port: number): Promise<number> {
  const s = tcpConnect({ host: '127.0.0.1', port: proxyPort })
  s.on('error', () => {})
  await once(s, 'connect')
  const h = Buffer.from(host)
  const portBytes = Buffer.of(port >> 8, port & 0xff)
  s.write(Buffer.concat([Buffer.of(5, 1, 0, 5, 1, 0, 3, h.length), h, portBytes]))
  const got: Buffer[] = []
  for await (const c of s) {
    got.push(c as Buffer)
    if (Buffer.concat(got).length >= 4) break
  }
  s.destroy()
  const all = Buffer.concat(got)
  assert.deepEqual([...all.subarray(0, 2)], [5, 0], 'method selection: no auth')
  return all[3] as number
}

describe('forwards over loopback', { timeout: 60_000 }, () => {
  let dir: string
  let a: SemosNode
  let b: SemosNode
  let c: SemosNode
  let web: Server
  let webPort: number
  let aForwards: Forwards
  let bForwards: Forwards
  let cForwards: Forwards

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semos-forward-'))
    a = await createNode({ stateDir: join(dir, 'a') })
    b = await createNode({ stateDir: join(dir, 'b'), bootstrap: [a.endpoint] })
    c = await createNode({
      identity: generateIdentity(),
      bootstrap: [a.endpoint],
      session: { handshakeAttempts: 2, handshakeRetryMs: 20, lookupTimeoutMs: 500 },
    })
    await Promise.all([a.joined(), b.joined(), c.joined()])
    web = createServer((req, res) => res.end(`hello from b: ${req.url}`))
    web.listen(0, '127.0.0.1')
    await once(web, 'listening')
    webPort = (web.address() as { port: number }).port
    aForwards = new Forwards({ node: a, resolve })
    bForwards = new Forwards({ node: b, resolve })
    cForwards = new Forwards({ node: c, resolve })
    // b exposes the web server on overlay port 80, to a only.
    await bForwards.add(spec('expose', `80:127.0.0.1:${webPort}`), [a.name])
  })

  after(async () => {
    await Promise.all([aForwards?.close(), bForwards?.close(), cForwards?.close()])
    web?.close()
    await Promise.all([a?.close(), b?.close(), c?.close()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('-L carries a local HTTP request to the service exposed on the peer', async () => {
    const f = await aForwards.add(spec('local', `0:${b.name}:80`))
    const port = Number(f.bound?.split(':').at(-1))
    assert.equal(await httpGet(port, '/via-L'), 'hello from b: /via-L')
    assert.equal(await httpGet(port, '/again'), 'hello from b: /again')
    await aForwards.remove(f.id)
  })

  it('a stream reset while the exposed service has not yet answered is no crash', async (t) => {
    // A listener whose accept queue is full (backlog 0, one connection waiting): the
    // kernel drops further SYNs, so the expose's connect to it stays pending.
    const stuck = spawn('python3', [
      '-c',
      [
        'import socket, time',
        's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
        'c = socket.create_connection(s.getsockname())',
        'print(s.getsockname()[1], flush=True)',
        'time.sleep(60)',
      ].join('\n'),
    ])
    t.after(() => stuck.kill('SIGKILL'))
    const [line] = (await Promise.race([
      once(stuck.stdout, 'data'),
      once(stuck, 'error').then(() => [undefined]),
    ])) as [Buffer | undefined]
    if (line === undefined) {
      t.skip('python3 is not installed')
      return
    }
    await bForwards.add(spec('expose', `90:127.0.0.1:${Number(line.toString())}`), [a.name])
    const f = await aForwards.add(spec('local', `0:${b.name}:90`))
    const port = Number(f.bound?.split(':').at(-1))
    const failedBefore = bForwards.counters.failed.reset ?? 0
    const client = tcpConnect({ host: '127.0.0.1', port })
    client.on('error', () => {})
    await once(client, 'connect')
    client.write('x')
    // b's node holds the stream while its connect waits; a's reset reaches it.
    await until(() => bForwards.connections > 0)
    client.resetAndDestroy()
    await until(() => (bForwards.counters.failed.reset ?? 0) > failedBefore)
    // b lived through it and still serves.
    const g = await aForwards.add(spec('local', `0:${b.name}:80`))
    assert.equal(
      await httpGet(Number(g.bound?.split(':').at(-1)), '/after'),
      'hello from b: /after',
    )
    await aForwards.remove(f.id)
    await aForwards.remove(g.id)
    await bForwards.remove('R 90')
  })

  it('-D speaks SOCKS5: NAME.semos reaches the peer; other hosts, closed ports and strangers get their refusals', async () => {
    const f = await aForwards.add(spec('dynamic', '0'))
    const port = Number(f.bound?.split(':').at(-1))
    assert.equal(await socksReply(port, `${b.name}.semos`, 80), 0, 'succeeded')
    assert.equal(await socksReply(port, 'example.com', 80), 2, 'not a peer: not allowed')
    assert.equal(await socksReply(port, `${b.name}.semos`, 81), 5, 'nobody there: refused')
    const g = await cForwards.add(spec('dynamic', '0'))
    const cPort = Number(g.bound?.split(':').at(-1))
    assert.equal(await socksReply(cPort, `${b.name}.semos`, 80), 2, 'not on the allow-list')
    assert.equal(
      await socksReply(cPort, `${generateIdentity().name}.semos`, 80),
      4,
      'no such name: host unreachable',
    )
    await aForwards.remove(f.id)
    await cForwards.remove(g.id)
  })

  it('curl --socks5-hostname through -D fetches from the exposed service', async (t) => {
    try {
      await run('curl', ['--version'])
    } catch {
      t.skip('curl is not installed')
      return
    }
    const f = await aForwards.add(spec('dynamic', '0'))
    const port = Number(f.bound?.split(':').at(-1))
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '20',
      '--socks5-hostname',
      `127.0.0.1:${port}`,
      `http://${b.name}.semos/curl`,
    ])
    assert.equal(stdout, 'hello from b: /curl')
    await aForwards.remove(f.id)
  })

  it('refuses a port in use and a duplicate forward with one-line errors', async () => {
    const blocker = createTcpServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const taken = (blocker.address() as { port: number }).port
    await assert.rejects(aForwards.add(spec('dynamic', String(taken))), (e: unknown) => {
      assert.ok(e instanceof ForwardError)
      assert.equal(e.code, 'port-in-use')
      assert.match(e.message, new RegExp(`127.0.0.1:${taken} is in use`))
      return true
    })
    blocker.close()
    await assert.rejects(bForwards.add(spec('expose', `80:127.0.0.1:${webPort}`)), {
      code: 'exists',
    })
    await assert.rejects(aForwards.add(spec('local', '0:nosuchalias:80')), { code: 'unknown-name' })
  })
})
