/**
 * The wire format: protobuf messages, signed envelopes, topic names, size limits and hashing helpers.
 */
export * from './messages.ts'
export * from './constants.ts'
export * from './envelope.ts'
export * from './hash.ts'
export * from './topics.ts'
