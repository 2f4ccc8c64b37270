/**
 * The round protocol: phases, the pure state machine, the driver that runs it, and the verified
 * round-record chain late and restarted peers sync over.
 */
export * from './phases.ts'
export * from './machine.ts'
export * from './driver.ts'
export * from './channel.ts'
export * from './constants.ts'
export * from './chain.ts'
export * from './chain-wire.ts'
