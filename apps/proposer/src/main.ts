import { readFileSync } from 'node:fs'
import { ConfigError, loadConfig, renderHelp } from '@cairn/config'
import { inboxAbi } from '@cairn/contracts'
import { CairnError } from '@cairn/primitives'
import {
  KEY_ENV,
  ProgressStore,
  type ProposerConfig,
  Proposer,
  ProposerMetrics,
  proposerServiceSettings,
  proposerTuning,
  RpcL2BlockSource,
  readProposerKey,
} from '@cairn/proposer'
import { createLogger, createMetricsRegistry, startMetricsServer } from '@cairn/telemetry'
import { type Address, createPublicClient, getAddress, type Hex, http } from 'viem'

const USAGE = `cairn-proposer — proposes the sequencer's L2 blocks to the L1 Inbox as blob batches

Usage:
  cairn-proposer [settings]   run the proposer
  cairn-proposer --help       this help

The proposer's private key comes from env ${KEY_ENV} (0x-prefixed) or from --key-file FILE,
never from a flag value.`

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
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
    if (error instanceof CairnError) {
      process.stderr.write(`cairn-proposer: ${error.message}\n`)
      return 2
    }
    throw error
  }

  const logger = createLogger({ level: config.logLevel, name: 'cairn-proposer' })
  const registry = createMetricsRegistry()
  const metrics = new ProposerMetrics(registry)
  const l1 = createPublicClient({ transport: http(config.l1Rpc, { retryCount: 0, timeout: 20_000 }) })
  let progress: ProgressStore
  try {
    progress = ProgressStore.open(config.datadir)
  } catch (error) {
    if (error instanceof CairnError) {
      process.stderr.write(`cairn-proposer: ${error.message}\n`)
      return 1
    }
    throw error
  }
  const forcedInclusionStore =
    addresses.forcedInclusionStore ??
    (await l1.readContract({ address: addresses.inbox, abi: inboxAbi, functionName: 'forcedInclusionStore' }))
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer(registry, { host: config.metricsAddr, port: config.metricsPort })

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
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await proposer.stop()
  await metricsServer?.close()
  progress.close()
  logger.flush()
  return 0
}

/** Inbox and store addresses from `--l1.inbox`/`--l1.forced-inclusion-store`, else the deployment file. */
export function resolveAddresses(config: Pick<ProposerConfig, 'l1Deployment' | 'l1Inbox' | 'l1ForcedInclusionStore'>): {
  inbox: Address
  forcedInclusionStore: Address | undefined
} {
  let deployment: { inbox?: string; forcedInclusionStore?: string } = {}
  if (config.l1Deployment !== undefined) {
    try {
      deployment = JSON.parse(readFileSync(config.l1Deployment, 'utf8'))
    } catch (error) {
      throw new ConfigError(`cannot read --l1.deployment ${config.l1Deployment}: ${(error as Error).message}`)
    }
  }
  const inbox = config.l1Inbox ?? deployment.inbox
  if (inbox === undefined || !/^0x[0-9a-fA-F]{40}$/.test(inbox)) {
    throw new ConfigError(
      config.l1Deployment === undefined
        ? 'the Inbox address is required: set --l1.deployment FILE or --l1.inbox ADDRESS'
        : `--l1.deployment ${config.l1Deployment} has no valid "inbox" address`,
    )
  }
  const store = config.l1ForcedInclusionStore ?? deployment.forcedInclusionStore
  return { inbox: getAddress(inbox), forcedInclusionStore: store === undefined ? undefined : getAddress(store) }
}
