/**
 * The papers' mobility experiment, set up in the lab (lab.ts), for the scenario
 * tests (mobility.test.ts) and the benchmark (bench/mobility.ts):
 *
 *   subnet 0: m0 (the overlay's first member, its root) and fixed (the fixed host)
 *   subnet 1: m1 (a member) and, at first, mobile (the mobile host)
 *   subnet 2: m2 (a member)
 *
 * Every host runs `semos up` (listening on 0.0.0.0:7400, so what it advertises
 * follows its address). The fixed host runs a plain TCP receiver on 127.0.0.1:5001
 * and exposes it (`semos expose 5001:127.0.0.1:5001 --allow-any`); the mobile host
 * forwards 127.0.0.1:6001 to it (`semos forward -L 127.0.0.1:6001:FIXED:5001`) and
 * runs plain TCP senders into that port. The mobile host joins through m1; after a
 * move it re-joins through whichever member it knows answers first.
 */
import {
  Lab,
  type LabProcess,
  type Line,
  NODE,
  SEMOS_PORT,
  type SemosProc,
  TCP_APP,
} from './lab.ts'

export const RECEIVER_PORT = 5001
export const FORWARD_PORT = 6001

export interface MobilityLab {
  readonly lab: Lab
  readonly m0: SemosProc
  readonly m1: SemosProc
  readonly m2: SemosProc
  readonly fixed: SemosProc
  readonly mobile: SemosProc
  readonly receiver: LabProcess
}

const member = (node: SemosProc): string => `${node.host.address}:${SEMOS_PORT}`

/** Builds the lab and starts everything; destroys what it made if anything fails. */
export async function buildMobilityLab(logLevel = 'info'): Promise<MobilityLab> {
  const lab = await Lab.create(3)
  try {
    await lab.addHost('m0', 0)
    await lab.addHost('fixed', 0)
    await lab.addHost('m1', 1)
    await lab.addHost('m2', 2)
    await lab.addHost('mobile', 1)
    const m0 = await lab.startSemos('m0', [], [], logLevel)
    const [m1, m2, fixed] = await Promise.all([
      lab.startSemos('m1', [member(m0)], [], logLevel),
      lab.startSemos('m2', [member(m0)], [], logLevel),
      lab.startSemos('fixed', [member(m0)], [], logLevel),
    ])
    const mobile = await lab.startSemos('mobile', [member(m1)], [], logLevel)
    const receiver = lab.spawn('fixed', 'receiver', [
      NODE,
      TCP_APP,
      'receiver',
      '--listen',
      `127.0.0.1:${RECEIVER_PORT}`,
    ])
    await receiver.waitFor((l) => l.ev === 'listening', 'the receiver to listen')
    await lab.semos(fixed, ['expose', `${RECEIVER_PORT}:127.0.0.1:${RECEIVER_PORT}`, '--allow-any'])
    await lab.semos(mobile, [
      'forward',
      '-L',
      `127.0.0.1:${FORWARD_PORT}:${fixed.name}:${RECEIVER_PORT}`,
    ])
    return { lab, m0, m1, m2, fixed, mobile, receiver }
  } catch (err) {
    await lab.destroy()
    throw err
  }
}

/** One plain TCP transfer from the mobile host's sender to the fixed host's receiver. */
export class Transfer {
  readonly conn: number
  readonly sender: LabProcess
  readonly #receiver: LabProcess

  private constructor(conn: number, sender: LabProcess, receiver: LabProcess) {
    this.conn = conn
    this.sender = sender
    this.#receiver = receiver
  }

  /**
   * Starts a sender at `rateMBps` into 127.0.0.1:`port` on the mobile host (default: the
   * semos forward); `conn` is the receiver's number for the connection (0, 1, … in the
   * order they reach it). Resolves once bytes arrive.
   */
  static async start(
    ml: MobilityLab,
    conn: number,
    rateMBps: number,
    port = FORWARD_PORT,
  ): Promise<Transfer> {
    const sender = ml.lab.spawn('mobile', `sender${conn}`, [
      NODE,
      TCP_APP,
      'sender',
      '--connect',
      `127.0.0.1:${port}`,
      '--rate',
      String(rateMBps),
    ])
    const t = new Transfer(conn, sender, ml.receiver)
    await sender.waitFor((l) => l.ev === 'connected', 'the sender to connect')
    await t.received(1)
    return t
  }

  #mine(l: Line): boolean {
    return l.conn === this.conn
  }

  /** Resolves once the receiver has at least `bytes` of this transfer (a tick shows it). */
  received(bytes: number): Promise<Line> {
    return this.#receiver.waitFor(
      (l) => this.#mine(l) && l.ev === 'tick' && Number(l.bytes) >= bytes,
      `${bytes} bytes at the receiver`,
    )
  }

  /** The receiver's byte count now (from its latest tick). */
  get bytesNow(): number {
    const ticks = this.#receiver.lines.filter((l) => this.#mine(l) && l.ev === 'tick')
    return Number(ticks.at(-1)?.bytes ?? 0)
  }

  /** The first byte the receiver got after `afterMs` (wall clock), after a quiet spell. */
  resumedAfter(afterMs: number): Promise<Line> {
    return this.#receiver.waitFor(
      (l) => this.#mine(l) && l.ev === 'resume' && Number(l.t) >= afterMs,
      'the transfer to resume',
    )
  }

  /** Every tick of this transfer so far: { t, bytes }. */
  ticks(): { t: number; bytes: number }[] {
    return this.#receiver.lines
      .filter((l) => this.#mine(l) && l.ev === 'tick')
      .map((l) => ({ t: Number(l.t), bytes: Number(l.bytes) }))
  }

  /** Errors either application socket saw (an error or reset is a broken connection). */
  errors(): Line[] {
    return [
      ...this.sender.lines.filter((l) => l.ev === 'error'),
      ...this.#receiver.lines.filter((l) => this.#mine(l) && l.ev === 'error'),
    ]
  }

  /** Tells the sender to finish; resolves with both ends' byte counts and digests. */
  async stop(): Promise<{ sent: Line; received: Line }> {
    this.sender.write('stop\n')
    const sent = await this.sender.waitFor(
      (l) => l.ev === 'done' || l.ev === 'error',
      'the sender to end',
    )
    const received = await this.#receiver.waitFor(
      (l) => this.#mine(l) && (l.ev === 'done' || l.ev === 'error'),
      'the receiver to see the end',
    )
    this.sender.child.kill('SIGTERM')
    return { sent, received }
  }
}

/** The mobile host's session with the fixed host, as `semos status` shows it. */
export interface SessionView {
  /** Rows for the peer (one unless a second session was made). */
  readonly rows: number
  readonly state: string | undefined
  readonly suspensions: number
  readonly resumptions: number
  readonly lastResumedInMs: number | undefined
}

export async function sessionWith(
  ml: MobilityLab,
  from: SemosProc,
  peer: SemosProc,
): Promise<SessionView> {
  const status = (await ml.lab.call(from, 'status')) as {
    sessions: {
      peerName: string
      state: string
      suspensions: number
      resumptions: number
      lastResumedInMs?: number
    }[]
  }
  const rows = status.sessions.filter((s) => s.peerName === peer.name)
  const row = rows[0]
  return {
    rows: rows.length,
    state: row?.state,
    suspensions: row?.suspensions ?? 0,
    resumptions: row?.resumptions ?? 0,
    lastResumedInMs: row?.lastResumedInMs,
  }
}

/** How many times the node logged a session to `peer` as established, since it started. */
export function establishedCount(node: SemosProc): number {
  return node.proc.lines.filter((l) => l.msg === 'session established').length
}
