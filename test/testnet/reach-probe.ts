/**
 * A throw-away libp2p node (fedswarm's own `createPeerNode`, dial-only) that the testnet runs inside a
 * host's namespace to see how another peer can be reached: it pings each multiaddr given on the
 * command line, one after the other, and prints one JSON line per address:
 * `{"address":…,"ok":true,"rtt":3,"remoteAddr":"…/p2p-circuit/…","self":"<its PeerId>"}` or
 * `{"address":…,"ok":false,"error":"…","self":…}`.
 *
 *   ip netns exec <ns> node --import tsx test/testnet/reach-probe.ts <timeout ms> <multiaddr>...
 */
import { multiaddr } from '@multiformats/multiaddr'
import { createPeerNode } from '../../src/net/index.ts'

const [timeout, ...targets] = process.argv.slice(2)
const timeoutMs = Number(timeout)
if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || targets.length === 0) {
  process.stderr.write('usage: reach-probe.ts <timeout ms> <multiaddr>...\n')
  process.exit(2)
}
// listen nowhere; publicNetwork turns on the circuit relay transport, so /p2p-circuit addresses dial
const node = await createPeerNode({ listen: [], publicNetwork: true, dialTimeoutMs: timeoutMs })
try {
  for (const address of targets) {
    try {
      const ma = multiaddr(address)
      const rtt = await node.services.ping.ping(ma, { signal: AbortSignal.timeout(timeoutMs) })
      const peer = ma.getComponents().findLast(c => c.name === 'p2p')?.value
      const remoteAddr = node.getConnections().find(c => c.remotePeer.toString() === peer)?.remoteAddr.toString()
      process.stdout.write(`${JSON.stringify({ address, ok: true, rtt, remoteAddr, self: node.peerId.toString() })}\n`)
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ address, ok: false, error: (err as Error).message.split('\n')[0], self: node.peerId.toString() })}\n`)
    }
    // one connection per probe: close it so the next address is dialled afresh
    await Promise.all(node.getConnections().map(async c => await c.close().catch(() => {})))
  }
} finally {
  await node.stop()
}
