import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateIdentity } from '../../src/identity/keys.ts'
import { Address } from '../../src/overlay/address.ts'
import { Dial } from '../../src/session/session-dial.ts'
import { initiateSession } from '../../src/session/session-handshake.ts'
import { resolveSettings } from '../../src/session/session-manager-types.ts'

const here = Address.root(4).child(1)
const moved = Address.root(4).child(2)

function dial(): Dial {
  const pending = initiateSession({
    identity: generateIdentity(),
    peerName: generateIdentity().name,
  })
  return new Dial(() => pending, resolveSettings({}))
}

describe('Dial', () => {
  it('makes the hello at its first tick, while the lookup runs, or when first needed', () => {
    let made = 0
    const settings = resolveSettings({})
    const make = () => {
      made++
      return initiateSession({ identity: generateIdentity(), peerName: generateIdentity().name })
    }
    const d = new Dial(make, settings)
    d.begin(10)
    assert.equal(made, 0)
    assert.equal(d.made, undefined)
    assert.equal(d.nextDeadlineMs(), 10, 'due at once')
    assert.deepEqual(d.tick(11), [])
    assert.equal(made, 1)
    assert.equal(d.nextDeadlineMs(), 10 + settings.lookupTimeoutMs)
    // An answer before any tick (from the cache): the hello is made when it is sent.
    const e = new Dial(make, settings)
    e.begin(0)
    const [hello] = e.onLookup({ outcome: 'found', address: here }, 0)
    assert.equal(hello?.type, 'hello')
    assert.equal(e.pending.hello.length > 0, true)
    assert.equal(made, 2)
    assert.equal(e.made, e.pending)
  })

  it('sends the hello on the first answer, and again where a newer answer points', () => {
    const d = dial()
    assert.deepEqual(d.begin(0), [{ type: 'lookup', fresh: false }])
    // The early answer: dial now.
    assert.deepEqual(d.onLookup({ outcome: 'found', address: here }, 1), [
      { type: 'hello', dest: here },
    ])
    assert.equal(d.phase, 'handshaking')
    // The settled answer agrees: nothing to do.
    assert.deepEqual(d.onLookup({ outcome: 'found', address: here }, 2), [])
    // A slower replica held a newer record: the same hello goes there too.
    assert.deepEqual(d.onLookup({ outcome: 'found', address: moved }, 3), [
      { type: 'hello', dest: moved },
    ])
    assert.equal(d.phase, 'handshaking')
    assert.equal(d.attempts, 1)
    // Answers that find nothing do not undo a hello in flight.
    assert.deepEqual(d.onLookup({ outcome: 'not-found' }, 4), [])
    assert.equal(d.phase, 'handshaking')
  })
})
