/**
 * The manager's tables: sessions by local handle, by wire session id (once keys exist),
 * the dials still under way, and the sessions whose peer address came back undeliverable.
 * A session is in `byHandle` from creation to close; in `byId` from its keys to close.
 */
import type { Session } from './session.ts'
import type { Dial } from './session-dial.ts'
import type { SessionHandle } from './session-manager-types.ts'

export class SessionTable {
  readonly byHandle = new Map<SessionHandle, Session>()
  readonly dials = new Map<SessionHandle, Dial>()
  /** Sessions whose current peer address came back undeliverable. */
  readonly suspect = new Set<SessionHandle>()
  readonly #byId = new Map<string, Session>()

  get size(): number {
    return this.byHandle.size
  }

  /** The session with this wire id (hex), if keys for it exist here. */
  byId(idHex: string): Session | undefined {
    return this.#byId.get(idHex)
  }

  add(session: Session): void {
    this.byHandle.set(session.handle, session)
  }

  /** Keys are ready: index the session by its wire id; its dial is over. */
  register(session: Session): void {
    this.dials.delete(session.handle)
    const id = session.sessionIdHex
    if (id !== undefined) this.#byId.set(id, session)
  }

  forget(session: Session): void {
    this.byHandle.delete(session.handle)
    this.dials.delete(session.handle)
    this.suspect.delete(session.handle)
    const id = session.sessionIdHex
    if (id !== undefined && this.#byId.get(id) === session) this.#byId.delete(id)
  }

  /** The dial whose hello carried this partial id (hex). */
  dialFor(partialHex: string): { session: Session; dial: Dial } | undefined {
    for (const [handle, dial] of this.dials) {
      const pending = dial.made
      if (pending === undefined || Buffer.from(pending.partialId).toString('hex') !== partialHex) {
        continue
      }
      const session = this.byHandle.get(handle)
      if (session !== undefined) return { session, dial }
    }
    return undefined
  }

  halfOpenCount(): number {
    let n = 0
    for (const s of this.byHandle.values()) if (s.state === 'half-open') n++
    return n
  }
}
