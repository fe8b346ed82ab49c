import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import type { Hex } from 'viem'
import { ConfigError, type ConfigOf, parse, setting } from '@cairn/config'

const address = () => z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')

/** Env variable holding the proposer's private key (never a flag: flags end up in shell history and `ps`). */
export const KEY_ENV = 'CAIRN_PROPOSER_KEY'

/**
 * The proposer loop's own settings, wherever it runs: the key file and the batching, fee and
 * confirmation tunables. `cairn-proposer` reads them as `--max-blobs`; `cairn node --based` spreads
 * them as `--proposer.max-blobs` (`prefixSettings`). Env names are the same for both.
 */
export const proposerSettings = {
  keyFile: setting({
    flag: 'key-file',
    env: 'CAIRN_PROPOSER_KEY_FILE',
    description: `file holding the proposer's 0x-prefixed private key (or put the key itself in env ${KEY_ENV})`,
    schema: parse.string().optional(),
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
}

export type ProposerSettingsConfig = ConfigOf<typeof proposerSettings>

/** Every `cairn-proposer` setting, once: flag, env, default, description. `--help` is generated from it. */
export const proposerServiceSettings = {
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
  ...proposerSettings,
  datadir: setting({
    flag: 'datadir',
    env: 'CAIRN_PROPOSER_DATADIR',
    description: 'directory for the proposer progress file (transaction in flight: hashes, nonce, fees, L2 range)',
    schema: parse.string(),
    default: join(homedir(), '.cairn-proposer'),
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
    description: 'Prometheus metrics listen address: an IP address, or a host name such as localhost',
    schema: parse.host(),
    default: '127.0.0.1',
  }),
  metricsPort: setting({
    flag: 'metrics.port',
    env: 'CAIRN_PROPOSER_METRICS_PORT',
    description: 'serve Prometheus metrics at http://addr:port/metrics (off unless set)',
    schema: parse.port().optional(),
  }),
}

export type ProposerConfig = ConfigOf<typeof proposerServiceSettings>

/**
 * The tunables of {@link ProposerOptions} from the settings (the rest, L1 client, L2 source, key,
 * addresses, storage, logging, is the host's to compose).
 */
export function proposerTuning(config: Omit<ProposerSettingsConfig, 'keyFile'>) {
  return {
    maxBatchBlocks: config.maxBatchBlocks,
    maxBatchAgeSeconds: config.maxBatchAge,
    maxBlobs: config.maxBlobs,
    pollIntervalMs: config.pollInterval * 1000,
    feeBumpPercent: config.feeBumpPercent,
    resubmitAfterBlocks: config.resubmitAfterBlocks,
    confirmations: config.confirmations,
  }
}

/**
 * The proposer key from env `CAIRN_PROPOSER_KEY` or a key file (exactly one of them; never a flag
 * value, which ends up in shell history and `ps`). `keyFileFlag` names the file setting in messages.
 */
export function readProposerKey(
  keyFile: string | undefined,
  env: Record<string, string | undefined>,
  keyFileFlag = '--key-file',
): Hex {
  const fromEnv = env[KEY_ENV]
  if (fromEnv && keyFile) {
    throw new ConfigError(`set the proposer key either in ${KEY_ENV} or with ${keyFileFlag}, not both`)
  }
  let key: string
  let origin: string
  if (fromEnv) {
    key = fromEnv.trim()
    origin = `env ${KEY_ENV}`
  } else if (keyFile) {
    try {
      key = readFileSync(keyFile, 'utf8').trim()
    } catch (error) {
      throw new ConfigError(`cannot read ${keyFileFlag} ${keyFile}: ${(error as Error).message}`)
    }
    origin = `${keyFileFlag} ${keyFile}`
  } else {
    throw new ConfigError(`the proposer key is required: set ${KEY_ENV} or ${keyFileFlag} FILE`)
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError(`the proposer key from ${origin} must be a 0x-prefixed 32-byte hex private key`)
  }
  return key as Hex
}
