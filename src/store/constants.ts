/**
 * Names, modes and defaults of a peer's data dir (see `data-dir.ts` for the layout).
 */

/** Ed25519 private key of the peer, libp2p protobuf encoding, mode 0600. */
export const IDENTITY_FILE = 'identity.key'
/** Directory of model checkpoints, `<round>-<hash>.bin` (see `model-file.ts`). */
export const MODELS_DIR = 'models'
/** Round records, one JSON object per line. */
export const ROUNDS_FILE = 'rounds.jsonl'
/** The peer's differential-privacy spending, one `LedgerEntry` (src/dp/ledger.ts) per line. */
export const PRIVACY_LEDGER_FILE = 'privacy-ledger.jsonl'
/** Lock file holding `{"pid", "hostname", "created"}` of the process that has the data dir open. */
export const LOCK_FILE = 'lock'

/** How many checkpoints of a task are kept (the newest rounds). */
export const DEFAULT_KEEP_MODELS = 3

export const DATA_DIR_MODE = 0o700
export const IDENTITY_FILE_MODE = 0o600
export const FILE_MODE = 0o644

/** Suffix of temporary files written by `writeFileAtomic`; leftovers are removed when a data dir opens. */
export const TEMP_SUFFIX = '.tmp'

/** What the process running on the data dir is doing, for `fedswarm status` (see status-file.ts). */
export const STATUS_FILE = 'status.json'
export const STATUS_FILE_VERSION = 1
/** `status.json` is rewritten at most this often... */
export const DEFAULT_STATUS_INTERVAL_MS = 1000
/** ...and at least this often while the process runs. */
export const DEFAULT_STATUS_HEARTBEAT_MS = 15_000
