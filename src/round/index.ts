/**
 * The round protocol: phases, the pure state machine and the driver that runs it.
 */
export * from './phases.ts'
export * from './machine.ts'
export * from './driver.ts'
export * from './channel.ts'
export * from './constants.ts'
