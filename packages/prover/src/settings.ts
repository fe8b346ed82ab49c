import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, type ConfigOf, parse, setting } from '@cairn/config'
import type { Hex } from 'viem'
import { z } from 'zod'

const address = () => z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')

/** Env variable holding the key that sends the prover's L1 transactions (never a flag value). */
export const PROVER_KEY_ENV = 'CAIRN_PROVER_KEY'
/**
 * Env variable holding the stub attestation authority's key. With it the prover signs its own
 * instance's "quote" (what an Intel DCAP quote would be in production: see docs/proving.md).
 */
export const ATTESTATION_AUTHORITY_KEY_ENV = 'CAIRN_ATTESTATION_AUTHORITY_KEY'

/** Every `cairn-prover-tee` setting, once: flag, env, default, description. `--help` is generated from it. */
export const proverServiceSettings = {
  l1Rpc: setting({
    flag: 'l1.rpc',
    env: 'CAIRN_PROVER_L1_RPC',
    description: 'L1 JSON-RPC URL: the Inbox is read here and proofs are sent here',
    schema: parse.string(),
  }),
  l2Rpc: setting({
    flag: 'l2.rpc',
    env: 'CAIRN_PROVER_L2_RPC',
    description:
      'JSON-RPC URL of a cairn node that follows L1 (started with --l1.rpc): it serves cairn_getBatchWitness',
    schema: parse.string(),
  }),
  l1Deployment: setting({
    flag: 'l1.deployment',
    env: 'CAIRN_PROVER_L1_DEPLOYMENT',
    description: 'deployment JSON written by the L1 deploy script (gives the inbox)',
    schema: parse.string().optional(),
  }),
  l1Inbox: setting({
    flag: 'l1.inbox',
    env: 'CAIRN_PROVER_L1_INBOX',
    description: 'Inbox address (instead of, or overriding, --l1.deployment)',
    schema: address().optional(),
  }),
  l1StartBlock: setting({
    flag: 'l1.start-block',
    env: 'CAIRN_PROVER_L1_START_BLOCK',
    description:
      "L1 block to search for BatchProposed events from (the block the Inbox was deployed in, or earlier); default: --l1.deployment's startBlock, else 0",
    schema: z.coerce.number().int().min(0).optional(),
  }),
  genesis: setting({
    flag: 'genesis',
    env: 'CAIRN_PROVER_GENESIS',
    description:
      "L2 genesis JSON, read for its chain config only (default: Cairn's standard config for the Inbox's l2ChainId)",
    schema: parse.string().optional(),
  }),
  keyFile: setting({
    flag: 'key-file',
    env: 'CAIRN_PROVER_KEY_FILE',
    description: `file holding the 0x-prefixed private key that sends proofs (or put the key itself in env ${PROVER_KEY_ENV})`,
    schema: parse.string().optional(),
  }),
  quoteFile: setting({
    flag: 'quote-file',
    env: 'CAIRN_PROVER_QUOTE_FILE',
    description: `JSON {"instance","expiry","quote"}: a pre-signed attestation of this instance (else env ${ATTESTATION_AUTHORITY_KEY_ENV} signs one)`,
    schema: parse.string().optional(),
  }),
  instanceValidity: setting({
    flag: 'instance-validity',
    env: 'CAIRN_PROVER_INSTANCE_VALIDITY',
    description: "seconds an instance registration asks for (capped by the TeeVerifier's maxInstanceValidity)",
    schema: parse.positiveInt(),
    default: 7 * 24 * 3600,
  }),
  renewBefore: setting({
    flag: 'renew-before',
    env: 'CAIRN_PROVER_RENEW_BEFORE',
    description: 'seconds before the registration expires at which the instance registers again',
    schema: parse.positiveInt(),
    default: 24 * 3600,
  }),
  pollInterval: setting({
    flag: 'poll-interval',
    env: 'CAIRN_PROVER_POLL_INTERVAL',
    description: 'seconds between rounds (read the Inbox, follow the transaction in flight, prove the next batch)',
    schema: z.coerce.number().positive(),
    default: 2,
  }),
  confirmations: setting({
    flag: 'confirmations',
    env: 'CAIRN_PROVER_CONFIRMATIONS',
    description: 'L1 blocks (the inclusion block counts as 1) before a proof is done and the next one is sent',
    schema: parse.positiveInt(),
    default: 1,
  }),
  resubmitAfterBlocks: setting({
    flag: 'resubmit-after-blocks',
    env: 'CAIRN_PROVER_RESUBMIT_AFTER_BLOCKS',
    description: 'L1 blocks a transaction may stay unmined before it is replaced with higher fees (same nonce)',
    schema: parse.positiveInt(),
    default: 3,
  }),
  feeBumpPercent: setting({
    flag: 'fee-bump-percent',
    env: 'CAIRN_PROVER_FEE_BUMP_PERCENT',
    description: 'percent by which a replacement raises both fee caps (nodes refuse less than 10)',
    schema: z.coerce.number().int().min(10).max(1000),
    default: 20,
  }),
  gasMarginPercent: setting({
    flag: 'gas-margin-percent',
    env: 'CAIRN_PROVER_GAS_MARGIN_PERCENT',
    description: 'percent added to eth_estimateGas for the gas limit of each transaction',
    schema: z.coerce.number().int().min(0).max(500),
    default: 25,
  }),
  datadir: setting({
    flag: 'datadir',
    env: 'CAIRN_PROVER_DATADIR',
    description: 'directory for instance.key (the enclave key, 0600) and progress.json (the transaction in flight)',
    schema: parse.string(),
    default: join(homedir(), '.cairn-prover-tee'),
  }),
  logLevel: setting({
    flag: 'log-level',
    env: 'CAIRN_PROVER_LOG_LEVEL',
    description: 'trace, debug, info, warn, error, fatal or silent',
    schema: parse.logLevel(),
    default: 'info' as const,
  }),
  metricsAddr: setting({
    flag: 'metrics.addr',
    env: 'CAIRN_PROVER_METRICS_ADDR',
    description: 'Prometheus metrics listen address: an IP address, or a host name such as localhost',
    schema: parse.host(),
    default: '127.0.0.1',
  }),
  metricsPort: setting({
    flag: 'metrics.port',
    env: 'CAIRN_PROVER_METRICS_PORT',
    description: 'serve Prometheus metrics at http://addr:port/metrics (off unless set)',
    schema: parse.port().optional(),
  }),
}

export type ProverConfig = ConfigOf<typeof proverServiceSettings>

/**
 * A private key from env `envName` or a key file (exactly one of them; never a flag value, which ends
 * up in shell history and `ps`). `what` names the key in messages.
 */
export function readKey(options: {
  what: string
  envName: string
  env: Record<string, string | undefined>
  file?: string
  fileFlag?: string
  required?: boolean
}): Hex | undefined {
  const { what, envName, env, file } = options
  const fileFlag = options.fileFlag ?? '--key-file'
  const fromEnv = env[envName]
  if (fromEnv && file) throw new ConfigError(`set the ${what} either in ${envName} or with ${fileFlag}, not both`)
  let key: string
  let origin: string
  if (fromEnv) {
    key = fromEnv.trim()
    origin = `env ${envName}`
  } else if (file) {
    try {
      key = readFileSync(file, 'utf8').trim()
    } catch (error) {
      throw new ConfigError(`cannot read ${fileFlag} ${file}: ${(error as Error).message}`)
    }
    origin = `${fileFlag} ${file}`
  } else {
    if (options.required === false) return undefined
    throw new ConfigError(`the ${what} is required: set ${envName} or ${fileFlag} FILE`)
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError(`the ${what} from ${origin} must be a 0x-prefixed 32-byte hex private key`)
  }
  return key as Hex
}

/** The key that sends `proveBatches` (its address is bound into every public input). */
export function readProverKey(keyFile: string | undefined, env: Record<string, string | undefined>): Hex {
  return readKey({ what: 'prover key', envName: PROVER_KEY_ENV, env, file: keyFile }) as Hex
}
