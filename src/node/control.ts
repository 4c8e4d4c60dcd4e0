/**
 * The local control channel between the `semos` commands and a running
 * daemon: a Unix domain socket in the state directory, owner-only, carrying
 * newline-delimited JSON (docs/control.md). One request line
 * `{id, method, params}` gets one response line `{id, result}` or
 * `{id, error: {code, message}}`. This module holds the protocol's pieces and
 * the client; the server is in control-server.ts.
 */
import { createConnection, type Socket } from 'node:net'
import { CodedError } from '../core/coded-error.ts'

/** Longest request line the server reads; a longer one ends the connection. */
export const MAX_REQUEST_LINE_BYTES = 64 * 1024
/** Longest response line the client reads (a status report can be large). */
export const MAX_RESPONSE_LINE_BYTES = 16 * 1024 * 1024
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000

export type ControlErrorCode =
  | 'daemon-not-running'
  | 'timeout'
  | 'remote'
  | 'protocol'
  | 'connection'

/**
 * A failed control call. `remote` carries the daemon's own error code in
 * `remoteCode` (e.g. `not-found`); the daemon's handler throws
 * `ControlError.remote(code, message)` to send one.
 */
export class ControlError extends CodedError<ControlErrorCode> {
  readonly remoteCode: string | undefined

  constructor(code: ControlErrorCode, message: string, remoteCode?: string) {
    super(code, message)
    this.remoteCode = remoteCode
  }

  static remote(code: string, message: string): ControlError {
    return new ControlError('remote', message, code)
  }
}

export interface CallOptions {
  /** Default DEFAULT_CONTROL_TIMEOUT_MS. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/**
 * Calls `method` on the daemon listening at `path` and returns its result.
 * Throws a ControlError: `daemon-not-running`, `timeout`, `remote` (the
 * daemon's code in `remoteCode`), `protocol` or `connection`.
 */
export function callControl(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  { timeoutMs = DEFAULT_CONTROL_TIMEOUT_MS, signal }: CallOptions = {},
): Promise<unknown> {
  const id = 1 // one call per connection: the id only guards against a confused server
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    const finish = (err: ControlError | undefined, result?: unknown): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err === undefined) resolve(result)
      else reject(err)
    }
    const timer = setTimeout(
      () =>
        finish(
          new ControlError(
            'timeout',
            `the daemon did not answer "${method}" within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    )
    const onAbort = (): void => finish(new ControlError('timeout', `"${method}" was cancelled`))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) return onAbort()
    socket.once('connect', () => socket.write(`${JSON.stringify({ id, method, params })}\n`))
    socket.on('error', (err: NodeJS.ErrnoException) => finish(connectionError(err, path)))
    socket.once('end', () =>
      finish(
        new ControlError(
          'protocol',
          `the daemon closed the connection without answering "${method}"`,
        ),
      ),
    )
    readLines(
      socket,
      MAX_RESPONSE_LINE_BYTES,
      (line) => {
        const response = parseResponse(line, id)
        if (response instanceof ControlError) finish(response)
        else finish(undefined, response.result)
      },
      () =>
        finish(
          new ControlError('protocol', `a response line exceeded ${MAX_RESPONSE_LINE_BYTES} bytes`),
        ),
    )
  })
}

function connectionError(err: NodeJS.ErrnoException, path: string): ControlError {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return new ControlError(
      'daemon-not-running',
      `no semos daemon is running (no control socket at ${path}); start one with: semos up`,
    )
  }
  return new ControlError('connection', `cannot talk to the daemon at ${path}: ${err.message}`)
}

function parseResponse(line: string, id: number): { result: unknown } | ControlError {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return new ControlError('protocol', 'the daemon sent a line that is not JSON')
  }
  if (!isControlObject(value)) return new ControlError('protocol', 'the daemon sent a non-object')
  if (isControlObject(value.error)) {
    const { code, message } = value.error
    return ControlError.remote(
      typeof code === 'string' ? code : 'unknown',
      typeof message === 'string' ? message : 'the daemon reported an error',
    )
  }
  if (value.id !== id)
    return new ControlError('protocol', `the daemon answered id ${String(value.id)}, not ${id}`)
  if (!('result' in value))
    return new ControlError('protocol', 'the daemon sent neither result nor error')
  return { result: value.result }
}

/**
 * Splits a socket's bytes into UTF-8 lines. Lines are cut on the byte 0x0a,
 * which never occurs inside a multi-byte UTF-8 character, so decoding whole
 * lines is safe. `onOverflow` is called once if a line exceeds `maxBytes`,
 * and reading stops.
 */
export function readLines(
  socket: Socket,
  maxBytes: number,
  onLine: (line: string) => void,
  onOverflow: () => void,
): void {
  let pending: Buffer[] = []
  let pendingBytes = 0
  const overflow = (): void => {
    socket.off('data', onData)
    socket.pause()
    onOverflow()
  }
  const onData = (chunk: Buffer): void => {
    let start = 0
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)])
      pending = []
      pendingBytes = 0
      start = nl + 1
      if (line.length > maxBytes) {
        overflow()
        return
      }
      const text = line.toString('utf8')
      if (text.trim() !== '') onLine(text)
      if (socket.destroyed) return
    }
    pending.push(chunk.subarray(start))
    pendingBytes += chunk.length - start
    if (pendingBytes > maxBytes) overflow()
  }
  socket.on('data', onData)
}

export function isControlObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
