import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Common } from '@ethereumjs/common'
import { KECCAK256_RLP, bytesToHex, createAddressFromString } from '@ethereumjs/util'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { CallRunner, chainSubscriptionSource, createLogReader, createTraceService, ethMethods } from '@cairn/eth-api'
import { BlockExecutor, createGenesisBlock, nativeCustomCrypto } from '@cairn/executor'
import { Mempool, MempoolJournal } from '@cairn/mempool'
import { CairnError, type GethGenesisFile, createChainCommon, devGenesis, parseGenesis } from '@cairn/primitives'
import { FilterManager, type RpcServer, createRpcServer, filterMethods } from '@cairn/rpc'
import { Sequencer } from '@cairn/sequencer'
import { StateDB } from '@cairn/state'
import {
  Gauge,
  Histogram,
  type Logger,
  type Registry,
  createMetricsRegistry,
  startMetricsServer,
} from '@cairn/telemetry'
import { HeadStateReader } from './head-state-reader.ts'
import type { NodeConfig } from './settings.ts'

export const CLIENT_VERSION = `cairn/v0.1.0/${process.platform}-${process.arch}/node${process.versions.node}`

export interface NodeUrls {
  http: string
  ws: string
  metrics?: string
}

/**
 * A running Cairn node: storage, execution, mempool, optional sequencer, JSON-RPC and metrics,
 * composed from the packages and stopped in reverse order.
 */
export class CairnNode {
  private constructor(
    readonly urls: NodeUrls,
    private readonly parts: {
      database: NodeDatabase
      rpc: RpcServer
      sequencer: Sequencer | undefined
      journal: MempoolJournal
      filters: FilterManager
      metricsServer: { close(): Promise<void> } | undefined
      logger: Logger
    },
  ) {}

  static async start(config: NodeConfig, logger: Logger): Promise<CairnNode> {
    mkdirSync(config.datadir, { recursive: true })
    const genesisFile = resolveGenesis(config)
    const common = createChainCommon(genesisFile, nativeCustomCrypto())
    const database = await NodeDatabase.open(join(config.datadir, 'chaindata'))
    try {
      return await CairnNode.compose(config, logger, common, genesisFile, database)
    } catch (error) {
      await database.close().catch(() => {})
      throw error
    }
  }

  private static async compose(
    config: NodeConfig,
    logger: Logger,
    common: Common,
    genesisFile: GethGenesisFile,
    database: NodeDatabase,
  ): Promise<CairnNode> {
    const metrics = createMetricsRegistry()
    const chain = new ChainStore(database, common)
    const state = new StateDB(database.sublevel('state'), common)
    const genesis = await createGenesisBlock(common, genesisFile, state.headState(KECCAK256_RLP))
    if (await chain.open()) {
      state.discardPending()
      const stored = await chain.getCanonicalHash(0n)
      if (stored === undefined || bytesToHex(stored) !== bytesToHex(genesis.hash())) {
        throw new CairnError(
          'GENESIS_MISMATCH',
          `the datadir ${config.datadir} holds a chain with genesis ${stored ? bytesToHex(stored) : 'none'}, but the configured genesis hashes to ${bytesToHex(genesis.hash())}; use another --datadir or the matching --genesis`,
        )
      }
      logger.info({ head: Number(chain.head().header.number), hash: bytesToHex(chain.head().hash()) }, 'opened chain')
    } else {
      await chain.initGenesis(genesis, state.pendingBatch())
      logger.info(
        { chainId: Number(common.chainId()), genesis: bytesToHex(genesis.hash()) },
        'initialized chain from genesis',
      )
    }

    const executor = await BlockExecutor.create({
      common,
      state: state.headState(chain.head().header.stateRoot),
      blockHashes: chain,
    })
    const journal = new MempoolJournal(join(config.datadir, 'mempool.journal'))
    const mempool = new Mempool({
      common,
      baseFee: chain.head().header.calcNextBaseFee(),
      state: new HeadStateReader(chain, state),
      journal,
      config: {
        chainId: common.chainId(),
        blockGasLimit: chain.head().header.gasLimit,
        accountSlots: config.txpoolAccountSlots,
        globalSlots: config.txpoolGlobalSlots,
        accountQueue: config.txpoolAccountQueue,
        globalQueue: config.txpoolGlobalQueue,
        priceBumpPercent: config.txpoolPriceBump,
      },
    })
    const restored = await mempool.restore()
    if (restored.restored + restored.dropped > 0)
      logger.info(restored, 'restored mempool transactions from the journal')

    const sequencing = config.dev || config.sequencer
    const sequencer = sequencing
      ? new Sequencer({
          chain,
          state,
          executor,
          mempool,
          logger: logger.child({ module: 'sequencer' }),
          metrics,
          blockTime: config.blockTime,
          coinbase: config.coinbase === undefined ? undefined : createAddressFromString(config.coinbase),
          // With no L1 to derive safety from, a dev chain's blocks are as final as they get.
          alsoHeads: config.dev ? ['safe', 'finalized'] : [],
        })
      : undefined

    const calls = new CallRunner(common, state, chain, BigInt(config.rpcGasCap))
    const subscriptions = chainSubscriptionSource(chain, mempool)
    const logLimits = { maxLogBlockRange: config.rpcLogRange, maxLogResults: config.rpcLogResults }
    const filters = new FilterManager({ source: subscriptions, getLogs: createLogReader(chain, logLimits) })
    const methods = {
      ...ethMethods({
        common,
        chain,
        state,
        mempool,
        calls,
        clientVersion: CLIENT_VERSION,
        limits: { ...logLimits, maxFeeHistoryBlocks: 1024 },
        traces: createTraceService(chain, calls),
      }),
      ...filterMethods(filters),
    }
    const rpcSeconds = new Histogram({
      name: 'cairn_rpc_request_seconds',
      help: 'JSON-RPC call latency by method and outcome',
      labelNames: ['method', 'outcome'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [metrics],
    })
    registerChainMetrics(metrics, chain, mempool)
    const rpc = createRpcServer({
      methods,
      host: config.httpAddr,
      port: config.httpPort,
      wsPort: config.wsPort,
      cors: config.httpCors,
      limits: { maxBatchItems: config.rpcBatchLimit, maxBodyBytes: config.rpcBodyLimit },
      logger: logger.child({ module: 'rpc' }),
      subscriptions,
      onRequest: (method, seconds, outcome) => rpcSeconds.observe({ method, outcome }, seconds),
    })
    const { httpUrl, wsUrl } = await rpc.listen()
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await startMetricsServer(metrics, { host: config.metricsAddr, port: config.metricsPort })
    sequencer?.start()
    logger.info(
      {
        http: httpUrl,
        ws: wsUrl,
        metrics: metricsServer?.url,
        chainId: Number(common.chainId()),
        sequencer: sequencing,
      },
      'node started',
    )
    return new CairnNode(
      { http: httpUrl, ws: wsUrl, metrics: metricsServer?.url },
      { database, rpc, sequencer, journal, filters, metricsServer, logger },
    )
  }

  /** Stops serving, lets the block in progress land, then closes storage. */
  async stop(): Promise<void> {
    const { rpc, sequencer, journal, filters, metricsServer, database, logger } = this.parts
    await rpc.close()
    await sequencer?.stop()
    filters.close()
    await metricsServer?.close()
    journal.close()
    await database.close()
    logger.info('node stopped')
  }
}

/** The genesis of this datadir: from --genesis, the dev genesis, or the copy saved at first start. */
function resolveGenesis(config: NodeConfig): GethGenesisFile {
  const saved = join(config.datadir, 'genesis.json')
  let genesis: GethGenesisFile
  if (config.genesis !== undefined) {
    let text: string
    try {
      text = readFileSync(config.genesis, 'utf8')
    } catch (error) {
      throw new CairnError('GENESIS_UNREADABLE', `cannot read --genesis ${config.genesis}: ${(error as Error).message}`)
    }
    try {
      genesis = parseGenesis(JSON.parse(text))
    } catch (error) {
      if (error instanceof CairnError) throw error
      throw new CairnError(
        'GENESIS_UNREADABLE',
        `--genesis ${config.genesis} is not valid JSON: ${(error as Error).message}`,
      )
    }
  } else if (existsSync(saved)) {
    genesis = parseGenesis(JSON.parse(readFileSync(saved, 'utf8')))
  } else if (config.dev) {
    genesis = devGenesis()
  } else {
    throw new CairnError(
      'NO_GENESIS',
      `no chain in ${config.datadir} and no genesis given: pass --genesis FILE, or --dev for a local dev chain`,
    )
  }
  if (!existsSync(saved)) writeFileSync(saved, `${JSON.stringify(genesis, null, 2)}\n`)
  return genesis
}

function registerChainMetrics(metrics: Registry, chain: ChainStore, mempool: Mempool): void {
  new Gauge({
    name: 'cairn_chain_head',
    help: 'Block number of each head',
    labelNames: ['head'],
    registers: [metrics],
    collect() {
      for (const head of ['latest', 'safe', 'finalized'] as const)
        this.set({ head }, Number(chain.head(head).header.number))
    },
  })
  new Gauge({
    name: 'cairn_txpool_transactions',
    help: 'Transactions in the mempool by state',
    labelNames: ['state'],
    registers: [metrics],
    collect() {
      const { pending, queued } = mempool.status()
      this.set({ state: 'pending' }, pending)
      this.set({ state: 'queued' }, queued)
    },
  })
}
