/**
 * A peer's data dir (identity key, model checkpoints, round records, privacy ledger, lock) and the model
 * file format with its content hash.
 */

export * from './constants.ts'
export { StoreError, type StoreErrorCode, type StoreErrorInit } from './errors.ts'
export {
  openDataDir, type DataDir, type OpenDataDirOptions, type SaveModelInit, type StoredModel
} from './data-dir.ts'
export {
  MAX_ROUND, MODEL_FILE_MAGIC, MODEL_FILE_VERSION, MODEL_HEADER_SIZE, decodeModelFile, decodeModelHeader,
  encodeModelFile, isModelHash, modelFileName, modelHash, parseModelFileName, type ModelFile,
  type ModelFileHeader
} from './model-file.ts'
export { fsyncDir, writeFileAtomic, type WriteFileAtomicOptions } from './atomic-write.ts'
export { loadOrCreateIdentity, readIdentity, type LoadIdentityOptions } from './identity.ts'
export { isAlive, type Lock, type LockOwner } from './lock.ts'
export {
  appendJsonLine, readJsonLines, repairJsonLines, type JsonRecord, type ReadJsonLinesOptions, type RoundLogOptions
} from './round-log.ts'
export {
  createStatusWriter, readStatusFile, type PeerStatus, type StatusFields, type StatusRole, type StatusState, type StatusTask,
  type StatusWriter, type StatusWriterInit
} from './status-file.ts'
