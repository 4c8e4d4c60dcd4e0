/**
 * The Noise Protocol Framework (revision 34), sans-I/O: handshakes and transport
 * CipherStates over node:crypto primitives. See docs/noise.md.
 */
export type { CipherName } from './cipher.ts'
export { type CipherReadError, CipherState, MAX_MESSAGE_BYTES, MAX_NONCE } from './cipher-state.ts'
export { DHLEN, generateKeyPair, hasSmallOrder, type KeyPair, keyPairFromPrivateKey } from './dh.ts'
export { NoiseError, type NoiseReadError, type NoiseUsageError } from './errors.ts'
export {
  createHandshake,
  type HandshakeInit,
  type HandshakeReadError,
  HandshakeState,
  type HandshakeStatus,
  type TransportCiphers,
} from './handshake-state.ts'
export type { HashName } from './hash.ts'
export { BASE_PATTERN_NAMES, type HandshakePattern, lookupPattern, type Token } from './patterns.ts'
export { type DhName, SUITE_NAMES, type SuiteName } from './suites.ts'
