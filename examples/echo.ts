/**
 * Two semos nodes in one process, on loopback: `server` listens on port 7 and echoes
 * every stream back; `client` joins the overlay through it, connects to the server *by
 * name*, sends a line and prints what comes back.
 *
 *   npm run example:echo
 */
import { createNode } from '../src/node/semos-node.ts'

const server = await createNode({ listen: '127.0.0.1:0' })
server.listen(7, (stream, peerName) => {
  console.log(`server: a stream from ${peerName}`)
  stream.on('error', (error) => console.error(`server: ${error.message}`))
  stream.pipe(stream)
})

const client = await createNode({ listen: '127.0.0.1:0', bootstrap: [server.endpoint] })
await client.joined()

const stream = client.connect(server.name, 7)
const chunks: Buffer[] = []
stream.on('data', (chunk: Buffer) => chunks.push(chunk))
stream.on('end', () => {
  console.log(`client: the echo: ${JSON.stringify(Buffer.concat(chunks).toString())}`)
  void shutdown()
})
stream.on('error', (error: Error & { code?: string }) => {
  console.error(`client: ${error.code}: ${error.message}`)
  process.exitCode = 1
  void shutdown()
})
stream.end('hello over semos\n')

async function shutdown(): Promise<void> {
  await Promise.all([client.close(), server.close()])
}
