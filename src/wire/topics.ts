/**
 * Gossip topic names. One topic per task carries every round message of that task. The number is the
 * gossip framing's version: 2 since gossipsub runs `StrictNoSign` (no gossipsub author or signature;
 * the envelope is signed), so peers of the two framings never share a topic (each would reject the
 * other's messages and score it down).
 */

export function roundTopic (taskId: string): string {
  return `/fedswarm/2/${taskId.slice(0, 16)}/round`
}
