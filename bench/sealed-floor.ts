/**
 * The floor under any sealed byte stream in Node on this machine: the least work a design
 * that seals with node:crypto must do, measured beside semos in the same run so that the
 * throughput goals can be judged against what the platform allows.
 *
 * A record is one AES-256-GCM seal (the session's AEAD, a fresh cipher per record as a
 * per-record nonce requires) of up to RECORD_BYTES (64 KiB) of plaintext, framed as
 *
 *   u32 length ‖ ciphertext ‖ 16-byte tag          length = ciphertext + tag
 *
 * and written to TCP without copying. The reader opens each record's parts as the socket
 * delivers them (no gathering copy) and releases the plaintext once the tag verifies.
 * Nothing else: no overlay or session header, no ACKs, no flow control beyond TCP's, no
 * retransmission buffer, no streams API. Whatever semos adds to this is its overhead; what
 * this cannot reach, a Node design that seals with node:crypto on one thread per end does
 * not reach either.
 *
 * Used by `bench -- session` (two worker threads, the sealer writing from memory) and by
 * `bench -- forward`, which runs this file as a two-process tunnel:
 *
 *   node bench/sealed-floor.ts exit HOST TARGET_PORT KEYS_HEX   → prints {"port": N}
 *   node bench/sealed-floor.ts entry HOST EXIT_PORT KEYS_HEX    → prints {"port": N}
 *
 * (entry: each accepted connection is sealed to a new connection to the exit, which opens
 * it into a new connection to the target; FINs travel both ways. KEYS_HEX: 64 bytes, the
 * first 32 the entry → exit key, the rest the other direction's, so that no nonce is used
 * twice under one key.)
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'

/**
 * Plaintext per record at most: a socket read (64 KiB), sealed whole. A session record is a
 * little smaller (Noise's 65,535-byte messages, docs/wire-session.md); the floor is allowed
 * the larger size so that it is a floor.
 */
export const RECORD_BYTES = 65_536
const TAG_BYTES = 16
const ALGORITHM = 'aes-256-gcm'
/** Stands in for the header a record's associated data would cover. */
const AD = new Uint8Array(40).fill(1)

function nonce(n: number): Buffer {
  const iv = Buffer.alloc(12)
  iv.writeUInt32BE(n, 8)
  return iv
}

/** Seals plaintext into framed records, counting nonces. */
export class Sealer {
  readonly #key: KeyObject
  #n = 0

  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key)
  }

  /** The frames of `plaintext` (≤ RECORD_BYTES per record), as parts for one writev. */
  seal(plaintext: Uint8Array): Uint8Array[] {
    const parts: Uint8Array[] = []
    for (let at = 0; at < plaintext.length; at += RECORD_BYTES) {
      const body = plaintext.subarray(at, at + RECORD_BYTES)
      const cipher = createCipheriv(ALGORITHM, this.#key, nonce(this.#n++), {
        authTagLength: TAG_BYTES,
      })
      cipher.setAAD(AD, { plaintextLength: body.length })
      const header = Buffer.allocUnsafe(4)
      header.writeUInt32BE(body.length + TAG_BYTES)
      parts.push(header, cipher.update(body))
      cipher.final()
      parts.push(cipher.getAuthTag())
    }
    return parts
  }
}

/** Opens framed records fed in whatever chunks the socket cuts; throws on a bad record. */
export class Opener {
  readonly #key: KeyObject
  #n = 0
  readonly #header = Buffer.alloc(4)
  #headerFill = 0
  #decipher: DecipherGCM | undefined
  #bodyLeft = 0
  readonly #tag = Buffer.alloc(TAG_BYTES)
  #tagFill = 0
  /** Plaintext of the record being opened, held until its tag verifies. */
  #held: Buffer[] = []

  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key)
  }

  /** The plaintext of every record this chunk completes, in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    let pos = 0
    while (pos < chunk.length) {
      const decipher = this.#decipher
      if (decipher === undefined) {
        const take = Math.min(4 - this.#headerFill, chunk.length - pos)
        chunk.copy(this.#header, this.#headerFill, pos, pos + take)
        this.#headerFill += take
        pos += take
        if (this.#headerFill < 4) continue
        this.#headerFill = 0
        const length = this.#header.readUInt32BE(0)
        if (length <= TAG_BYTES || length > RECORD_BYTES + TAG_BYTES) {
          throw new Error(`a record of ${length} bytes`)
        }
        this.#bodyLeft = length - TAG_BYTES
        this.#decipher = createDecipheriv(ALGORITHM, this.#key, nonce(this.#n++), {
          authTagLength: TAG_BYTES,
        })
        this.#decipher.setAAD(AD, { plaintextLength: this.#bodyLeft })
      } else if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - pos)
        this.#held.push(decipher.update(chunk.subarray(pos, pos + take)))
        this.#bodyLeft -= take
        pos += take
      } else {
        const take = Math.min(TAG_BYTES - this.#tagFill, chunk.length - pos)
        chunk.copy(this.#tag, this.#tagFill, pos, pos + take)
        this.#tagFill += take
        pos += take
        if (this.#tagFill < TAG_BYTES) continue
        this.#tagFill = 0
        decipher.setAuthTag(this.#tag)
        decipher.final() // throws if the tag does not verify: nothing of the record is released
        out.push(...this.#held)
        this.#held = []
        this.#decipher = undefined
      }
    }
    return out
  }
}

/** Joins two sockets: `onData` turns what `from` delivers into what `to` gets, with backpressure. */
function pipeThrough(from: Socket, to: Socket, onData: (c: Buffer) => Uint8Array[]): void {
  from.on('data', (c: Buffer) => {
    const parts = onData(c)
    if (parts.length === 0) return
    to.cork()
    let ok = true
    for (const p of parts) ok = to.write(p)
    to.uncork()
    if (!ok) {
      from.pause()
      to.once('drain', () => from.resume())
    }
  })
  from.on('end', () => to.end())
  from.on('error', () => to.destroy())
  from.on('close', () => to.destroy())
}

/** Runs one end of the two-process floor tunnel (see the file's comment). */
function tunnel(role: string, host: string, port: number, keys: Uint8Array): void {
  const inward = keys.subarray(0, 32) // entry → exit
  const outward = keys.subarray(32, 64)
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (accepted) => {
    const dialled = tcpConnect({ host, port, noDelay: true, allowHalfOpen: true })
    if (role === 'entry') {
      const sealer = new Sealer(inward)
      const opener = new Opener(outward)
      pipeThrough(accepted, dialled, (c) => sealer.seal(c))
      pipeThrough(dialled, accepted, (c) => opener.push(c))
    } else {
      const opener = new Opener(inward)
      const sealer = new Sealer(outward)
      pipeThrough(accepted, dialled, (c) => opener.push(c))
      pipeThrough(dialled, accepted, (c) => sealer.seal(c))
    }
  })
  server.listen(0, host, () => {
    const a = server.address()
    process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`)
  })
}

if (import.meta.main) {
  const [role, host, port, keysHex] = process.argv.slice(2)
  const keys = Buffer.from(keysHex ?? '', 'hex')
  if ((role !== 'entry' && role !== 'exit') || !host || !port || keys.length !== 64) {
    process.stderr.write('usage: sealed-floor.ts entry|exit HOST PORT KEYS_HEX (64 bytes)\n')
    process.exit(2)
  }
  tunnel(role, host, Number(port), keys)
}
