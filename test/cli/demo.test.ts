/**
 * README command 1 keeps working: the demo, shortened (a small payload; the gap stays
 * well above the 1.5 s after which a session without acknowledgements suspends),
 * runs its five node processes, cuts the laptop off and brings it back, and reports an
 * intact transfer over a session that was resumed, not re-established.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { it } from 'node:test'

const DEMO = join(import.meta.dirname, '../../src/cli/demo.ts')

it('the demo moves the laptop mid-transfer and the payload arrives whole', {
  timeout: 120_000,
}, async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number
    stdout: string
    stderr: string
  }>((resolve) => {
    execFile(
      process.execPath,
      [DEMO],
      { env: { ...process.env, SEMOS_DEMO_MB: '24', SEMOS_DEMO_GAP_S: '5' }, timeout: 110_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
  assert.equal(code, 0, `${stdout}\n${stderr}`)
  const sent = /sent {6}sha256 ([0-9a-f]{64})/.exec(stdout)?.[1]
  const received = /received {2}sha256 ([0-9a-f]{64}) {3}match/.exec(stdout)?.[1]
  assert.ok(sent !== undefined && sent === received, stdout)
  assert.match(stdout, /client connection: never broke/)
  assert.match(stdout, /suspended for \d+\.\d s, resumed .*\(1 resumption\)/)
  assert.match(stdout, /1 handshake\(s\) in all: resumed, not re-established/)
  assert.match(stderr, /the session suspends; the client's connection stays open/)
})
