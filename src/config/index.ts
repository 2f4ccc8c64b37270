/**
 * Task definitions: types, defaults, validation, canonical form and content id, task files; network files.
 */

export type {
  Activation, AggregationSpec, CohortSpec, DatasetSpec, LrSchedule, ModelSpec, Normalize, NormalizeMode, Optimizer, Task,
  TaskInit, TimeoutSpec, TrainingSpec, Transform
} from './types.ts'
export * from './constants.ts'
export { TaskError, type TaskErrorCode, type TaskErrorInit } from './errors.ts'
export { TASK_FIELDS, createTask, defaultTask, isPlainObject, validateTask, type TaskOptions } from './task.ts'
export { PARTITION_SYNTAX, formatPartition, parsePartition, type ParsePartitionOptions, type Partition } from './partition.ts'
export { canonicalJson } from './canonical-json.ts'
export { canonicalTaskJson, isTaskId, shortTaskId, taskId } from './task-id.ts'
export {
  readTaskFile, writeDefaultTask, type ReadTaskFileOptions, type TaskFile, type WriteDefaultTaskOptions
} from './task-file.ts'
export {
  NETWORKS_DIR, NETWORK_FIELDS, NetworkError, bootstrapAddressProblem, bundledNetworks, isNetworkPath, loadNetwork,
  parseNetwork, type LoadNetworkOptions, type Network, type NetworkErrorCode, type ParseNetworkOptions
} from './network.ts'
