import { readFileSync } from 'node:fs'
import { ConfigError, loadConfig, renderHelp } from '@cairn/config'
import { inboxAbi } from '@cairn/contracts'
import { nativeCustomCrypto } from '@cairn/executor'
import { CairnError, createChainCommon, devGenesis, parseGenesis } from '@cairn/primitives'
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
import { createLogger, createMetricsRegistry, startMetricsServer } from '@cairn/telemetry'
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

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(`${renderHelp(proverServiceSettings, USAGE)}\n`)
    return 0
  }
  if (argv[0] === 'instance') {
    try {
      const config = loadConfig({ datadir: proverServiceSettings.datadir }, { argv: argv.slice(1), env: process.env })
      process.stdout.write(`${loadOrCreateInstanceKey(config.datadir).address}\n`)
      return 0
    } catch (error) {
      if (error instanceof CairnError) {
        process.stderr.write(`cairn-prover-tee: ${error.message}\n`)
        return 2
      }
      throw error
    }
  }
  let config: ProverConfig
  let privateKey: Hex
  let inbox: Address
  let quotes: QuoteSource
  try {
    config = loadConfig(proverServiceSettings, { argv, env: process.env })
    privateKey = readProverKey(config.keyFile, process.env)
    inbox = resolveInbox(config)
    quotes = quoteSource(config)
  } catch (error) {
    if (error instanceof CairnError) {
      process.stderr.write(`cairn-prover-tee: ${error.message}\n`)
      return 2
    }
    throw error
  }

  const logger = createLogger({ level: config.logLevel, name: 'cairn-prover-tee' })
  let progress: ProverProgressStore
  let instance: ReturnType<typeof loadOrCreateInstanceKey>
  try {
    progress = ProverProgressStore.open(config.datadir)
    instance = loadOrCreateInstanceKey(config.datadir)
  } catch (error) {
    if (error instanceof CairnError) {
      process.stderr.write(`cairn-prover-tee: ${error.message}\n`)
      return 1
    }
    throw error
  }
  const registry = createMetricsRegistry()
  const metrics = new ProverMetrics(registry)
  const l1 = createPublicClient({ transport: http(config.l1Rpc, { retryCount: 0, timeout: 20_000 }) })
  const inboxConfig = await l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' })
  let genesis: ReturnType<typeof devGenesis>
  try {
    genesis =
      config.genesis === undefined
        ? devGenesis({ chainId: inboxConfig.l2ChainId })
        : parseGenesis(JSON.parse(readFileSync(config.genesis, 'utf8')))
  } catch (error) {
    process.stderr.write(`cairn-prover-tee: cannot use --genesis ${config.genesis}: ${(error as Error).message}\n`)
    progress.close()
    return 2
  }
  if (BigInt(genesis.config.chainId) !== inboxConfig.l2ChainId) {
    process.stderr.write(
      `cairn-prover-tee: --genesis has chain id ${genesis.config.chainId}, the Inbox proves chain ${inboxConfig.l2ChainId}\n`,
    )
    progress.close()
    return 2
  }
  const backend = new TeeBackend({
    common: createChainCommon(genesis, nativeCustomCrypto()),
    instanceKey: instance.key,
  })
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer(registry, { host: config.metricsAddr, port: config.metricsPort })

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
    l1StartBlock: BigInt(config.l1StartBlock),
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
      l2Rpc: config.l2Rpc,
      datadir: config.datadir,
      metrics: metricsServer?.url,
      inFlight: progress.get().inFlight?.attempts.at(-1)?.hash,
    },
    'prover started',
  )
  driver.start()
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await driver.stop()
  await metricsServer?.close()
  progress.close()
  logger.flush()
  return 0
}

/** The Inbox from `--l1.inbox`, else the deployment file. */
export function resolveInbox(config: Pick<ProverConfig, 'l1Deployment' | 'l1Inbox'>): Address {
  let deployment: { inbox?: string } = {}
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
  return getAddress(inbox)
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
