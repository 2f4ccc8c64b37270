/**
 * `fedswarm node`: one long-running peer. It keeps its identity, models and round records in its data
 * dir, so a restart resumes where it stopped; SIGINT / SIGTERM shut it down cleanly.
 */
import { resolve } from 'node:path'
import { readTaskFile, shortTaskId, taskId as computeTaskId } from '../config/index.ts'
import { openDataDir } from '../store/index.ts'
import { createPrivacyLedger } from '../dp/ledger.ts'
import { createPeerNode, dialBootstrap } from '../net/index.ts'
import { createSwarmChannel } from '../net/swarm-channel.ts'
import { createTrainer, initialParams, loadDataset, parseDataSpec, partition } from '../learning/index.ts'
import { RoundDriver } from '../round/driver.ts'
import { createUpdateSource } from '../peer/update-source.ts'

export interface NodeOptions {
  task: string
  data: string
  listen: string[]
  bootstrap: string[]
  dataDir?: string
  mdns?: boolean
  exitWhenDone?: boolean
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu'
  verbose?: boolean
}

export async function runNode (o: NodeOptions): Promise<number> {
  const { task } = await readTaskFile(o.task)
  const id = computeTaskId(task)
  // --data paths are relative to where the command runs; the task's own paths to the task file.
  const selection = parseDataSpec(o.data, { baseDir: process.cwd(), template: task.dataset })
  const dataset = await loadDataset(selection.dataset, { baseDir: process.cwd() })
  let indices: Uint32Array | undefined
  if (selection.partition != null) {
    const parts = partition(dataset.trainY, selection.partition.of, selection.partition.spec, task.seed)
    indices = parts[selection.partition.index]
  }
  const dir = await openDataDir(o.dataDir ?? resolve('.fedswarm', shortTaskId(id)))
  const trainer = createTrainer({ backend: o.backend })
  let node: Awaited<ReturnType<typeof createPeerNode>> | undefined
  const controller = new AbortController()
  const stop = (): void => {
    process.stdout.write('shutting down…\n')
    controller.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    const key = await dir.identity()
    const stored = await dir.latestModel(id)
    const model = stored != null
      ? { round: stored.round, params: stored.params }
      : { round: 0, params: initialParams(task.model, dataset.inputShape, dataset.classes, task.seed) }
    node = await createPeerNode({ privateKey: key, listen: o.listen, bootstrap: o.bootstrap, mdns: o.mdns === true })
    process.stdout.write(`peer ${node.peerId.toString()}\n`)
    for (const a of node.getMultiaddrs()) process.stdout.write(`listening on ${a.toString()}\n`)
    process.stdout.write(`task ${task.name} (${shortTaskId(id)}), data ${o.data} (${indices?.length ?? dataset.trainY.length} examples), data dir ${dir.path}, starting after round ${model.round}, backend ${await trainer.backend()}\n`)
    if (o.bootstrap.length > 0) await dialBootstrap(node, o.bootstrap, { signal: controller.signal })
    const driver = new RoundDriver({
      task,
      taskId: id,
      key,
      channel: createSwarmChannel(node, { taskId: id }),
      updates: createUpdateSource({ task, trainer, dataset: selection.dataset, baseDir: process.cwd(), indices }),
      model,
      // The privacy ledger survives restarts: what this peer spent is in its data dir.
      ledger: createPrivacyLedger({ delta: task.privacy.delta, targetEpsilon: task.privacy.targetEpsilon, entries: await dir.ledgerEntries() }),
      onPrivacySpent: async (entry) => await dir.appendLedgerEntry(entry),
      log: (line) => process.stdout.write(`${line}\n`),
      onRound: async (rec, params) => {
        await dir.saveModel({ taskId: id, round: rec.round, hash: rec.modelHash, params })
        // Evaluated on this peer's own test set (the test part of --data).
        const ev = await trainer.evaluate({ model: task.model, dataset: selection.dataset, baseDir: process.cwd(), params, limit: 2000 }, { signal: controller.signal }).catch(() => undefined)
        await dir.appendRoundRecord({ ...rec, accuracy: ev?.accuracy ?? null })
        process.stdout.write(`round ${rec.round}: model ${rec.modelHash.slice(0, 16)} via ${rec.via}, cohort ${rec.cohort}, survivors ${rec.survivors}` +
          `${rec.member ? ', member' : ''}${rec.leader ? ', leader' : ''}${ev != null ? `, accuracy ${(ev.accuracy * 100).toFixed(2)}% (2,000 test examples)` : ''}` +
          `${rec.epsilon != null ? `, ε ${rec.epsilon.toFixed(3)} (δ ${task.privacy.delta})` : ''}\n`)
      }
    })
    await driver.run({ signal: controller.signal })
    if (!controller.signal.aborted && o.exitWhenDone !== true) {
      // Stay up: late or restarted peers fetch the final model from us by hash.
      process.stdout.write(`task finished at round ${driver.model.round}; serving the final model to late peers until stopped\n`)
      await new Promise<void>(resolve => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
    } else if (!controller.signal.aborted) {
      process.stdout.write(`task finished at round ${driver.model.round}\n`)
    }
    process.stdout.write('stopped\n')
    return 0
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await node?.stop().catch(() => {})
    await trainer.close().catch(() => {})
    await dir.close().catch(() => {})
  }
}
