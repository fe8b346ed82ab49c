import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { type ConfigOf, parse, setting } from '@cairn/config'

const address = () => z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')

/** Env variable holding the proposer's private key (never a flag: flags end up in shell history and `ps`). */
export const KEY_ENV = 'CAIRN_PROPOSER_KEY'

/** Every `cairn-proposer` setting, once: flag, env, default, description. `--help` is generated from it. */
export const proposerSettings = {
  l2Rpc: setting({
    flag: 'l2.rpc',
    env: 'CAIRN_PROPOSER_L2_RPC',
    description: 'JSON-RPC URL of the sequencer node whose blocks are proposed (needs debug_getRawBlock)',
    schema: parse.string(),
  }),
  l1Rpc: setting({
    flag: 'l1.rpc',
    env: 'CAIRN_PROPOSER_L1_RPC',
    description: 'L1 JSON-RPC URL the proposals are sent to',
    schema: parse.string(),
  }),
  l1Deployment: setting({
    flag: 'l1.deployment',
    env: 'CAIRN_PROPOSER_L1_DEPLOYMENT',
    description: 'deployment JSON written by the L1 deploy script (gives the inbox and forced inclusion store)',
    schema: parse.string().optional(),
  }),
  l1Inbox: setting({
    flag: 'l1.inbox',
    env: 'CAIRN_PROPOSER_L1_INBOX',
    description: 'Inbox address (instead of, or overriding, --l1.deployment)',
    schema: address().optional(),
  }),
  l1ForcedInclusionStore: setting({
    flag: 'l1.forced-inclusion-store',
    env: 'CAIRN_PROPOSER_L1_FORCED_INCLUSION_STORE',
    description: 'ForcedInclusionStore address (default: from --l1.deployment, else read from the Inbox)',
    schema: address().optional(),
  }),
  keyFile: setting({
    flag: 'key-file',
    env: 'CAIRN_PROPOSER_KEY_FILE',
    description: `file holding the proposer's 0x-prefixed private key (or put the key itself in env ${KEY_ENV})`,
    schema: parse.string().optional(),
  }),
  datadir: setting({
    flag: 'datadir',
    env: 'CAIRN_PROPOSER_DATADIR',
    description: 'directory for the proposer progress file (transaction in flight: hashes, nonce, fees, L2 range)',
    schema: parse.string(),
    default: join(homedir(), '.cairn-proposer'),
  }),
  maxBatchBlocks: setting({
    flag: 'max-batch-blocks',
    env: 'CAIRN_PROPOSER_MAX_BATCH_BLOCKS',
    description: "most L2 blocks per batch (default and upper bound: the Inbox's maxBlocksPerBatch)",
    schema: parse.positiveInt().max(65_535).optional(),
  }),
  maxBatchAge: setting({
    flag: 'max-batch-age',
    env: 'CAIRN_PROPOSER_MAX_BATCH_AGE',
    description: 'seconds: propose a partial batch once its oldest block is this old',
    schema: parse.nonNegativeNumber(),
    default: 60,
  }),
  maxBlobs: setting({
    flag: 'max-blobs',
    env: 'CAIRN_PROPOSER_MAX_BLOBS',
    description: "most blobs per proposal, 1-6 (also capped by the Inbox's maxBlobsPerBatch)",
    schema: z.coerce.number().int().min(1).max(6),
    default: 6,
  }),
  pollInterval: setting({
    flag: 'poll-interval',
    env: 'CAIRN_PROPOSER_POLL_INTERVAL',
    description: 'seconds between rounds (read L1 and L2, propose or follow the transaction in flight)',
    schema: z.coerce.number().positive(),
    default: 2,
  }),
  feeBumpPercent: setting({
    flag: 'fee-bump-percent',
    env: 'CAIRN_PROPOSER_FEE_BUMP_PERCENT',
    description:
      'percent by which a replacement raises all three fee caps; geth and reth refuse a blob replacement below 100',
    schema: z.coerce.number().int().min(10).max(1000),
    default: 100,
  }),
  resubmitAfterBlocks: setting({
    flag: 'resubmit-after-blocks',
    env: 'CAIRN_PROPOSER_RESUBMIT_AFTER_BLOCKS',
    description: 'L1 blocks a proposal may stay unmined before it is replaced with higher fees (same nonce)',
    schema: parse.positiveInt(),
    default: 3,
  }),
  confirmations: setting({
    flag: 'confirmations',
    env: 'CAIRN_PROPOSER_CONFIRMATIONS',
    description: 'L1 blocks (the inclusion block counts as 1) before a proposal is done and the next is sent',
    schema: parse.positiveInt(),
    default: 1,
  }),
  logLevel: setting({
    flag: 'log-level',
    env: 'CAIRN_PROPOSER_LOG_LEVEL',
    description: 'trace, debug, info, warn, error, fatal or silent',
    schema: parse.logLevel(),
    default: 'info' as const,
  }),
  metricsAddr: setting({
    flag: 'metrics.addr',
    env: 'CAIRN_PROPOSER_METRICS_ADDR',
    description: 'Prometheus metrics listen address',
    schema: parse.string(),
    default: '127.0.0.1',
  }),
  metricsPort: setting({
    flag: 'metrics.port',
    env: 'CAIRN_PROPOSER_METRICS_PORT',
    description: 'serve Prometheus metrics at http://addr:port/metrics (off unless set)',
    schema: parse.port().optional(),
  }),
}

export type ProposerConfig = ConfigOf<typeof proposerSettings>
