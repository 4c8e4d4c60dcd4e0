import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_BYTES,
  MAX_TAIL_BYTES,
  splitFrameHeader,
} from '../../src/link/framing.ts'

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

describe('link framing', () => {
  it('delivers every frame intact however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 50 }),
        (payloads, cuts) => {
          const stream = concat(payloads.map(encodeFrame))
          const decoder = new FrameDecoder()
          const got: Uint8Array[] = []
          let pos = 0
          for (let i = 0; pos < stream.length; i++) {
            const n = cuts[i % cuts.length] as number
            const r = decoder.push(stream.subarray(pos, pos + n))
            assert.ok(r.ok)
            got.push(...r.value.map((f) => f.bytes))
            pos += n
          }
          assert.deepEqual(got, payloads)
          assert.equal(decoder.buffered, 0)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('delivers plain and split frames mixed, each with its tail length', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.uint8Array({ minLength: 1, maxLength: 300 }),
            fc.uint8Array({ minLength: 0, maxLength: 900 }),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
        (frames, cuts) => {
          const stream = concat(
            frames.flatMap(([m, t]) =>
              t.length === 0 ? [encodeFrame(m)] : [splitFrameHeader(m.length, t.length), m, t],
            ),
          )
          const decoder = new FrameDecoder(MAX_FRAME_BYTES, 1000)
          const got: { bytes: Uint8Array; tail: number }[] = []
          for (let pos = 0, i = 0; pos < stream.length; i++) {
            const n = cuts[i % cuts.length] as number
            const r = decoder.push(stream.subarray(pos, pos + n))
            assert.ok(r.ok)
            // Borrowed frames live in the decoder's memory until the next push: taken (here,
            // copied) before it, every frame a push returned is intact, none clobbered by
            // another of the same push. Only split frames gathered across chunks are.
            for (const f of r.value) {
              if (f.borrowed) assert.ok(f.tail > 0)
              got.push({ bytes: Uint8Array.from(f.bytes), tail: f.tail })
            }
            pos += n
          }
          assert.deepEqual(
            got,
            frames.map(([m, t]) => ({ bytes: concat([m, t]), tail: t.length })),
          )
          assert.equal(decoder.buffered, 0)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('refuses split frames it was not told to take, and tails out of bounds', () => {
    const none = new FrameDecoder().push(splitFrameHeader(3, 2))
    assert.ok(!none.ok && none.code === 'empty-frame')
    const big = new FrameDecoder(100, 10).push(splitFrameHeader(3, 11))
    assert.ok(!big.ok && big.code === 'tail-too-large')
    const zero = new FrameDecoder(100, 10).push(Uint8Array.of(0, 0, 0, 3, 0, 0, 0, 0))
    assert.ok(!zero.ok && zero.code === 'tail-too-large')
    const empty = new FrameDecoder(100, 10).push(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1))
    assert.ok(!empty.ok && empty.code === 'empty-frame')
    assert.throws(() => splitFrameHeader(3, 0), RangeError)
    assert.throws(() => splitFrameHeader(3, MAX_TAIL_BYTES + 1), RangeError)
  })

  it('has a golden encoding', () => {
    assert.equal(Buffer.from(splitFrameHeader(0x123, 0x10203)).toString('hex'), '0000012300010203')
    assert.equal(
      Buffer.from(encodeFrame(Uint8Array.of(0xab, 0xcd, 0xef))).toString('hex'),
      '0003abcdef',
    )
  })

  it('rejects empty and oversized frames, and stays failed', () => {
    const empty = new FrameDecoder().push(Uint8Array.of(0, 0))
    assert.ok(!empty.ok && empty.code === 'empty-frame')
    const d = new FrameDecoder(1024)
    const big = d.push(Uint8Array.of(0x04, 0x01))
    assert.ok(!big.ok && big.code === 'frame-too-large')
    const after = d.push(encodeFrame(Uint8Array.of(1)))
    assert.ok(!after.ok, 'a failed stream is not resynchronised')
  })

  it('buffers at most one frame', () => {
    const d = new FrameDecoder(100)
    const r = d.push(
      concat([encodeFrame(new Uint8Array(100)), Uint8Array.of(0, 100), new Uint8Array(60)]),
    )
    assert.ok(r.ok && r.value.length === 1)
    assert.equal(d.buffered, 60)
  })

  it('refuses to encode what cannot be framed', () => {
    assert.throws(() => encodeFrame(new Uint8Array(0)), RangeError)
    assert.throws(() => encodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), RangeError)
    assert.throws(() => new FrameDecoder(0), RangeError)
  })
})
