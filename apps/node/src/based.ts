// `cairn node --based`: the node sequences its own mempool (like --sequencer) and proposes its blocks to
// the L1 Inbox itself, with an in-process Proposer reading the node's chain store. No sequencer and no
// separate cairn-proposer are involved. Loaded only when --based is set (it pulls in the blob code).
import { join } from 'node:path'
import type { ChainStore } from '@cairn/chain'
import { resolveL1Addresses } from '@cairn/config'
import { CairnError } from '@cairn/primitives'
import {
  ChainStoreBlockSource,
  KEY_ENV,
  ProgressStore,
  Proposer,
  ProposerMetrics,
  proposerTuning,
  readForcedInclusionStore,
  readProposerKey,
  readProposerRole,
} from '@cairn/proposer'
import type { Logger, Registry } from '@cairn/telemetry'
import { type Address, BaseError, createPublicClient, type Hex, http, type PublicClient } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import type { NodeConfig } from './settings.ts'

/** What `--based` needs, checked before the node opens its datadir. */
export interface BasedSetup {
  l1Rpc: string
  inbox: Address
  privateKey: Hex
}

/**
 * Checks the settings `--based` depends on: an L1 to propose to (`--l1.rpc`), the Inbox address and the
 * proposer key (env `CAIRN_PROPOSER_KEY` or `--proposer.key-file`, never a flag value).
 */
export function checkBasedConfig(config: NodeConfig, env: Record<string, string | undefined>): BasedSetup {
  if (config.l1Rpc === undefined) {
    throw new CairnError(
      'BASED_NEEDS_L1',
      '--based proposes the node’s blocks to the L1 Inbox: set --l1.rpc URL and --l1.deployment FILE (or --l1.inbox ADDRESS)',
    )
  }
  if (config.l1Inbox === undefined && config.l1Deployment === undefined) {
    throw new CairnError(
      'BASED_NEEDS_INBOX',
      '--based needs the Inbox address: set --l1.deployment FILE (the deploy output) or --l1.inbox ADDRESS',
    )
  }
  const { inbox } = resolveL1Addresses(config)
  let privateKey: Hex
  try {
    privateKey = readProposerKey(config.proposerKeyFile, env, '--proposer.key-file')
  } catch (error) {
    if (!(error instanceof CairnError)) throw error
    throw new CairnError('BASED_NEEDS_KEY', `--based: ${error.message}`)
  }
  return { l1Rpc: config.l1Rpc, inbox, privateKey }
}

export interface BasedProposer {
  readonly address: Address
  /** Starts the proposer loop (after the sequencer, so the chain it reads moves). */
  start(): void
  stop(): Promise<void>
}

/**
 * The proposer of a based node, ready to start: the Inbox is read once here (forced inclusion store,
 * who may propose), so a wrong address or an unreachable L1 stops the node at start. Its progress (the proposal in flight) lives in
 * `<datadir>/proposer`. When the Inbox is not in based mode and the key is not a whitelisted preconfer,
 * the node still starts (its proposals can land in the based fallback, when no one proposed for
 * `fallbackWindow` L1 blocks) but says so loudly: until then its blocks stay preconfirmed only.
 */
export async function createBasedProposer(options: {
  setup: BasedSetup
  config: NodeConfig
  chain: ChainStore
  logger: Logger
  metrics: Registry
}): Promise<BasedProposer> {
  const { setup, config, chain, logger } = options
  const log = logger.child({ module: 'based' })
  const l1 = createPublicClient({ transport: http(setup.l1Rpc, { retryCount: 0, timeout: 20_000 }) }) as PublicClient
  const address = privateKeyToAddress(setup.privateKey)
  const progress = ProgressStore.open(join(config.datadir, 'proposer'))
  try {
    const forcedInclusionStore = await readForcedInclusionStore(l1, { l1Rpc: setup.l1Rpc, inbox: setup.inbox })
    await warnUnlessAllowed(l1, setup.inbox, address, log)
    const proposer = new Proposer({
      l1,
      l2: new ChainStoreBlockSource(chain),
      privateKey: setup.privateKey,
      inbox: setup.inbox,
      forcedInclusionStore,
      progress,
      logger,
      metrics: new ProposerMetrics(options.metrics),
      ...proposerTuning({
        maxBatchBlocks: config.proposerMaxBatchBlocks,
        maxBatchAge: config.proposerMaxBatchAge,
        maxBlobs: config.proposerMaxBlobs,
        pollInterval: config.proposerPollInterval,
        feeBumpPercent: config.proposerFeeBumpPercent,
        resubmitAfterBlocks: config.proposerResubmitAfterBlocks,
        confirmations: config.proposerConfirmations,
      }),
    })
    log.info(
      {
        proposer: address,
        inbox: setup.inbox,
        forcedInclusionStore,
        datadir: join(config.datadir, 'proposer'),
        keyFrom: config.proposerKeyFile === undefined ? `env ${KEY_ENV}` : '--proposer.key-file',
        inFlight: progress.get().inFlight?.attempts.at(-1)?.hash,
      },
      'based mode: proposing own blocks to L1',
    )
    return {
      address,
      start: () => proposer.start(),
      async stop() {
        await proposer.stop()
        progress.close()
      },
    }
  } catch (error) {
    progress.close()
    if (error instanceof CairnError) throw error
    throw new CairnError(
      'BASED_L1_UNREACHABLE',
      `--based: cannot read the Inbox ${setup.inbox} at --l1.rpc ${setup.l1Rpc}: ${error instanceof BaseError ? error.shortMessage : (error as Error).message}`,
      { cause: error },
    )
  }
}

async function warnUnlessAllowed(l1: PublicClient, inbox: Address, proposer: Address, log: Logger): Promise<void> {
  const role = await readProposerRole(l1, inbox, proposer)
  if (role.canEverPropose) {
    log.info({ basedMode: role.basedMode, whitelisted: role.whitelisted }, 'the Inbox accepts this node’s proposals')
    return
  }
  log.warn(
    { proposer, inbox, fallbackWindow: Number(role.fallbackWindow) },
    'the Inbox is not in based mode and this key is not a whitelisted preconfer: proposals revert with ProposerNotAllowed except in the based fallback (no proposal for fallbackWindow L1 blocks, or a stale forced inclusion queue); the node keeps preconfirming and proposes when allowed',
  )
}
