/**
 * What `semos status` shows: a plain JSON view of the node's state machines
 * and its links, built in one place so that the daemon stays a driver.
 */
import type { DhtNode } from '../dht/dht-node.ts'
import type { TcpLink } from '../link/tcp-link.ts'
import type { LinkId } from '../overlay/node-types.ts'
import type { OverlayNode } from '../overlay/overlay-node.ts'

export interface StatusExtras {
  readonly counters: Record<string, number>
  readonly drops: Record<string, number>
  readonly startedAtMs: number
}

export function statusOf(
  overlay: OverlayNode,
  dht: DhtNode,
  links: ReadonlyMap<LinkId, TcpLink>,
  extras: StatusExtras,
): Record<string, unknown> {
  return {
    name: overlay.name,
    endpoint: overlay.endpoint,
    placement: overlay.placement,
    address: overlay.address?.toString(),
    tree: overlay.tree && { root: overlay.tree.root, epoch: overlay.tree.epoch },
    parent: overlay.parentName,
    subtreeSize: overlay.subtreeSize(),
    tables: { own: overlay.ownTable()?.childSizes, ancestors: overlay.ancestorTables() },
    uptimeMs: Date.now() - extras.startedAtMs,
    links: overlay.links().map((l) => {
      const tcp = links.get(l.link)
      return {
        link: l.link,
        peer: l.name,
        role: l.role,
        open: l.open,
        endpoint: l.endpoint,
        address: l.address?.toString(),
        remote: tcp?.remoteAddress && `${tcp.remoteAddress}:${tcp.remotePort}`,
        bytesIn: tcp?.bytesIn ?? 0,
        bytesOut: tcp?.bytesOut ?? 0,
      }
    }),
    overlay: overlay.stats,
    dht: { ...dht.stats, records: dht.store.size, rejected: dht.store.counters },
    linkCloses: extras.counters,
    drops: extras.drops,
  }
}
