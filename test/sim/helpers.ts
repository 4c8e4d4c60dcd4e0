import assert from 'node:assert/strict'
import type { SimOverlay } from '../../src/sim/overlay.ts'

/** Asserts the tree invariants every overlay state must keep. */
export function assertTreeInvariants(overlay: SimOverlay): void {
  const seen = new Set<string>()
  let live = 0
  for (const n of overlay.nodes) {
    if (!n.alive) continue
    live++
    assert.ok(!seen.has(n.address.key), `duplicate address ${n.address}`)
    seen.add(n.address.key)
    assert.equal(overlay.at(n.address)?.id, n.id, `${n.address} not reachable by address`)
    if (n.id === overlay.root) {
      assert.equal(n.parent, -1)
      assert.ok(n.address.isRoot)
    } else {
      const p = overlay.node(n.parent)
      assert.ok(p.alive, `${n.address} has a dead parent`)
      assert.equal(p.children[n.address.slots[n.address.depth - 1] as number], n.id)
      assert.ok(p.address.equals(n.address.parent()!), `${n.address} is not below ${p.address}`)
    }
    let size = 1
    for (let s = 0; s < n.address.childSlots; s++) {
      const c = n.children[s] as number
      if (c >= 0) size += overlay.node(c).size
    }
    assert.equal(n.size, size, `size of ${n.address}`)
  }
  assert.equal(live, overlay.aliveCount)
  assert.equal(overlay.node(overlay.root).size, live)
}
