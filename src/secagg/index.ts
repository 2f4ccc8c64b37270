/**
 * Secure aggregation primitives (Bonawitz et al. 2017): round keys, key derivation, the mask PRG,
 * ring arithmetic and quantization, masking, Shamir sharing, share boxes and the unmask policy.
 * The round protocol (src/round) composes them; nothing here touches the network.
 */
export * from './constants.ts'
export * from './errors.ts'
export { comparePeers, encodeContext } from './bytes.ts'
export type { ContextField } from './bytes.ts'
export * from './keys.ts'
export * from './kdf.ts'
export * from './prg.ts'
export * from './random.ts'
export * from './ring.ts'
export * from './mask.ts'
export * from './shamir.ts'
export * from './share-box.ts'
export * from './unmask-policy.ts'
