/**
 * fedswarm's private Kademlia DHT: `@libp2p/kad-dht` in server mode on `/fedswarm/kad/1.0.0`
 * (not the IPFS Amino DHT), so fedswarm peers find each other's addresses without a bootstrap
 * peer. Which addresses the DHT stores and hands out depends on the network (see
 * `preferPublicAddresses`).
 */

import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT, KadDHTComponents } from '@libp2p/kad-dht'
import type { PeerInfo } from '@libp2p/interface'
import { isPrivate } from '@libp2p/utils'
import { DHT_PROTOCOL, DHT_QUERY_SELF_INTERVAL_MS } from './constants.ts'

export interface DhtInit {
  /** Prefer public addresses in DHT records (default false: keep every address). */
  publicNetwork?: boolean
}

/**
 * A peer's public addresses (relayed ones through a public relay count as public) if it has any,
 * else all of them. On the internet private addresses only send dials astray; but dropping them
 * outright, as kad-dht's `removePrivateAddressesMapper` does, would keep a peer with only private
 * addresses out of the routing table altogether, so a LAN or a one-host test of a public network
 * would get no DHT at all.
 */
export function preferPublicAddresses (peer: PeerInfo): PeerInfo {
  const reachable = peer.multiaddrs.filter(ma => !isPrivate(ma))
  return reachable.length > 0 && reachable.length < peer.multiaddrs.length ? { ...peer, multiaddrs: reachable } : peer
}

export function createDht (init: DhtInit = {}): (components: KadDHTComponents) => KadDHT {
  return kadDHT({
    protocol: DHT_PROTOCOL,
    // always answer queries: every fedswarm peer is part of the DHT, NATed ones via their relay
    clientMode: false,
    peerInfoMapper: init.publicNetwork === true ? preferPublicAddresses : passthroughMapper,
    querySelfInterval: DHT_QUERY_SELF_INTERVAL_MS
  })
}
