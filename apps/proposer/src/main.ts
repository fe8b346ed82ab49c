import {
  helpRequested,
  listening,
  loadConfig,
  metricsListenTarget,
  renderHelp,
  resolveL1Addresses,
  startupFailure,
  stopOnSignal,
  warnUnreadEnv,
} from '@cairn/config'
import {
  KEY_ENV,
  ProgressStore,
  type ProposerConfig,
  Proposer,
  ProposerMetrics,
  proposerServiceSettings,
  proposerTuning,
  RpcL2BlockSource,
  readForcedInclusionStore,
  readProposerKey,
} from '@cairn/proposer'
import { createLogger, createMetricsRegistry, startConfiguredMetricsServer } from '@cairn/telemetry'
import { type Address, createPublicClient, getAddress, type Hex, http, isAddressEqual } from 'viem'

const USAGE = `cairn-proposer — proposes the sequencer's L2 blocks to the L1 Inbox as blob batches

Usage:
  cairn-proposer [settings]   run the proposer
  cairn-proposer --help       this help

The proposer's private key comes from env ${KEY_ENV} (0x-prefixed) or from --key-file FILE,
never from a flag value.`

export async function main(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(`${renderHelp(proposerServiceSettings, USAGE)}\n`)
    return 0
  }
  let config: ProposerConfig
  let privateKey: Hex
  let addresses: { inbox: Address; forcedInclusionStore: Address | undefined }
  try {
    config = loadConfig(proposerServiceSettings, { argv, env: process.env })
    privateKey = readProposerKey(config.keyFile, process.env)
    addresses = resolveAddresses(config)
  } catch (error) {
    return startupFailure('cairn-proposer', error, 2)
  }

  const logger = createLogger({ level: config.logLevel, name: 'cairn-proposer' })
  warnUnreadEnv({
    binary: 'cairn-proposer',
    table: proposerServiceSettings,
    env: process.env,
    alsoReads: [KEY_ENV],
    logger,
  })
  const registry = createMetricsRegistry()
  const metrics = new ProposerMetrics(registry)
  const l1 = createPublicClient({ transport: http(config.l1Rpc, { retryCount: 0, timeout: 20_000 }) })
  let progress: ProgressStore
  try {
    progress = ProgressStore.open(config.datadir)
  } catch (error) {
    return startupFailure('cairn-proposer', error, 1, logger)
  }
  let forcedInclusionStore: Address
  let metricsServer: Awaited<ReturnType<typeof startConfiguredMetricsServer>>
  try {
    // Read even when the settings name the store: an L1 that does not answer, or no Inbox at the address,
    // stops the start whether the addresses come from --l1.inbox or from --l1.deployment.
    const inboxStore = await readForcedInclusionStore(l1, { l1Rpc: config.l1Rpc, inbox: addresses.inbox })
    forcedInclusionStore = addresses.forcedInclusionStore ?? inboxStore
    if (!isAddressEqual(forcedInclusionStore, inboxStore))
      logger.warn(
        { configured: forcedInclusionStore, inbox: inboxStore },
        'the ForcedInclusionStore from --l1.forced-inclusion-store or --l1.deployment is not the one the Inbox uses; check that the deployment file is this Inbox’s',
      )
    metricsServer = await listening(metricsListenTarget(config), () => startConfiguredMetricsServer(registry, config))
  } catch (error) {
    progress.close()
    return startupFailure('cairn-proposer', error, 1, logger)
  }

  const proposer = new Proposer({
    l1,
    l2: new RpcL2BlockSource(config.l2Rpc),
    privateKey,
    inbox: addresses.inbox,
    forcedInclusionStore,
    progress,
    logger,
    metrics,
    ...proposerTuning(config),
  })
  logger.info(
    {
      proposer: proposer.address,
      inbox: addresses.inbox,
      forcedInclusionStore,
      l1Rpc: config.l1Rpc,
      l2Rpc: config.l2Rpc,
      datadir: config.datadir,
      metrics: metricsServer?.url,
      inFlight: progress.get().inFlight?.attempts.at(-1)?.hash,
    },
    'proposer started',
  )
  proposer.start()
  await stopOnSignal({ service: proposer, logger, close: [metricsServer, progress] })
  return 0
}

/** Checksummed Inbox and store addresses from `--l1.inbox`/`--l1.forced-inclusion-store`, else the deployment file. */
export function resolveAddresses(config: Pick<ProposerConfig, 'l1Deployment' | 'l1Inbox' | 'l1ForcedInclusionStore'>): {
  inbox: Address
  forcedInclusionStore: Address | undefined
} {
  const { inbox, forcedInclusionStore } = resolveL1Addresses(config)
  return {
    inbox: getAddress(inbox),
    forcedInclusionStore: forcedInclusionStore === undefined ? undefined : getAddress(forcedInclusionStore),
  }
}
