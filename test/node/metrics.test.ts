import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Agent, type IncomingMessage, request } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { describe, it } from 'node:test'
import { register } from 'prom-client'
import {
  DEFAULT_METRICS_PORT,
  isLoopbackHost,
  type MetricsServer,
  type MetricsSnapshot,
  NodeMetrics,
  parseMetricsListen,
  serveMetrics,
} from '../../src/node/metrics.ts'

const LOOPBACK = '127.0.0.1'

function snapshot(overrides: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  return {
    sessions: { active: 3, suspended: 2, 'half-open': 1 },
    streams: 7,
    links: 4,
    appBytes: { in: 1000, out: 2500 },
    suspensions: 5,
    resumptions: 4,
    drops: { 'link-backlog': 2, 'unknown-session': 9 },
    forwards: { local: 2, dynamic: 1 },
    forwardedConnections: 6,
    ...overrides,
  }
}

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** One HTTP request on a fresh connection (or through `agent`). */
async function get(
  port: number,
  init: { path?: string; method?: string; host?: string; agent?: Agent; address?: string } = {},
): Promise<Reply> {
  const req = request({
    host: init.address ?? LOOPBACK,
    port,
    path: init.path ?? '/metrics',
    method: init.method ?? 'GET',
    agent: init.agent ?? false,
    headers: init.host === undefined ? {} : { host: init.host },
  })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  let body = ''
  for await (const chunk of res) body += String(chunk)
  return { status: res.statusCode ?? 0, headers: res.headers, body }
}

/** Serves `metrics` on 127.0.0.1, any port, and closes it after `body`. */
async function withServer(
  metrics: NodeMetrics,
  body: (server: MetricsServer) => Promise<void>,
): Promise<void> {
  const server = await serveMetrics(metrics, { host: LOOPBACK, port: 0 })
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

const lines = (text: string): string[] => text.split('\n')

describe('NodeMetrics over HTTP', () => {
  it('exports the snapshot as Prometheus text, with every known label value', async () => {
    const metrics = new NodeMetrics({ name: 'alice', snapshot: () => snapshot() })
    await withServer(metrics, async (server) => {
      assert.equal(server.address, LOOPBACK)
      assert.ok(server.port > 0)
      const reply = await get(server.port)
      assert.equal(reply.status, 200)
      assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/)
      const got = lines(reply.body)
      for (const line of [
        'semos_node_info{name="alice"} 1',
        'semos_sessions{state="active"} 3',
        'semos_sessions{state="suspended"} 2',
        'semos_sessions{state="half-open"} 1',
        'semos_sessions{state="dialing"} 0',
        'semos_streams 7',
        'semos_links 4',
        '# TYPE semos_app_bytes_total counter',
        'semos_app_bytes_total{direction="in"} 1000',
        'semos_app_bytes_total{direction="out"} 2500',
        '# TYPE semos_suspensions_total counter',
        'semos_suspensions_total 5',
        'semos_resumptions_total 4',
        '# TYPE semos_drops_total counter',
        'semos_drops_total{reason="link-backlog"} 2',
        'semos_drops_total{reason="unknown-session"} 9',
        '# TYPE semos_forwards gauge',
        'semos_forwards{kind="local"} 2',
        'semos_forwards{kind="dynamic"} 1',
        'semos_forwards{kind="expose"} 0',
        'semos_forwarded_connections 6',
        '# TYPE semos_resumption_seconds histogram',
        'semos_resumption_seconds_count 0',
      ]) {
        assert.ok(got.includes(line), `missing: ${line}`)
      }
    })
  })

  it('takes a new snapshot at each scrape', async () => {
    let current = snapshot()
    let taken = 0
    const metrics = new NodeMetrics({
      name: 'alice',
      snapshot: () => {
        taken++
        return current
      },
    })
    await withServer(metrics, async (server) => {
      await get(server.port)
      assert.equal(taken, 1, 'one snapshot per scrape')
      current = snapshot({
        sessions: { active: 1, closing: 1 },
        streams: 0,
        appBytes: { in: 4000, out: 2500 },
        drops: { 'link-backlog': 3, replay: 1 },
      })
      const got = lines((await get(server.port)).body)
      assert.equal(taken, 2)
      for (const line of [
        'semos_sessions{state="active"} 1',
        'semos_sessions{state="suspended"} 0',
        'semos_sessions{state="closing"} 1',
        'semos_streams 0',
        'semos_app_bytes_total{direction="in"} 4000',
        'semos_drops_total{reason="link-backlog"} 3',
        'semos_drops_total{reason="replay"} 1',
      ]) {
        assert.ok(got.includes(line), `missing: ${line}`)
      }
      assert.ok(!got.some((l) => l.includes('unknown-session')), 'a reason gone is not exported')
    })
  })

  it('answers 500 when the snapshot fails, and serves again afterwards', async () => {
    let fail = true
    const metrics = new NodeMetrics({
      name: 'alice',
      snapshot: () => {
        if (fail) throw new Error('daemon is stopping')
        return snapshot()
      },
    })
    await withServer(metrics, async (server) => {
      const reply = await get(server.port)
      assert.equal(reply.status, 500)
      assert.equal(reply.body, 'metrics snapshot failed: daemon is stopping\n')
      fail = false
      assert.equal((await get(server.port)).status, 200)
    })
  })

  it('answers 404 off /metrics, 405 to other methods, 403 to a foreign Host', async () => {
    const metrics = new NodeMetrics({ name: 'alice', snapshot: () => snapshot() })
    await withServer(metrics, async (server) => {
      assert.equal((await get(server.port, { path: '/' })).status, 404)
      assert.equal((await get(server.port, { path: '/metrics/x' })).status, 404)
      assert.equal((await get(server.port, { path: '/metrics?x=1' })).status, 200)
      const post = await get(server.port, { method: 'POST' })
      assert.equal(post.status, 405)
      assert.equal(post.headers.allow, 'GET, HEAD')
      const head = await get(server.port, { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.body, '')
      assert.equal((await get(server.port, { host: 'evil.example:9464' })).status, 403)
      assert.equal((await get(server.port, { host: 'localhost' })).status, 200)
      assert.equal((await get(server.port, { host: '[::1]:80' })).status, 200)
    })
  })
})

describe('NodeMetrics', () => {
  it('fills the resumption histogram from observeResumption', async () => {
    const metrics = new NodeMetrics({ name: 'alice', snapshot: () => snapshot() })
    metrics.observeResumption(0.003)
    metrics.observeResumption(0.2)
    metrics.observeResumption(120)
    const got = lines(await metrics.text())
    for (const line of [
      'semos_resumption_seconds_bucket{le="0.005"} 1',
      'semos_resumption_seconds_bucket{le="0.1"} 1',
      'semos_resumption_seconds_bucket{le="0.25"} 2',
      'semos_resumption_seconds_bucket{le="60"} 2',
      'semos_resumption_seconds_bucket{le="+Inf"} 3',
      'semos_resumption_seconds_sum 120.203',
      'semos_resumption_seconds_count 3',
    ]) {
      assert.ok(got.includes(line), `missing: ${line}`)
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => metrics.observeResumption(bad), { code: 'bad-duration' })
    }
  })

  it('gives each node its own registry, never the global one', async () => {
    const alice = new NodeMetrics({ name: 'alice', snapshot: () => snapshot({ links: 1 }) })
    const bob = new NodeMetrics({ name: 'bob', snapshot: () => snapshot({ links: 2 }) })
    bob.observeResumption(1)
    const a = lines(await alice.text())
    const b = lines(await bob.text())
    assert.ok(a.includes('semos_node_info{name="alice"} 1'))
    assert.ok(a.includes('semos_links 1'))
    assert.ok(a.includes('semos_resumption_seconds_count 0'))
    assert.ok(!a.some((l) => l.includes('"bob"')))
    assert.ok(b.includes('semos_node_info{name="bob"} 1'))
    assert.ok(b.includes('semos_links 2'))
    assert.ok(b.includes('semos_resumption_seconds_count 1'))
    assert.ok(!(await register.metrics()).includes('semos_'))
  })
})

describe('serveMetrics', () => {
  const metrics = new NodeMetrics({ name: 'alice', snapshot: () => snapshot() })

  it('refuses any address but loopback', async () => {
    for (const host of ['0.0.0.0', '192.168.1.1', '::', 'example.com']) {
      await assert.rejects(serveMetrics(metrics, { host, port: 0 }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'not-loopback')
        assert.match((err as Error).message, /loopback only .*who talks to whom/)
        assert.ok(!(err as Error).message.includes('\n'))
        return true
      })
    }
  })

  it('reports port-in-use, naming the address', async () => {
    const taken = createServer()
    taken.listen(0, LOOPBACK)
    await once(taken, 'listening')
    const { port } = taken.address() as AddressInfo
    try {
      await assert.rejects(serveMetrics(metrics, { host: LOOPBACK, port }), {
        code: 'port-in-use',
        message: `cannot serve metrics on 127.0.0.1:${port}: port in use`,
      })
    } finally {
      taken.close()
      await once(taken, 'close')
    }
  })

  it('frees the port on close, even with a connection kept alive; close is idempotent', async () => {
    const first = await serveMetrics(metrics, { host: LOOPBACK, port: 0 })
    const agent = new Agent({ keepAlive: true })
    try {
      assert.equal((await get(first.port, { agent })).status, 200)
      await Promise.all([first.close(), first.close()])
      const second = await serveMetrics(metrics, { host: 'localhost', port: first.port })
      assert.equal(second.address, LOOPBACK)
      assert.equal(second.port, first.port)
      await second.close()
    } finally {
      agent.destroy()
    }
  })

  it('serves on ::1', async (t) => {
    const probe = createServer()
    probe.listen(0, '::1')
    const ok = await Promise.race([
      once(probe, 'listening').then(() => true),
      once(probe, 'error').then(() => false),
    ])
    if (ok) probe.close()
    if (!ok) return t.skip('no IPv6 loopback here')
    const server = await serveMetrics(metrics, { host: '::1', port: 0 })
    try {
      assert.equal(server.address, '::1')
      assert.equal((await get(server.port, { address: '::1' })).status, 200)
    } finally {
      await server.close()
    }
  })
})

describe('parseMetricsListen', () => {
  it('reads [host:]port, the host 127.0.0.1 by default', () => {
    assert.equal(DEFAULT_METRICS_PORT, 9464)
    assert.deepEqual(parseMetricsListen('9464'), { host: '127.0.0.1', port: 9464 })
    assert.deepEqual(parseMetricsListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 })
    assert.deepEqual(parseMetricsListen('127.4.5.6:1'), { host: '127.4.5.6', port: 1 })
    assert.deepEqual(parseMetricsListen('[::1]:9464'), { host: '::1', port: 9464 })
    assert.deepEqual(parseMetricsListen('localhost:0'), { host: 'localhost', port: 0 })
  })

  it('throws coded errors for bad input', () => {
    const cases: [string, string][] = [
      ['', 'bad-listen'],
      ['127.0.0.1', 'bad-listen'],
      ['127.0.0.1:', 'bad-listen'],
      [':9464', 'bad-listen'],
      ['::1:9464', 'bad-listen'],
      ['[127.0.0.1]:9464', 'bad-listen'],
      ['127.0.0.1:http', 'bad-listen'],
      [' 9464', 'bad-listen'],
      ['65536', 'bad-port'],
      ['127.0.0.1:99999', 'bad-port'],
      ['0.0.0.0:9464', 'not-loopback'],
      ['192.168.1.1:9464', 'not-loopback'],
      ['[::]:9464', 'not-loopback'],
      ['example.com:9464', 'not-loopback'],
    ]
    for (const [text, code] of cases) {
      assert.throws(() => parseMetricsListen(text), { code }, `"${text}" → ${code}`)
    }
  })

  it('knows loopback hosts without resolving names', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', 'LOCALHOST']) {
      assert.ok(isLoopbackHost(host), host)
    }
    for (const host of ['128.0.0.1', '0.0.0.0', '::', '::2', 'localhost.example', '10.0.0.1']) {
      assert.ok(!isLoopbackHost(host), host)
    }
  })
})
