/**
 * The dashboard's view of a task: name, id, rounds and privacy settings.
 */
import type { Task } from '../config/types.ts'
import type { DashboardTask } from './state.ts'

export function dashboardTask (task: Task, id: string): DashboardTask {
  return {
    name: task.name,
    id,
    rounds: task.rounds,
    targetEpsilon: task.privacy.targetEpsilon,
    delta: task.privacy.delta,
    dp: task.privacy.dpFedAvg || task.privacy.dpSgd
  }
}
