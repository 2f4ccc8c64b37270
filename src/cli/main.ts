/**
 * The `fedswarm` command line: `sim`, `node`, `bootstrap`, `join`, `status`, `privacy` and `task init`.
 * Bad input ends in one line naming the problem and a non-zero exit; the stack trace only with `--verbose`.
 */
import { Command, CommanderError, Option } from 'commander'
// Commands are loaded when they run, so that `status` or `--help` do not load tfjs and libp2p.
import { DEFAULT_BOOTSTRAP_LISTEN, DEFAULT_BOOTSTRAP_MAX_CONNECTIONS } from './bootstrap-defaults.ts'
import { writeDefaultTask } from '../config/index.ts'
export { UsageError } from './usage-error.ts'

/** Exit codes: 0 ok, 1 the run failed (e.g. peers disagreed), 2 bad input. */
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** Errors whose message is meant for the user as it is. */
const USER_ERRORS = new Set([
  'TaskError', 'DatasetError', 'PartitionError', 'StoreError', 'NetError', 'InvalidMultiaddrError', 'UnknownTransportError',
  'UnsupportedAddressError', 'ListenAddressInUseError', 'ListenError', 'InvalidBootstrapAddressError', 'InvalidPrivateKeyError',
  'BootstrapUnreachableError', 'SimulationError', 'UsageError', 'BackendError', 'DataSpecError', 'NetworkError', 'MetricsError',
  'DashboardError'
])

/** The options `node` and `join` share after their own: how the peer runs and what it prints. */
function peerRunOptions (cmd: Command): Command {
  return cmd
    .option('--exit-when-done', 'exit after the last round instead of serving the final model until stopped')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (port 0: any free port)')
    .option('--dashboard <host:port>', 'serve a live, read-only dashboard at http://<host:port>/ (:port = 127.0.0.1; port 0: any free port)')
    .option('--json', 'machine-readable output: one JSON object per line ({"type":"round",…})')
    .option('--quiet', 'print only endpoint addresses and the final line')
    .option('--verbose', 'stack traces on errors, and every phase change')
}

export async function main (argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose')
  const program = new Command('fedswarm')
    .description('Serverless, privacy-preserving federated learning over libp2p')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')

  let code = 0
  program.command('sim')
    .description('run a swarm of real peers on this machine and report each round')
    .option('--task <file>', 'task file to start from (flags override its fields)')
    .option('--peers <n>', 'number of peers', '10')
    .option('--rounds <n>', 'rounds to run')
    .option('--cohort <n>', 'largest cohort per round')
    .option('--min-survivors <n>', 'minimum survivors for a round to complete')
    .option('--secure-agg <on|off>', 'secure aggregation: masked updates, only the sum is revealed (default on, or the task file\'s)')
    .option('--threshold <t>', 'secure aggregation: members needed to unmask (default a strict majority of the cohort)')
    .option('--slice-from <n>', 'in-network aggregation: mask sets of at least n members sum their vectors in slices (0 = never; default 8)')
    .option('--clip <norm>', 'L2 norm every update is clipped to (default 10)')
    .option('--dp-sgd', 'example-level DP-SGD in local training (dense models; TF Privacy\'s DPKerasSGDOptimizer)')
    .option('--noise-multiplier <sigma>', 'DP-SGD noise multiplier (default 1.1)')
    .option('--l2-norm-clip <c>', 'DP-SGD per-example (per-microbatch) gradient clip (default 1.5)')
    .option('--microbatches <m>', 'DP-SGD microbatches per batch, a divisor of --batch (default: one per example)')
    .option('--dp-fedavg', 'peer-level DP: members add discrete Gaussian noise to the masked sum (needs secure aggregation)')
    .option('--noise <sigma>', 'DP-FedAvg noise multiplier: the sum gets noise of std sigma · clip (default 1)')
    .option('--delta <d>', 'δ of the reported (ε, δ) (default 1e-5)')
    .option('--target-epsilon <e>', 'privacy budget: a peer stops joining once one more round would exceed it')
    .addOption(new Option('--model <kind>', 'model').choices(['mlp', 'cnn', 'logreg']))
    .option('--hidden <sizes>', 'hidden layer sizes of the mlp, comma separated (e.g. 200,200)')
    .addOption(new Option('--dataset <name>', 'dataset').choices(['mnist', 'fashion-mnist']))
    .option('--normalize <none|standard>', 'standardize inputs, (x − mean) / std with the dataset\'s published mean and std (default none)')
    .option('--transform <none|scattering>', 'features computed from each image before training: scattering = the scattering transform (default none; scattering with --dp-sgd on mnist and fashion-mnist)')
    .option('--partition <spec>', 'iid | dirichlet:<alpha> | shards:<per-peer>')
    .option('--seed <n>', 'seed of M[0], partitioning and fault injection')
    .option('--local-epochs <n>', 'local epochs per round')
    .option('--batch <n>', 'local batch size')
    .option('--lr <x>', 'local learning rate')
    .addOption(new Option('--optimizer <name>', 'local optimizer').choices(['sgd', 'momentum', 'adam']))
    .option('--lr-schedule <constant|step|cosine>', 'learning rate over the rounds: step = ×1, ×0.5 after half, ×0.25 after 3/4 of the rounds (or of the rounds the privacy budget affords) (default constant)')
    .option('--dropout <p>', 'probability that a peer crashes in a round (it comes back later)', '0')
    .option('--faults <spec>', 'network and peer faults, e.g. loss:0.1,delay:300,partition:20-40,slow:0.2 (see docs/chaos.md)')
    .option('--fault-seed <n>', 'seed of the fault injection (default 1): the same seed gives the same faults')
    .addOption(new Option('--transport <name>', 'how peers talk').choices(['memory', 'tcp']).default('memory'))
    .option('--processes <n>', 'with --transport tcp: spread the peers over this many child processes', '0')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--workers <n>', 'training worker threads per process')
    .option('--eval-limit <n>', 'test examples used to evaluate each round (default all)')
    .option('--report <file>', 'write the JSON report here (and the HTML report next to it: r.json -> r.html)')
    .option('--report-html <file>', 'write the self-contained HTML report (charts, settings) here')
    .option('--no-report-html', 'do not write the HTML report next to --report')
    .option('--dashboard <host:port>', 'serve a live, read-only dashboard at http://<host:port>/ (:port = 127.0.0.1; port 0: any free port)')
    .option('--json', 'machine-readable output: one JSON object per line ({"type":"round",…}, then {"type":"summary",…,"report":{…}})')
    .option('--quiet', 'print only the final summary')
    .option('--verbose', 'stack traces on errors, every peer log line and every phase change')
    .action(async (opts) => { code = await (await import('./sim-command.ts')).runSim(opts) })

  const node = program.command('node')
    .description('run one long-lived peer that trains with the swarm')
    .requiredOption('--task <file>', 'task file (fedswarm task init writes one)')
    .requiredOption('--data <spec>', 'local data: mnist:<partition>:<i>/<n>, mnist, fashion-mnist, an IDX directory or a .csv file')
    .option('--listen <multiaddr...>', 'listen addresses', ['/ip4/0.0.0.0/tcp/0'])
    .option('--bootstrap <multiaddr...>', 'peers to dial first (…/p2p/<peer-id>)', [])
    .option('--data-dir <dir>', 'identity, models and round records (default .fedswarm/<task id>)')
    .option('--mdns', 'discover peers on the local network')
  peerRunOptions(node)
  node.action(async (opts) => { code = await (await import('./node-command.ts')).runNode(opts) })

  program.command('bootstrap')
    .description('run a bootstrap node for a network: DHT server and circuit relay, identity kept in its data dir')
    .option('--listen <multiaddr...>', 'listen addresses (open tcp 4001 and 4002 in the firewall)', [...DEFAULT_BOOTSTRAP_LISTEN])
    .option('--announce <multiaddr...>', 'addresses to announce instead of the listen addresses (public IP or /dns4/ name)', [])
    .option('--data-dir <dir>', 'identity and status (default ~/.fedswarm/bootstrap, or $FEDSWARM_HOME/bootstrap)')
    .option('--network <name|file>', 'network it serves: private (LAN) or public addressing, and its other bootstrap peers')
    .option('--max-connections <n>', `connections kept at most (default ${DEFAULT_BOOTSTRAP_MAX_CONNECTIONS})`)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (port 0: any free port)')
    .option('--verbose', 'stack traces on errors')
    .action(async (opts) => { code = await (await import('./bootstrap-command.ts')).runBootstrap(opts) })

  const join = program.command('join')
    .description('join a network\'s task (networks/<name>.json or a network file) with local data')
    .argument('<network>', 'a bundled network (local, testnet) or the path of a network file')
    .requiredOption('--data <spec>', 'local data: mnist:<partition>:<i>/<n>, mnist, fashion-mnist, an IDX directory or a .csv file')
    .option('--data-dir <dir>', 'identity, models and round records (default ~/.fedswarm/<network>/<task id>, or under $FEDSWARM_HOME)')
    .option('--listen <multiaddr...>', 'listen addresses', ['/ip4/0.0.0.0/tcp/0'])
    .option('--announce <multiaddr...>', 'addresses to announce instead of the listen addresses', [])
    .option('--bootstrap <multiaddr...>', 'bootstrap peers to add to the network file\'s (…/p2p/<peer-id>)', [])
    .option('--mdns', 'discover peers on the local network (on if the network file says so)')
  peerRunOptions(join)
  join.action(async (network: string, opts) => { code = await (await import('./join-command.ts')).runJoin(network, opts) })

  program.command('status')
    .description('what a data dir holds (peer, task, rounds, last model, ε) and what its running peer is doing')
    .option('--data-dir <dir>', 'the data dir (default: the only one under ./.fedswarm/ and ~/.fedswarm/)')
    .option('--json', 'print the status as JSON')
    .option('--verbose', 'stack traces on errors')
    .action(async (opts) => { code = await (await import('./status-command.ts')).runStatus(opts) })

  program.command('privacy')
    .description('ε of DP-SGD / the subsampled Gaussian mechanism from the RDP accountant (like TF Privacy\'s compute_dp_sgd_privacy) or the PLD accountant')
    .option('--examples <n>', 'training examples N (with --batch and --epochs)')
    .option('--batch <n>', 'expected batch size B: sampling rate B/N')
    .option('--epochs <x>', 'epochs E, may be fractional: ceil(E·N/B) steps')
    .option('--sample-rate <q>', 'Poisson sampling rate per step (with --steps)')
    .option('--steps <n>', 'number of steps')
    .option('--noise <sigma>', 'noise multiplier σ (noise stddev over the L2 sensitivity)')
    .option('--delta <d>', 'target δ (default 1e-5)')
    .option('--accountant <rdp|pld>', 'rdp (default, as TF Privacy) or pld: the privacy loss distribution, tighter; peers\' ledgers use the smaller of the two')
    .option('--json', 'print { epsilon, order, delta, sampleRate, steps } as JSON (pld: accountant instead of order)')
    .option('--verbose', 'stack traces on errors')
    .action(async (opts) => { code = await (await import('./privacy-command.ts')).runPrivacy(opts) })

  const task = program.command('task').description('task files')
  task.command('init')
    .description('write the default task file')
    .argument('[file]', 'where to write it', 'task.json')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, opts) => {
      await writeDefaultTask(file, { force: opts.force === true })
      process.stdout.write(`wrote ${file}\n`)
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    return reportError(err, verbose)
  }
}

export function reportError (err: unknown, verbose: boolean): number {
  const e = err as Error
  if (verbose) {
    process.stderr.write(`${e?.stack ?? String(err)}\n`)
  } else {
    const msg = (e?.message ?? String(err)).split('\n')[0]
    process.stderr.write(`fedswarm: ${msg}\n`)
  }
  return e != null && USER_ERRORS.has(e.name) ? EXIT_USAGE : EXIT_FAILED
}
