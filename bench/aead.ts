/**
 * `npm run bench -- aead`: the two Noise AEADs as the session layer uses them — a
 * KeyObject key, one createCipheriv + setAAD + update + final + getAuthTag per record —
 * sealing records of the sizes the SRM makes, in GB per CPU-second (process.cpuUsage, so
 * that other load on the machine counts less than in wall time), alternating rounds so
 * that both see the same conditions. Why session records use AES-GCM
 * (docs/wire-session.md).
 */
import { createSecretKey, randomBytes } from 'node:crypto'
import { CIPHERS, type CipherName } from '../src/core/noise/cipher.ts'

export function benchAead(args: Record<string, string | boolean | undefined>): void {
  const rounds = Number(args.runs ?? 5)
  const sizes = [16_384, 60_000]
  const key = createSecretKey(randomBytes(32))
  const ad = randomBytes(80)
  const rates = new Map<string, number[]>()
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      for (const name of ['ChaChaPoly', 'AESGCM'] as CipherName[]) {
        const plaintext = randomBytes(size)
        const n = Math.ceil(2e8 / size)
        const before = process.cpuUsage()
        for (let i = 0; i < n; i++) CIPHERS[name].encryptParts(key, BigInt(i), ad, plaintext)
        const used = process.cpuUsage(before)
        const seconds = (used.user + used.system) / 1e6
        const k = `${name} ${size}`
        rates.set(k, [...(rates.get(k) ?? []), (n * size) / 1e9 / seconds])
      }
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0
  console.log(`| record bytes | ChaChaPoly GB/CPU-s | AESGCM GB/CPU-s | AESGCM / ChaChaPoly |`)
  console.log(`| ---: | ---: | ---: | ---: |`)
  for (const size of sizes) {
    const c = median(rates.get(`ChaChaPoly ${size}`) ?? [])
    const a = median(rates.get(`AESGCM ${size}`) ?? [])
    console.log(`| ${size} | ${c.toFixed(2)} | ${a.toFixed(2)} | ${(a / c).toFixed(2)} |`)
  }
  console.log(`(median of ${rounds} rounds of 200 MB each)`)
}
