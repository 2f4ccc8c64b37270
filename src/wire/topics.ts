/**
 * Gossip topic names. One topic per task carries every round message of that task. The number is the
 * wire version of the round messages, so peers of two versions never share a topic (each would
 * reject the other's messages and score it down): 2 since gossipsub runs `StrictNoSign` (no gossipsub
 * author or signature; the envelope is signed), 3 since Shares boxes and Unmask shares are positional,
 * 4 since direct shares (boxes fetched from their author), 5 since direct Unmasks (shares fetched by hash).
 */

export function roundTopic (taskId: string): string {
  return `/fedswarm/5/${taskId.slice(0, 16)}/round`
}
