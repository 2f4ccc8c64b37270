/**
 * `fedswarm node`: one long-running peer for a task file. It keeps its identity, models and round
 * records in its data dir, so a restart resumes where it stopped; SIGINT / SIGTERM shut it down
 * cleanly. The peer loop itself is `runPeer` (shared with `fedswarm join`).
 */
import { resolve } from 'node:path'
import { readTaskFile, shortTaskId, taskId as computeTaskId } from '../config/index.ts'
import { createOutput, outputLevel } from './output.ts'
import { runPeer } from './run-peer.ts'
import type { PeerCommandOptions } from './run-peer.ts'

export interface NodeOptions extends PeerCommandOptions {
  task: string
  /** Default `.fedswarm/<short task id>` under the current directory. */
  dataDir?: string
}

export async function runNode (o: NodeOptions): Promise<number> {
  const { task } = await readTaskFile(o.task)
  const id = computeTaskId(task)
  return await runPeer({
    task,
    taskId: id,
    data: o.data,
    listen: o.listen,
    bootstrap: o.bootstrap,
    dataDir: o.dataDir ?? resolve('.fedswarm', shortTaskId(id)),
    mdns: o.mdns,
    exitWhenDone: o.exitWhenDone,
    backend: o.backend,
    metrics: o.metrics,
    dashboard: o.dashboard,
    output: createOutput({ json: o.json === true, level: outputLevel(o) })
  })
}
