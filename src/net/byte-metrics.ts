/**
 * Counts the bytes a node sends and receives, for the simulator's per-peer, per-round report.
 *
 * This is a minimal libp2p `Metrics` implementation. libp2p hands every raw transport connection
 * to `trackMultiaddrConnection` before the Noise handshake, and every negotiated protocol stream
 * to `trackProtocolStream`. On each we wrap two methods of that one object:
 *
 * - `send()`: every byte the upper layer hands to the connection/stream for sending;
 * - `onData()`: every byte the transport (TCP socket, WebSocket, memory pipe) or the muxer
 *   delivers from the remote.
 *
 * So `sent`/`received` are the bytes on the transport connections: Noise frames, Yamux headers,
 * multistream-select, identify, ping and gossipsub control traffic included (TCP/IP headers
 * excluded). `protocols` splits the payload bytes (inside Yamux, before encryption overhead) by
 * protocol, e.g. `/meshsub/1.2.0`, `/fedswarm/blob/1.0.0`.
 *
 * No `message` listener is added (a listener would make the stream emit data nobody reads yet;
 * the upstream Prometheus metrics avoid it for the same reason). Other libp2p metrics (counters,
 * histograms, ...) are accepted and discarded.
 */

import type {
  CalculatedMetricOptions, Counter, CounterGroup, Histogram, HistogramGroup, Metric, MetricGroup,
  Metrics, MultiaddrConnection, StopTimer, Stream, Summary, SummaryGroup
} from '@libp2p/interface'

export interface ByteCount {
  sent: number
  received: number
}

export interface ByteCounts extends ByteCount {
  /** Payload bytes per protocol id (inside the muxer). */
  protocols: Record<string, ByteCount>
  /** Transport connections opened since the node started (inbound and outbound). */
  connections: number
}

const noopTimer: StopTimer = () => {}

/** One object that satisfies every libp2p metric shape and records nothing. */
const noopMetric: Metric & MetricGroup & Counter & CounterGroup & Histogram & HistogramGroup & Summary & SummaryGroup = {
  update () {},
  increment () {},
  decrement () {},
  reset () {},
  observe () {},
  timer: () => noopTimer
}

function register (_name: string, options?: Partial<CalculatedMetricOptions<any>>): any {
  // calculated metrics are pulled by a scraper; there is none here
  if (options?.calculate != null) return undefined
  return noopMetric
}

type Tracked = {
  send: (data: any) => boolean
  onData?: (data: any) => void
}

export class ByteMetrics implements Metrics {
  readonly [Symbol.toStringTag] = 'fedswarm/byte-metrics'
  private sent = 0
  private received = 0
  private connections = 0
  private readonly protocols = new Map<string, ByteCount>()

  trackMultiaddrConnection (maConn: MultiaddrConnection): void {
    this.connections++
    this.wrap(maConn as unknown as Tracked, (n) => { this.sent += n }, (n) => { this.received += n })
  }

  trackProtocolStream (stream: Stream): void {
    const protocol = stream.protocol
    if (protocol == null || protocol === '') return
    let count = this.protocols.get(protocol)
    if (count == null) {
      count = { sent: 0, received: 0 }
      this.protocols.set(protocol, count)
    }
    const c = count
    this.wrap(stream as unknown as Tracked, (n) => { c.sent += n }, (n) => { c.received += n })
  }

  /** A snapshot of the counters (they only grow; subtract two snapshots for a round). */
  snapshot (): ByteCounts {
    const protocols: Record<string, ByteCount> = {}
    for (const [name, c] of this.protocols) protocols[name] = { sent: c.sent, received: c.received }
    return { sent: this.sent, received: this.received, protocols, connections: this.connections }
  }

  private wrap (target: Tracked, onSent: (n: number) => void, onReceived: (n: number) => void): void {
    const send = target.send.bind(target)
    target.send = (data: { byteLength: number }) => {
      onSent(data.byteLength)
      return send(data)
    }
    const onData = target.onData
    if (typeof onData === 'function') {
      const bound = onData.bind(target)
      target.onData = (data: { byteLength: number }) => {
        onReceived(data.byteLength)
        bound(data)
      }
    }
  }

  registerMetric = register as Metrics['registerMetric']
  registerMetricGroup = register as Metrics['registerMetricGroup']
  registerCounter = register as Metrics['registerCounter']
  registerCounterGroup = register as Metrics['registerCounterGroup']
  registerHistogram = register as Metrics['registerHistogram']
  registerHistogramGroup = register as Metrics['registerHistogramGroup']
  registerSummary = register as Metrics['registerSummary']
  registerSummaryGroup = register as Metrics['registerSummaryGroup']

  traceFunction = (<F>(_name: string, fn: F): F => fn) as Metrics['traceFunction']

  createTrace (): any {
    return undefined
  }
}

/** Subtracts two snapshots: what happened between `before` and `after`. */
export function diffByteCounts (after: ByteCounts, before: ByteCounts): ByteCounts {
  const protocols: Record<string, ByteCount> = {}
  for (const [name, c] of Object.entries(after.protocols)) {
    const b = before.protocols[name] ?? { sent: 0, received: 0 }
    protocols[name] = { sent: c.sent - b.sent, received: c.received - b.received }
  }
  return {
    sent: after.sent - before.sent,
    received: after.received - before.received,
    protocols,
    connections: after.connections - before.connections
  }
}
