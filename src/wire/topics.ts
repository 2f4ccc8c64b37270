/**
 * Gossip topic names. One topic per task carries every round message of that task. The number is the
 * wire version of the round messages, so peers of two versions never share a topic (each would
 * reject the other's messages and score it down): 2 since gossipsub runs `StrictNoSign` (no gossipsub
 * author or signature; the envelope is signed), 3 since Shares boxes and Unmask shares are positional.
 */

export function roundTopic (taskId: string): string {
  return `/fedswarm/4/${taskId.slice(0, 16)}/round`
}
