/**
 * Gossip topic names. One topic per task carries every round message of that task.
 */

export function roundTopic (taskId: string): string {
  return `/fedswarm/1/${taskId.slice(0, 16)}/round`
}
