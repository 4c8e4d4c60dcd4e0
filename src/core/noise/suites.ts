/**
 * Cipher suites: the `<DH>_<cipher>_<hash>` tail of a protocol name (spec §8). Only
 * Curve25519 is in scope: semos derives its Noise key from an Ed25519 identity. (node:crypto
 * also has X448; adding it would mean making DHLEN a property of the suite.)
 */
import { type Decoded, fail, ok } from '../result.ts'
import { CIPHERS, type CipherFunctions, type CipherName } from './cipher.ts'
import { HASHES, type HashFunctions, type HashName } from './hash.ts'

export type DhName = '25519'
export type SuiteName = `${DhName}_${CipherName}_${HashName}`

export interface Suite {
  readonly name: SuiteName
  readonly cipher: CipherFunctions
  readonly hash: HashFunctions
}

/** Every supported suite name, e.g. `25519_ChaChaPoly_BLAKE2s`. */
export const SUITE_NAMES: readonly SuiteName[] = Object.keys(CIPHERS).flatMap((c) =>
  Object.keys(HASHES).map((h) => `25519_${c}_${h}` as SuiteName),
)

export function lookupSuite(name: string): Decoded<Suite, 'unknown-suite'> {
  const [dhName, cipherName, hashName, ...rest] = name.split('_')
  if (dhName !== '25519' || rest.length > 0) {
    return fail('unknown-suite', `${name}: only 25519 DH is supported`)
  }
  const cipher = Object.hasOwn(CIPHERS, cipherName ?? '')
    ? CIPHERS[cipherName as CipherName]
    : undefined
  const hash = Object.hasOwn(HASHES, hashName ?? '') ? HASHES[hashName as HashName] : undefined
  if (cipher === undefined || hash === undefined) {
    return fail('unknown-suite', `${name}: unknown cipher or hash`)
  }
  return ok({ name: name as SuiteName, cipher, hash })
}
