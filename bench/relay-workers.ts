/**
 * The main thread's handle on one relay-bench worker (relay-worker.ts):
 * requests with ids, replies as promises, and a close that always ends the
 * thread (a polite stop first, then terminate).
 */
import { Worker } from 'node:worker_threads'
import type { Ready, Reply, Request, Snapshot, WorkerSpec } from './relay-protocol.ts'

const STOP_TIMEOUT_MS = 3000
const WORKER_URL = new URL('./relay-worker.ts', import.meta.url)

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type Body<R> = R extends unknown ? Omit<R, 'id'> : never

export class BenchWorker {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #failure: Error | undefined
  #closed = false

  private constructor(spec: WorkerSpec) {
    this.#worker = new Worker(WORKER_URL, { workerData: spec })
    this.#worker.on('message', (reply: Reply) => {
      const p = this.#pending.get(reply.id)
      if (p === undefined) return
      this.#pending.delete(reply.id)
      if (reply.ok) p.resolve(reply.value)
      else p.reject(new Error(`${spec.role}: ${reply.error}`))
    })
    this.#worker.on('error', (err) => this.#fail(err))
    this.#worker.on('exit', (code) => this.#fail(new Error(`${spec.role} exited (${code})`)))
  }

  /** Starts a worker and adds it to `all` (so that the caller closes it whatever happens). */
  static spawn(spec: WorkerSpec, all: BenchWorker[]): BenchWorker {
    const w = new BenchWorker(spec)
    all.push(w)
    return w
  }

  start(): Promise<Ready> {
    return this.#request({ cmd: 'start' }) as Promise<Ready>
  }

  async send(dest: string, payloadBytes: number): Promise<void> {
    await this.#request({ cmd: 'send', dest, payloadBytes })
  }

  snapshot(): Promise<Snapshot> {
    return this.#request({ cmd: 'snapshot' }) as Promise<Snapshot>
  }

  /** Stops the participant (bounded wait), then terminates the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#failure === undefined) {
      const timeout = new Promise((done) => setTimeout(done, STOP_TIMEOUT_MS).unref())
      await Promise.race([this.#request({ cmd: 'stop' }).catch(() => {}), timeout])
    }
    await this.#worker.terminate()
  }

  #request(body: Body<Request>): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ ...body, id })
    })
  }

  #fail(err: Error): void {
    this.#failure ??= err
    for (const p of this.#pending.values()) p.reject(err)
    this.#pending.clear()
  }
}
