/**
 * netwatch.ts on a scripted interface table: which addresses count, what a change
 * reports, that nothing is reported when nothing changed, and which changes are moves. (The lab's scenarios,
 * mobility.test.ts, exercise it on real interfaces.)
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import type { NetworkInterfaceInfo } from 'node:os'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import {
  createPoller,
  type HostAddress,
  hostAddresses,
  LONG_OUTAGE_MS,
  MONITOR_COMMAND,
  type Monitor,
  MoveDetector,
  type NetworkChange,
  preferredAddress,
  startMonitor,
} from '../../src/node/netwatch.ts'
import { labUnavailable } from '../lab/lab.ts'

const run = promisify(execFile)

const v4 = (address: string, bits = 24): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/${bits}`,
})
const v6 = (address: string): NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/64`,
  scopeid: 0,
})
const lo: NetworkInterfaceInfo = { ...v4('127.0.0.1', 8), internal: true }

describe('netwatch', () => {
  it('counts non-internal addresses, IPv4 first, and never IPv6 link-local ones', () => {
    const addresses = hostAddresses(() => ({
      lo: [lo],
      eth0: [v6('fe80::1'), v6('2001:db8::5'), v4('10.0.0.5')],
    }))
    assert.deepEqual(
      addresses.map((a) => a.address),
      ['10.0.0.5', '2001:db8::5'],
    )
    assert.equal(preferredAddress(addresses), '10.0.0.5')
    assert.equal(preferredAddress(hostAddresses(() => ({ lo: [lo] }))), undefined)
  })

  it('reports a move as one address removed and one added, and silence otherwise', () => {
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [lo], eth0: [v4('10.0.1.5')] }
    const poller = createPoller(() => table)
    const changes: NetworkChange[] = []
    const unwatch = poller.watch((c) => changes.push(c))
    poller.poll()
    assert.equal(changes.length, 0, 'no change, no report')
    table = { lo: [lo] } // the cable is pulled: the interface has no carrier
    poller.poll()
    table = { lo: [lo], eth0: [v4('10.0.2.7'), v6('fe80::1')] } // another subnet
    poller.poll()
    poller.poll()
    assert.deepEqual(
      changes.map((c) => ({
        added: c.added.map((a) => a.cidr),
        removed: c.removed.map((a) => a.cidr),
        current: c.current.map((a) => a.address),
      })),
      [
        { added: [], removed: ['10.0.1.5/24'], current: [] },
        { added: ['10.0.2.7/24'], removed: [], current: ['10.0.2.7'] },
      ],
    )
    unwatch()
    table = { lo: [lo] }
    poller.poll()
    assert.equal(changes.length, 2, 'an unwatched listener hears nothing')
  })

  it('tells a move from a flap: a new address while one is missing, or one back after a long outage', () => {
    const at = (address: string): HostAddress => ({
      address,
      family: 'IPv4',
      cidr: `${address}/24`,
      iface: 'eth0',
    })
    const change = (added: string[], removed: string[], current: string[]): NetworkChange => ({
      added: added.map(at),
      removed: removed.map(at),
      current: current.map(at),
    })
    const d = new MoveDetector()
    // The cable out: nothing to drop yet.
    assert.deepEqual(d.observe(change([], ['10.0.1.5'], []), 1000), {
      moved: false,
      lostAtMs: 1000,
    })
    // Back on the same address sooner than LONG_OUTAGE_MS: a flap, TCP carries on.
    const soon = 1000 + LONG_OUTAGE_MS - 1
    assert.equal(d.observe(change(['10.0.1.5'], [], ['10.0.1.5']), soon).moved, false)
    // Out again, and back after LONG_OUTAGE_MS: the old links sit in back-off, a move.
    d.observe(change([], ['10.0.1.5'], []), 2000)
    assert.deepEqual(d.observe(change(['10.0.1.5'], [], ['10.0.1.5']), 2000 + LONG_OUTAGE_MS), {
      moved: true,
      lostAtMs: 2000,
    })
    // Out, then another subnet's address: a move at once, links made before 3000 go.
    d.observe(change([], ['10.0.1.5'], []), 3000)
    assert.deepEqual(d.observe(change(['10.0.2.7'], [], ['10.0.2.7']), 3010), {
      moved: true,
      lostAtMs: 3000,
    })
    // A second address on another interface, nothing lost: not a move.
    assert.equal(d.observe(change(['192.0.2.9'], [], ['10.0.2.7', '192.0.2.9']), 4000).moved, false)
  })

  it('reads the table at once when the monitor prints, not at the next poll, and stops it with the last watcher', {
    timeout: 10_000,
  }, async () => {
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [lo], eth0: [v4('10.0.1.5')] }
    // A stand-in for `ip monitor`: one line, then silence until its stdin ends.
    const poller = createPoller(() => table, ['sh', '-c', 'echo 2: eth0 inet 10.0.2.7; read _'])
    const changes: NetworkChange[] = []
    let heard: () => void = () => {}
    const changed = new Promise<void>((resolve) => {
      heard = resolve
    })
    const unwatch = poller.watch((c) => {
      changes.push(c)
      heard()
    })
    table = { lo: [lo], eth0: [v4('10.0.2.7')] }
    await changed // the poll period is a minute: only the monitor's line can have done it
    assert.deepEqual(
      changes.map((c) => c.added.map((a) => a.address)),
      [['10.0.2.7']],
    )
    const monitor = poller.monitor()
    assert.ok(monitor)
    unwatch()
    await monitor.exited // stopped: it would otherwise outlast the test's timeout
    assert.equal(poller.monitor(), undefined)
  })

  it('goes on without events when the monitor command cannot run', {
    timeout: 10_000,
  }, async () => {
    let events = 0
    const monitor = startMonitor(['/nonexistent/semos-no-such-command'], () => events++)
    await monitor.exited
    monitor.stop()
    assert.equal(events, 0)
    if (MONITOR_COMMAND === undefined) return
    // The real command where `ip` is not installed: its shell exits at once, not at our exit.
    const script = MONITOR_COMMAND.at(-1) as string
    const noIp = startMonitor(
      ['/usr/bin/env', 'PATH=/nonexistent', '/bin/sh', '-c', script],
      () => events++,
    )
    await noIp.exited // without the check it would wait on its stdin until the test times out
    assert.equal(events, 0)
  })

  it('hears a real address change through `ip monitor`, in a namespace of its own, and leaves no process behind', {
    timeout: 20_000,
  }, async (t) => {
    const why = MONITOR_COMMAND === undefined ? 'not Linux' : await labUnavailable()
    if (why !== undefined || MONITOR_COMMAND === undefined) {
      t.skip(`${why}: the poll alone is tested here`)
      return
    }
    const ns = `semoslab-${process.pid}-netwatch`
    await run('ip', ['netns', 'add', ns])
    let monitor: Monitor | undefined
    // An after-hook, not a finally: it runs even when the test times out.
    t.after(async () => {
      monitor?.stop()
      const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))).stdout
      for (const pid of pids.split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
      await run('ip', ['netns', 'del', ns]).catch(() => {})
    })
    let events = 0
    monitor = startMonitor(['ip', 'netns', 'exec', ns, ...MONITOR_COMMAND], () => events++)
    // `ip monitor` says nothing when it is listening: change the namespace's links until
    // it reports one (each change awaited; a monitor that never hears fails the bound).
    await run('ip', ['-n', ns, 'link', 'add', 'nw0', 'type', 'veth', 'peer', 'name', 'nw1'])
    const address = (verb: string) => ['-n', ns, 'addr', verb, '192.0.2.1/24', 'dev', 'nw0']
    for (let i = 0; events === 0 && i < 500; i++) {
      await run('ip', address(i % 2 === 0 ? 'add' : 'del'))
    }
    assert.ok(events > 0, 'an address change in the namespace was reported')
    monitor.stop()
    await monitor.exited // with an `ip` still holding the pipe, this never settles
    const left = (await run('ip', ['netns', 'pids', ns])).stdout.trim()
    assert.equal(left, '', 'no `ip monitor` left in the namespace')
  })
})
