/**
 * Joins a local TCP connection and a session stream, both ways, as ssh joins a
 * forwarded connection and its channel:
 *
 *   - bytes flow with backpressure (pipe), never dropped;
 *   - a FIN on one side is a FIN on the other (end()), and the other direction goes
 *     on: half-closed connections keep working, as `ssh -L` keeps them;
 *   - a reset on one side is a reset on the other: a stream that fails (refused,
 *     forbidden, reset by the peer, its session closed) resets the socket (RST, so
 *     the application sees ECONNRESET, not a clean end), and a socket that fails
 *     resets the stream;
 *   - nothing here closes anything because the network went away: a suspended
 *     session only stops the bytes (backpressure) until it resumes.
 */
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/** Splices `socket` and `stream`; `onDone` runs once, when both are finished or failed. */
export function splice(socket: Socket, stream: Duplex, onDone?: (error?: Error) => void): void {
  let finished = false
  const done = (error?: Error): void => {
    if (finished) return
    finished = true
    onDone?.(error)
  }
  socket.pipe(stream)
  stream.pipe(socket)
  stream.on('error', (error) => {
    socket.unpipe(stream)
    if (!socket.destroyed) socket.resetAndDestroy()
    done(error)
  })
  socket.on('error', (error) => {
    stream.unpipe(socket)
    if (!stream.destroyed) stream.destroy()
    done(error)
  })
  // Both directions ended cleanly: the stream closes (its FIN acknowledged both ways).
  stream.on('close', () => {
    if (!socket.destroyed && socket.writableEnded && socket.readableEnded) socket.destroy()
    done()
  })
  // The socket is gone while the peer may still send: nowhere to deliver, so reset.
  socket.on('close', () => {
    if (!stream.destroyed && !stream.readableEnded) stream.destroy()
  })
}
