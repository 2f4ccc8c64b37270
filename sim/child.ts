/**
 * One child process of a multi-process simulation: hosts some of the swarm's peers over TCP on loopback,
 * links them to the peers of the other processes, and reports round records to the parent over IPC.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { createTrainer, initialParams, loadDataset } from '../src/learning/index.ts'
import { linkPeers } from '../src/net/index.ts'
import { PeerHost } from './simulate.ts'
import type { PeerRecord } from './report.ts'

const send = (msg: unknown): void => { process.send?.(msg) }
const controller = new AbortController()
let host: PeerHost | undefined
let swarmRound = 0
const sentParams = new Set<string>()

process.on('message', (msg: any) => {
  void handle(msg).catch(err => {
    send({ type: 'log', line: `child ${process.pid}: ${(err as Error).message}` })
    process.exit(1)
  })
})
process.on('SIGTERM', () => { void shutdown() })
process.on('disconnect', () => { void shutdown() })

async function shutdown (): Promise<void> {
  controller.abort()
  await host?.stop().catch(() => {})
  process.exit(0)
}

async function handle (msg: any): Promise<void> {
  if (msg.type === 'init') {
    const task = msg.task
    const dataset = await loadDataset(task.dataset)
    const m0 = initialParams(task.model, dataset.inputShape, dataset.classes, task.seed)
    const trainer = createTrainer({ backend: msg.backend, workers: msg.workers })
    host = new PeerHost({
      task,
      taskId: msg.taskId,
      trainer,
      transport: 'tcp',
      dropout: msg.dropout,
      seed: msg.seed,
      log: (line) => send({ type: 'log', line }),
      onEvent: (event) => send({ type: 'event', event }),
      onRecord: (rec: PeerRecord, params: Float32Array) => {
        swarmRound = Math.max(swarmRound, rec.round)
        const first = !sentParams.has(rec.modelHash)
        sentParams.add(rec.modelHash)
        send({ type: 'record', record: rec, params: first ? params : undefined })
      }
    })
    for (const p of msg.peers) await host.addPeer(p.index, new Uint32Array(p.indices), m0)
    const addrs: string[] = []
    for (const p of host.peers) {
      await host.startNode(p)
      addrs.push(host.addrsOf(p)[0])
    }
    send({ type: 'ready', addrs })
  } else if (msg.type === 'link' && host != null) {
    const h = host
    h.remoteAddrs = msg.addrs
    const nodes = h.peers.map(p => p.node!)
    if (nodes.length > 1) await linkPeers(nodes, { degree: Math.min(2, nodes.length - 1), seed: 1 })
    await Promise.all(h.peers.map(async (p, i) => dialSome(p.node!, msg.addrs, 2, i)))
    for (const p of h.peers) h.startDriver(p, controller.signal, msg.meshPeers)
    void faultLoop(h)
  }
}

async function dialSome (node: NonNullable<PeerHost['peers'][number]['node']>, addrs: string[], count: number, offset: number): Promise<void> {
  for (let k = 0; k < Math.min(count, addrs.length); k++) {
    const a = addrs[(offset + k * 3) % addrs.length]
    await node.dial(multiaddr(a), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
  }
}

async function faultLoop (h: PeerHost): Promise<void> {
  while (!controller.signal.aborted) {
    await h.injectFaults(swarmRound, controller.signal, async (p) => {
      const locals = h.peers.filter(q => q.node != null && q !== p).map(q => q.node!)
      if (p.node != null && locals.length > 0) await linkPeers([p.node, ...locals], { degree: Math.min(2, locals.length), seed: Date.now() }).catch(() => {})
      if (p.node != null) await dialSome(p.node, h.remoteAddrs, 2, p.index)
    })
    send({ type: 'live', live: h.peers.filter(p => !p.crashed).length })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
