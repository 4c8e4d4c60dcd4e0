/**
 * The daemon's side of the control channel (protocol in control.ts and
 * docs/control.md). Requests of one connection run concurrently, up to a
 * bound; a malformed line gets an error response and the connection lives on,
 * an oversize line gets one and the connection is closed (it cannot be
 * resynchronised cheaply, and only a broken client sends one).
 */
import { lstatSync, unlinkSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { CodedError } from '../core/coded-error.ts'
import { ControlError, isControlObject, MAX_REQUEST_LINE_BYTES, readLines } from './control.ts'
import type { Logger } from './logger.ts'

/** Requests of one connection handled at once; reading pauses beyond this. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 32
// sun_path holds 108 bytes on Linux, 104 on macOS, including the final NUL.
const MAX_SOCKET_PATH_BYTES = 103

export type ControlServerErrorCode = 'already-running' | 'not-a-socket' | 'socket-path'

export class ControlServerError extends CodedError<ControlServerErrorCode> {}

/** Answers one request; what it throws becomes the error response. */
export type ControlHandler = (method: string, params: Record<string, unknown>) => Promise<unknown>

export interface ControlServer {
  readonly path: string
  /** Stops listening, drops connections, removes the socket file. Idempotent. */
  close(): Promise<void>
}

/**
 * Serves `handler` on a Unix socket at `path`. Removes a stale socket file left
 * by a daemon that died; refuses (ControlServerError `already-running`) if a
 * daemon answers on it.
 */
export async function serveControl(
  path: string,
  handler: ControlHandler,
  init: { log?: Logger } = {},
): Promise<ControlServer> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlServerError(
      'socket-path',
      `control socket path ${path} is too long for a Unix socket (max ${MAX_SOCKET_PATH_BYTES} bytes); choose a shorter state directory`,
    )
  }
  await removeStaleSocket(path)
  const connections = new Set<Socket>()
  const server = createServer((socket) => {
    connections.add(socket)
    socket.on('close', () => connections.delete(socket))
    serveConnection(socket, handler, init.log)
  })
  await listen(server, path)
  // The state directory is 0700, so nobody else can reach the socket in the
  // moment between bind and chmod; the mode guards against a loosened directory.
  await chmod(path, 0o600)
  let closing: Promise<void> | undefined
  return {
    path,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of connections) socket.destroy()
      })
      return closing
    },
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!lstatSync(path).isSocket()) {
      throw new ControlServerError('not-a-socket', `${path} exists and is not a socket`)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (await somebodyListens(path)) {
    throw new ControlServerError(
      'already-running',
      `a daemon is already running (control socket ${path})`,
    )
  }
  unlinkSync(path)
}

function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false)
      else reject(new ControlServerError('socket-path', `cannot probe ${path}: ${err.message}`))
    })
  })
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        // Another daemon bound it between our probe and our bind.
        reject(
          new ControlServerError(
            'already-running',
            `a daemon is already running (control socket ${path})`,
          ),
        )
      } else {
        reject(new ControlServerError('socket-path', `cannot listen on ${path}: ${err.message}`))
      }
    })
    server.listen(path, () => resolve())
  })
}

function serveConnection(socket: Socket, handler: ControlHandler, log: Logger | undefined): void {
  let inFlight = 0
  const send = (response: object): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`)
  }
  const onLine = (line: string): void => {
    const request = parseRequest(line)
    if (!request.ok) {
      send({ id: request.id, error: { code: 'bad-request', message: request.message } })
      return
    }
    const { id, method, params } = request
    inFlight++
    if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) socket.pause()
    handler(method, params)
      .then(
        (result) => send({ id, result: result ?? null }),
        (err: unknown) => send({ id, error: errorBody(err, method, log) }),
      )
      .finally(() => {
        inFlight--
        if (inFlight < MAX_IN_FLIGHT_PER_CONNECTION) socket.resume()
      })
  }
  readLines(socket, MAX_REQUEST_LINE_BYTES, onLine, () => {
    send({
      id: null,
      error: {
        code: 'line-too-long',
        message: `a request line is at most ${MAX_REQUEST_LINE_BYTES} bytes`,
      },
    })
    socket.end()
  })
  socket.on('error', () => {
    // A client that went away mid-answer is its own business.
  })
}

type ParsedRequest =
  | { ok: true; id: string | number; method: string; params: Record<string, unknown> }
  | { ok: false; id: string | number | null; message: string }

function parseRequest(line: string): ParsedRequest {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { ok: false, id: null, message: 'a request is one JSON object per line' }
  }
  if (!isControlObject(value)) return { ok: false, id: null, message: 'a request is a JSON object' }
  const { id, method, params = {} } = value
  if (typeof id !== 'string' && typeof id !== 'number') {
    return { ok: false, id: null, message: 'a request needs an "id" (string or number)' }
  }
  if (typeof method !== 'string' || method === '') {
    return { ok: false, id, message: 'a request needs a "method" (string)' }
  }
  if (!isControlObject(params)) return { ok: false, id, message: '"params" must be an object' }
  return { ok: true, id, method, params }
}

function errorBody(err: unknown, method: string, log: Logger | undefined): object {
  if (err instanceof ControlError && err.code === 'remote') {
    return { code: err.remoteCode ?? 'remote', message: err.message }
  }
  if (err instanceof CodedError) return { code: err.code, message: err.message }
  log?.error({ err, method }, 'control request failed')
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) }
}
