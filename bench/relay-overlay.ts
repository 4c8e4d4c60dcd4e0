/**
 * The overlay participant of the relay bench: a real OverlayDaemon in this
 * worker thread. As a sender it routes PROTO.session datagrams as fast as
 * `sendRouted`'s backpressure allows (false → wait for `onWritable`); as a
 * receiver it counts the payload bytes `onDeliver` hands it; as the relay it
 * only forwards. Its figures come from the daemon's own status.
 */
import { generateIdentity } from '../src/identity/keys.ts'
import { MAX_FRAME_BYTES } from '../src/link/framing.ts'
import { TAG_BYTES } from '../src/link/link-records.ts'
import {
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_Q,
  DEFAULT_RECORD_LIFETIME_MS,
  DEFAULT_REPLICAS,
} from '../src/node/config.ts'
import { OverlayDaemon } from '../src/node/daemon.ts'
import { createLogger } from '../src/node/logger.ts'
import { Address } from '../src/overlay/address.ts'
import { encodeMessage } from '../src/overlay/messages.ts'
import { PROTO } from '../src/overlay/node-types.ts'
import type { OverlayFigures, Ready, WorkerSpec } from './relay-protocol.ts'
import type { Figures, Role } from './relay-worker.ts'

const JOIN_TIMEOUT_MS = 15_000
/** Frames sent in one go before yielding to the event loop (timers, requests). */
const BATCH_FRAMES = 64

/** A link record's largest payload (LinkSession.maxPayloadBytes with the default frame size). */
export const LINK_MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES - TAG_BYTES - 1

/** The largest PROTO.session payload that fits one link record between these two addresses. */
export function maxRoutedPayloadBytes(dest: Address, src: Address): number {
  const header = encodeMessage({
    type: 'routed',
    flags: 0,
    hops: 0,
    maxHops: 255,
    proto: PROTO.session,
    dest,
    src,
    payload: new Uint8Array(0),
  }).length
  return LINK_MAX_PAYLOAD_BYTES - header
}

/** Parses Address#toString's form, e.g. `q4:/2.0.1` (`q4:/` is the root). */
export function parseAddress(text: string): Address {
  const m = /^q(\d+):\/([\d.]*)$/.exec(text)
  if (m === null) throw new Error(`not an overlay address: ${text}`)
  const slots = m[2] === '' ? [] : (m[2] as string).split('.').map(Number)
  return Address.fromSlots(Number(m[1]), slots)
}

export class OverlayRole implements Role {
  readonly #daemon: OverlayDaemon
  #bytesIn = 0
  #framesIn = 0
  #framesOut = 0
  #sending = false

  constructor(spec: Extract<WorkerSpec, { role: 'overlay' }>) {
    this.#daemon = new OverlayDaemon(
      {
        stateDir: spec.stateDir,
        listen: { host: '127.0.0.1', port: 0 },
        bootstrap: spec.bootstrap,
        keepaliveIntervalMs: DEFAULT_KEEPALIVE_INTERVAL_MS,
        deadAfterMs: DEFAULT_DEAD_AFTER_MS,
        q: DEFAULT_Q,
        replicas: DEFAULT_REPLICAS,
        recordLifetimeMs: DEFAULT_RECORD_LIFETIME_MS,
        ...(spec.noShortcuts ? { overlayTuning: { maxShortcuts: 0, joinClimb: 0 } } : {}),
      },
      { identity: generateIdentity(), log: createLogger({ level: 'silent', pretty: false }) },
    )
    this.#daemon.onDeliver = (e) => {
      if (e.proto !== PROTO.session) return
      this.#bytesIn += e.payload.length
      this.#framesIn++
    }
  }

  /** Resolves once the daemon has an overlay address. */
  async start(): Promise<Ready> {
    await this.#daemon.start()
    const t0 = performance.now()
    for (;;) {
      const s = await this.#status()
      if (s.address !== undefined) {
        return { name: s.name, endpoint: this.#daemon.overlay?.endpoint, address: s.address }
      }
      if (performance.now() - t0 > JOIN_TIMEOUT_MS) throw new Error('no overlay address in time')
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  send(destText: string, payloadBytes: number): void {
    const dest = parseAddress(destText)
    const src = this.#daemon.overlay?.address
    if (src === undefined) throw new Error('the sender has no address')
    const max = maxRoutedPayloadBytes(dest, src)
    if (payloadBytes > max) throw new Error(`--payload ${payloadBytes} > ${max} (one link record)`)
    const payload = new Uint8Array(payloadBytes).fill(0x5a)
    this.#sending = true
    const pump = (): void => {
      if (!this.#sending) return
      for (let i = 0; i < BATCH_FRAMES; i++) {
        this.#framesOut++
        if (!this.#daemon.sendRouted(dest, PROTO.session, payload)) return // onWritable resumes
      }
      setImmediate(pump)
    }
    this.#daemon.onWritable = pump
    pump()
  }

  async figures(): Promise<Figures> {
    const overlay = await this.#status()
    return {
      bytesIn: this.#bytesIn,
      framesIn: this.#framesIn,
      framesOut: this.#framesOut,
      overlay,
    }
  }

  async stop(): Promise<void> {
    this.#sending = false
    this.#daemon.onWritable = undefined
    await this.#daemon.stop()
  }

  async #status(): Promise<OverlayFigures> {
    const s = (await this.#daemon.handle('status', {})) as StatusView
    const drops: Record<string, number> = {}
    for (const d of [s.drops, s.overlay.drops]) {
      for (const [k, v] of Object.entries(d)) drops[k] = (drops[k] ?? 0) + v
    }
    return {
      name: s.name,
      address: s.address,
      peers: s.links.filter((l) => l.open && l.peer !== undefined).map((l) => l.peer as string),
      forwarded: s.overlay.forwarded,
      delivered: s.overlay.delivered,
      drops,
    }
  }
}

/** The parts of the daemon's status (daemon-status.ts) read here. */
interface StatusView {
  readonly name: string
  readonly address: string | undefined
  readonly links: readonly { readonly peer: string | undefined; readonly open: boolean }[]
  readonly overlay: {
    readonly forwarded: number
    readonly delivered: number
    readonly drops: Record<string, number>
  }
  readonly drops: Record<string, number>
}
