import { readFileSync } from 'node:fs'
import {
  ConfigError,
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
import { inboxAbi } from '@cairn/contracts'
import { nativeCustomCrypto } from '@cairn/executor'
import { readAtStartup } from '@cairn/l1'
import { createChainCommon, devGenesis, parseGenesis } from '@cairn/primitives'
import { TeeBackend } from '@cairn/proof'
import {
  ATTESTATION_AUTHORITY_KEY_ENV,
  AuthorityQuoteSource,
  FileQuoteSource,
  loadOrCreateInstanceKey,
  PROVER_KEY_ENV,
  type ProverConfig,
  ProverDriver,
  ProverMetrics,
  ProverProgressStore,
  proverServiceSettings,
  type QuoteSource,
  RpcWitnessSource,
  readKey,
  readProverKey,
} from '@cairn/prover'
import { createLogger, createMetricsRegistry, type Logger, startConfiguredMetricsServer } from '@cairn/telemetry'
import { type Address, createPublicClient, getAddress, type Hex, http } from 'viem'

const USAGE = `cairn-prover-tee — proves proposed batches with the TEE backend and submits the proofs to the L1 Inbox

Usage:
  cairn-prover-tee [settings]            run the prover
  cairn-prover-tee instance [--datadir]  print the instance key's address (made on first use), e.g. to get a quote for it
  cairn-prover-tee --help                this help

For each batch after the last verified one that has no accepted transition, the prover fetches the
witness from the L2 node (cairn_getBatchWitness), re-executes it statelessly, signs the public input
with the instance key (<datadir>/instance.key) and calls Inbox.proveBatches. It keeps the instance
registered on the TeeVerifier.

Keys (never flag values):
  ${PROVER_KEY_ENV} or --key-file FILE           the account that sends the L1 transactions
  ${ATTESTATION_AUTHORITY_KEY_ENV} or --quote-file FILE   the attestation of the instance key

The attestation is a STUB: the TeeVerifier's AuthorityAttestationVerifier accepts a signature by a
configured authority key where production would check an Intel DCAP quote of an enclave. With
${ATTESTATION_AUTHORITY_KEY_ENV} this process signs its own quote (devnet: dev account 2); with
--quote-file it registers a quote signed elsewhere. The re-execution and signatures are real; the
enclave is not (docs/proving.md).`

/** The service's logger, having warned about each CAIRN_* variable the service does not read. */
function serviceLogger(level: ProverConfig['logLevel']): Logger {
  const logger = createLogger({ level, name: 'cairn-prover-tee' })
  warnUnreadEnv({
    binary: 'cairn-prover-tee',
    table: proverServiceSettings,
    env: process.env,
    alsoReads: [PROVER_KEY_ENV, ATTESTATION_AUTHORITY_KEY_ENV],
    logger,
  })
  return logger
}

export async function main(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    process.stdout.write(`${renderHelp(proverServiceSettings, USAGE)}\n`)
    return 0
  }
  if (argv[0] === 'instance') {
    let config: Pick<ProverConfig, 'datadir' | 'logLevel'>
    try {
      const { datadir, logLevel } = proverServiceSettings
      config = loadConfig({ datadir, logLevel }, { argv: argv.slice(1), env: process.env })
    } catch (error) {
      return startupFailure('cairn-prover-tee', error, 2)
    }
    // A mistyped CAIRN_PROVER_DATADIR would print the key of another datadir than the service's: warned
    // about on stderr (stdout holds only the address). The service's other variables are read by the
    // service, so they are checked against its whole table, as the main command does.
    const logger = serviceLogger(config.logLevel)
    try {
      process.stdout.write(`${loadOrCreateInstanceKey(config.datadir).address}\n`)
    } catch (error) {
      return startupFailure('cairn-prover-tee', error, 1, logger)
    }
    logger.flush()
    return 0
  }
  let config: ProverConfig
  let privateKey: Hex
  let inbox: Address
  let l1StartBlock: bigint
  let quotes: QuoteSource
  try {
    config = loadConfig(proverServiceSettings, { argv, env: process.env })
    privateKey = readProverKey(config.keyFile, process.env)
    const addresses = resolveL1Addresses(config)
    inbox = getAddress(addresses.inbox)
    l1StartBlock = BigInt(config.l1StartBlock ?? addresses.startBlock ?? 0)
    quotes = quoteSource(config)
  } catch (error) {
    return startupFailure('cairn-prover-tee', error, 2)
  }

  const logger = serviceLogger(config.logLevel)
  let progress: ProverProgressStore
  let instance: ReturnType<typeof loadOrCreateInstanceKey>
  try {
    progress = ProverProgressStore.open(config.datadir)
    instance = loadOrCreateInstanceKey(config.datadir)
  } catch (error) {
    return startupFailure('cairn-prover-tee', error, 1, logger)
  }
  const registry = createMetricsRegistry()
  const metrics = new ProverMetrics(registry)
  const l1 = createPublicClient({ transport: http(config.l1Rpc, { retryCount: 0, timeout: 20_000 }) })
  const readInboxConfig = () => l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' })
  let inboxConfig: Awaited<ReturnType<typeof readInboxConfig>>
  try {
    inboxConfig = await readAtStartup(
      {
        what: "the Inbox's config",
        l1Rpc: config.l1Rpc,
        address: inbox,
        addressSettings: '--l1.inbox or --l1.deployment',
      },
      readInboxConfig,
    )
  } catch (error) {
    progress.close()
    return startupFailure('cairn-prover-tee', error, 1, logger)
  }
  let genesis: ReturnType<typeof devGenesis>
  try {
    genesis =
      config.genesis === undefined
        ? devGenesis({ chainId: inboxConfig.l2ChainId })
        : parseGenesis(JSON.parse(readFileSync(config.genesis, 'utf8')))
  } catch (error) {
    progress.close()
    const reason = new ConfigError(`cannot use --genesis ${config.genesis}: ${(error as Error).message}`)
    return startupFailure('cairn-prover-tee', reason, 2, logger)
  }
  if (BigInt(genesis.config.chainId) !== inboxConfig.l2ChainId) {
    progress.close()
    const reason = new ConfigError(
      `--genesis has chain id ${genesis.config.chainId}, the Inbox proves chain ${inboxConfig.l2ChainId}`,
    )
    return startupFailure('cairn-prover-tee', reason, 2, logger)
  }
  const backend = new TeeBackend({
    common: createChainCommon(genesis, nativeCustomCrypto()),
    instanceKey: instance.key,
  })
  let metricsServer: Awaited<ReturnType<typeof startConfiguredMetricsServer>>
  try {
    metricsServer = await listening(metricsListenTarget(config), () => startConfiguredMetricsServer(registry, config))
  } catch (error) {
    progress.close()
    return startupFailure('cairn-prover-tee', error, 1, logger)
  }

  const driver = new ProverDriver({
    l1,
    node: new RpcWitnessSource(config.l2Rpc),
    backend,
    privateKey,
    inbox,
    tee: {
      instance: instance.address,
      quotes,
      validitySeconds: config.instanceValidity,
      renewBeforeSeconds: config.renewBefore,
    },
    progress,
    logger,
    metrics,
    l1StartBlock,
    pollIntervalMs: config.pollInterval * 1000,
    confirmations: config.confirmations,
    resubmitAfterBlocks: config.resubmitAfterBlocks,
    feeBumpPercent: config.feeBumpPercent,
    gasMarginPercent: config.gasMarginPercent,
  })
  logger.info(
    {
      prover: driver.address,
      instance: instance.address,
      newInstance: instance.created,
      quote: quotes.kind,
      inbox,
      l2ChainId: inboxConfig.l2ChainId,
      l1Rpc: config.l1Rpc,
      l1StartBlock: Number(l1StartBlock),
      l2Rpc: config.l2Rpc,
      datadir: config.datadir,
      metrics: metricsServer?.url,
      inFlight: progress.get().inFlight?.attempts.at(-1)?.hash,
    },
    'prover started',
  )
  driver.start()
  await stopOnSignal({ service: driver, logger, close: [metricsServer, progress] })
  return 0
}

/** The stub authority key from env, or a pre-signed quote file (exactly one). */
function quoteSource(config: Pick<ProverConfig, 'quoteFile'>): QuoteSource {
  const authorityKey = readKey({
    what: 'attestation authority key',
    envName: ATTESTATION_AUTHORITY_KEY_ENV,
    env: process.env,
    required: false,
  })
  if (authorityKey !== undefined && config.quoteFile !== undefined) {
    throw new ConfigError(`set either ${ATTESTATION_AUTHORITY_KEY_ENV} or --quote-file, not both`)
  }
  if (authorityKey !== undefined) return new AuthorityQuoteSource(authorityKey)
  if (config.quoteFile !== undefined) return new FileQuoteSource(config.quoteFile)
  throw new ConfigError(
    `the instance needs an attestation: set ${ATTESTATION_AUTHORITY_KEY_ENV} (stub authority key) or --quote-file FILE`,
  )
}
