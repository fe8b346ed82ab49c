import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Common } from '@ethereumjs/common'
import { KECCAK256_RLP, bytesToHex, createAddressFromString } from '@ethereumjs/util'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { ConfigError, listening, metricsListenTarget, resolveL1Addresses } from '@cairn/config'
import { CallRunner, chainSubscriptionSource, createLogReader, createTraceService, ethMethods } from '@cairn/eth-api'
import {
  BlockExecutor,
  type SenderRecovery,
  createGenesisBlock,
  createSenderRecovery,
  defaultRecoveryThreads,
  nativeCustomCrypto,
} from '@cairn/executor'
import { Mempool, MempoolJournal } from '@cairn/mempool'
import {
  CairnError,
  EventLoopTurns,
  type GethGenesisFile,
  SerialLock,
  createChainCommon,
  devGenesis,
  isCairnError,
  parseGenesis,
} from '@cairn/primitives'
import { Derivation, DerivationStore, L1Watcher } from '@cairn/derivation'
import { createPublicClient, http } from 'viem'
import { FilterManager, type RpcMethods, type RpcServer, createRpcServer, filterMethods } from '@cairn/rpc'
import { Sequencer } from '@cairn/sequencer'
import { StateDB } from '@cairn/state'
import {
  Gauge,
  Histogram,
  type Logger,
  type Registry,
  createMetricsRegistry,
  startConfiguredMetricsServer,
} from '@cairn/telemetry'
import { type BasedProposer, type BasedSetup, checkBasedConfig, createBasedProposer } from './based.ts'
import { HeadStateReader } from './head-state-reader.ts'
import { createBlobFetcher, decodeBatchBlobs, unpackForcedInclusionBlob } from './l1-inputs.ts'
import { NodeP2P } from './p2p.ts'
import { witnessMethods } from './witness-rpc.ts'
import type { NodeConfig } from './settings.ts'

/**
 * A block being built or imported gives the event loop a turn every this many milliseconds, so
 * transactions keep being admitted (and RPC answered) while it executes, commits its state,
 * computes its roots and is written: a 1,000-transfer block stalled the node for ~0.4 s. Measured
 * with `bench/e2e.bench.ts` after a warm-up: 2 ms gave ~1,750 ETH transfers/s end to end, none
 * ~1,550–1,590 (docs/benchmarks.md).
 */
const BLOCK_TURN_MS = 2
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
    /** Settles when a part the node cannot run without fails while it runs; it should then stop. */
    readonly failure: Promise<Error>,
    private readonly parts: {
      database: NodeDatabase
      rpc: RpcServer
      sequencer: Sequencer | undefined
      derivation: Derivation | undefined
      journal: MempoolJournal
      senderRecovery: SenderRecovery
      filters: FilterManager
      metricsServer: { close(): Promise<void> } | undefined
      p2p: NodeP2P | undefined
      basedProposer: BasedProposer | undefined
      logger: Logger
    },
  ) {}

  static async start(config: NodeConfig, logger: Logger): Promise<CairnNode> {
    // --based checks its L1, Inbox and key settings before anything touches the datadir.
    const based = config.based ? checkBasedConfig(config, process.env) : undefined
    prepareDatadir(config.datadir)
    const genesis = resolveGenesis(config)
    const common = createChainCommon(genesis.file, nativeCustomCrypto())
    const database = await openDatabase(config.datadir)
    // What a failed start opened is closed again (newest first), so the process can exit.
    const opened: Array<() => unknown> = [() => database.close()]
    try {
      return await CairnNode.compose(config, logger, common, genesis, database, opened, based)
    } catch (error) {
      for (const close of opened.reverse())
        await Promise.resolve()
          .then(close)
          .catch(() => {})
      throw databaseFailure(config.datadir, error) ?? error
    }
  }

  private static async compose(
    config: NodeConfig,
    logger: Logger,
    common: Common,
    expected: ConfiguredGenesis,
    database: NodeDatabase,
    opened: Array<() => unknown>,
    based?: BasedSetup,
  ): Promise<CairnNode> {
    const metrics = createMetricsRegistry()
    const chain = new ChainStore(database, common, { writeStateAhead: true })
    const state = new StateDB(database.sublevel('state'), common)
    const genesis = await createGenesisBlock(common, expected.file, state.headState(KECCAK256_RLP))
    if (await chain.open()) {
      state.discardPending()
      // The chain id is not in the genesis block: it is checked against the genesis.json saved beside the chain.
      const stored = {
        hash: await chain.getCanonicalHash(0n).then((hash) => (hash === undefined ? 'none' : bytesToHex(hash))),
        chainId: expected.savedChainId,
      }
      if (
        stored.hash !== bytesToHex(genesis.hash()) ||
        (stored.chainId !== undefined && stored.chainId !== expected.file.config.chainId)
      )
        throw genesisMismatch(config.datadir, stored, { ...expected, hash: bytesToHex(genesis.hash()) })
      logger.info({ head: Number(chain.head().header.number), hash: bytesToHex(chain.head().hash()) }, 'opened chain')
    } else {
      // A chain was started here (its genesis.json is written only after its genesis block), and the
      // database LevelDB opened is empty: LevelDB dropped what it could not read. A new chain would
      // be written over the old one.
      if (database.existed && existsSync(join(config.datadir, 'genesis.json')))
        throw damagedDatabase(config.datadir, 'it has no chain head, though the datadir held a chain')
      await chain.initGenesis(genesis, state.pendingBatch())
      logger.info(
        { chainId: Number(common.chainId()), genesis: bytesToHex(genesis.hash()) },
        'initialized chain from genesis',
      )
    }
    // Kept only once the chain is known to be this genesis's, so later starts need no --genesis.
    const saved = join(config.datadir, 'genesis.json')
    if (!existsSync(saved)) writeFileSync(saved, `${JSON.stringify(expected.file, null, 2)}\n`)

    const senderRecovery = createSenderRecovery(config.senderRecoveryThreads ?? defaultRecoveryThreads(), (error) =>
      logger.warn(
        { err: error },
        'a sender-recovery worker failed; its share of recovery falls back to the main thread',
      ),
    )
    opened.push(() => senderRecovery.close())
    const turns = new EventLoopTurns(BLOCK_TURN_MS)
    const executor = await BlockExecutor.create({
      common,
      state: state.headState(chain.head().header.stateRoot, { turns }),
      blockHashes: chain,
      senderRecovery,
      turns,
    })
    const journal = new MempoolJournal(join(config.datadir, 'mempool.journal'))
    opened.push(() => journal.close())
    const mempool = new Mempool({
      common,
      baseFee: chain.head().header.calcNextBaseFee(),
      state: new HeadStateReader(chain, state),
      journal,
      recoverSenders: (txs) => senderRecovery.prime(txs),
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

    const lock = new SerialLock()
    const l1 = config.l1Rpc === undefined ? undefined : createPublicClient({ transport: http(config.l1Rpc) })
    const l1Addresses = l1 === undefined ? undefined : resolveL1Addresses(config)
    // Proposals are searched from here: the deployment's first block unless the operator says otherwise.
    const l1StartBlock = l1Addresses && (config.l1StartBlock ?? l1Addresses.startBlock ?? 0)
    const watcher =
      l1 === undefined
        ? undefined
        : new L1Watcher(l1, { anchorLag: config.l1AnchorLag, anchorInterval: config.l1AnchorInterval })
    const derivationStore = l1 === undefined ? undefined : new DerivationStore(database)
    const derivation =
      l1 === undefined || watcher === undefined
        ? undefined
        : new Derivation({
            common,
            chain,
            state,
            executor,
            lock,
            l1,
            watcher,
            inbox: l1Addresses!.inbox,
            blobs: createBlobFetcher({ ...config, l1Rpc: config.l1Rpc! }),
            decode: decodeBatchBlobs,
            unpackBlob: unpackForcedInclusionBlob,
            store: derivationStore!,
            logger: logger.child({ module: 'derivation' }),
            startL1Block: BigInt(l1StartBlock!),
            pollIntervalMs: config.l1PollInterval * 1000,
            // Transactions of dropped preconfirmed blocks (L1 replaced them, or their anchor expired)
            // go back to the pool (most are still valid), and every sender's state is re-read: the
            // chain under the pool moved back. Derivation waits for it before the sequencer builds again.
            onReorgedOut: (txs) =>
              mempool
                .revalidateAll()
                .then(() => Promise.allSettled(txs.map((tx) => mempool.add(tx))))
                .then(() => {})
                .catch((error) => logger.warn({ err: error }, 'mempool revalidation after an L1 reorg failed')),
            metrics,
          })

    const sequencing = config.dev || config.sequencer || config.based
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
          alsoHeads: config.dev && l1 === undefined ? ['safe', 'finalized'] : [],
          lock,
          anchor: watcher === undefined ? undefined : () => watcher.anchor(),
        })
      : undefined
    // --based: the node also proposes its own blocks to L1 (based.ts).
    const basedProposer =
      based === undefined ? undefined : await createBasedProposer({ setup: based, config, chain, logger, metrics })

    // Assigned before the RPC listens; the RPC reads it lazily (peer count, gossip of sent transactions).
    let p2p: NodeP2P | undefined
    const calls = new CallRunner(common, state, chain, BigInt(config.rpcGasCap), config.rpcEvmTimeout * 1000)
    const subscriptions = chainSubscriptionSource(chain, mempool)
    const logLimits = { maxLogBlockRange: config.rpcLogRange, maxLogResults: config.rpcLogResults }
    const filters = new FilterManager({ source: subscriptions, getLogs: createLogReader(chain, logLimits) })
    opened.push(() => filters.close())
    const methods: RpcMethods = {
      ...ethMethods({
        common,
        chain,
        state,
        mempool,
        calls,
        clientVersion: CLIENT_VERSION,
        limits: { ...logLimits, maxFeeHistoryBlocks: 1024 },
        traces: createTraceService(chain, calls),
        peerCount: () => p2p?.peerCount() ?? 0,
        // Ether to wei, to the gwei (the setting is a float, as geth's).
        txFeeCap: BigInt(Math.round(config.rpcTxFeeCap * 1e9)) * 10n ** 9n,
        txSyncTimeoutMs: {
          default: Math.round(config.rpcTxSyncDefaultTimeout * 1000),
          max: Math.round(config.rpcTxSyncMaxTimeout * 1000),
        },
      }),
      ...filterMethods(filters),
      cairn_syncStatus: () => syncStatus(chain, derivation),
      cairn_p2pStatus: () => p2p?.status() ?? null,
      ...witnessMethods({
        common,
        chain,
        state,
        batches: derivationStore,
        logger: logger.child({ module: 'witness' }),
      }),
    }
    // Transactions the RPC admitted are gossiped, so a follower's users reach the sequencer.
    const sendRaw = methods.eth_sendRawTransaction!
    methods.eth_sendRawTransaction = async (params, ctx) => {
      const hash = (await sendRaw(params, ctx)) as `0x${string}`
      // The pool's copy of the bytes: the hex parameter is not decoded a second time.
      const raw = p2p === undefined ? undefined : mempool.rawTransaction(hash)
      if (raw !== undefined) p2p?.publishTransaction(raw)
      return hash
    }
    const rpcSeconds = new Histogram({
      name: 'cairn_rpc_request_seconds',
      help: 'JSON-RPC call latency by method and outcome',
      labelNames: ['method', 'outcome'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [metrics],
    })
    registerChainMetrics(metrics, chain, mempool)
    let reportFailure!: (error: Error) => void
    const failure = new Promise<Error>((resolve) => {
      reportFailure = resolve
    })
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
      thread: config.rpcThread,
      // Answered on the RPC thread, so a poll of the head does not wait for a block being built.
      frontEndMethods: ['eth_blockNumber', 'eth_chainId', 'net_version'],
      onThreadFailure: (error) =>
        reportFailure(
          new CairnError('RPC_THREAD_FAILED', `the JSON-RPC front-end thread failed: ${error.message}`, {
            cause: error,
          }),
        ),
    })
    opened.push(() => rpc.close())
    opened.push(chain.onHeadChange(() => rpc.refreshFrontEndAnswers()))
    if (config.p2pEnabled) {
      const target = {
        host: config.p2pAddr,
        port: config.p2pPort,
        addrSetting: '--p2p.addr',
        portSetting: '--p2p.port',
      }
      p2p = await listening({ service: 'p2p', ...target }, () =>
        NodeP2P.start({
          config,
          logger,
          metrics,
          common,
          chain,
          state,
          executor,
          mempool,
          lock,
          sequencing,
          l1,
          inbox: l1Addresses?.inbox,
        }),
      )
      const started = p2p
      opened.push(() => started.stop())
    }
    const metricsServer = await listening(metricsListenTarget(config), () =>
      startConfiguredMetricsServer(metrics, config),
    )
    if (metricsServer !== undefined) opened.push(() => metricsServer.close())
    // The RPC answers only once p2p and metrics are up: tools (the devnet among them) take an answering
    // node as a started one, and read its p2p identity from cairn_p2pStatus at once.
    const rpcTarget =
      config.wsPort === undefined
        ? { port: config.httpPort, portSetting: '--http.port' }
        : { port: `${config.httpPort} or ${config.wsPort}`, portSetting: '--http.port or --ws.port' }
    const { httpUrl, wsUrl } = await listening(
      { service: 'JSON-RPC', host: config.httpAddr, addrSetting: '--http.addr', ...rpcTarget },
      () => rpc.listen(),
    )
    derivation?.start()
    sequencer?.start()
    basedProposer?.start()
    if (!sequencing && derivation === undefined && p2p === undefined)
      logger.warn('neither --sequencer, --dev, --l1.rpc nor p2p: the node serves its stored chain and does not advance')
    logger.info(
      {
        http: httpUrl,
        ws: wsUrl,
        metrics: metricsServer?.url,
        chainId: Number(common.chainId()),
        sequencer: sequencing,
        based: config.based,
        senderRecoveryThreads: senderRecovery.threads,
        ...(l1Addresses && { inbox: l1Addresses.inbox, l1StartBlock }),
      },
      'node started',
    )
    return new CairnNode({ http: httpUrl, ws: wsUrl, metrics: metricsServer?.url }, failure, {
      database,
      rpc,
      sequencer,
      derivation,
      journal,
      senderRecovery,
      filters,
      metricsServer,
      logger,
      p2p,
      basedProposer,
    })
  }

  /** Stops serving, lets the block in progress land, then closes storage. */
  async stop(): Promise<void> {
    const { rpc, sequencer, derivation, journal, senderRecovery, filters, metricsServer, database, logger, p2p } =
      this.parts
    const { basedProposer } = this.parts
    await rpc.close()
    await basedProposer?.stop()
    await sequencer?.stop()
    await derivation?.stop()
    await p2p?.stop()
    await senderRecovery.close()
    filters.close()
    await metricsServer?.close()
    journal.close()
    await database.close()
    logger.info('node stopped')
  }
}

/** The genesis a node is started with, and the setting it comes from (for the error when a datadir disagrees). */
interface ConfiguredGenesis {
  file: GethGenesisFile
  /** `--genesis FILE`, `--dev`, or the datadir's `genesis.json`. */
  origin: string
  /** The chain id of the genesis.json the datadir saved at its first start, if it has one. */
  savedChainId: number | undefined
}

/**
 * The genesis this start asks for: `--genesis FILE`, else with `--dev` the dev genesis, else the copy the
 * datadir saved at its first start. A datadir's chain must then be this genesis's (GENESIS_MISMATCH): `--dev`
 * on a datadir of another chain is refused, not served as the stored chain.
 */
function resolveGenesis(config: NodeConfig): ConfiguredGenesis {
  const saved = join(config.datadir, 'genesis.json')
  // Read (and refused if damaged) before the database is opened, whatever the start asks for.
  const savedGenesis = readSavedGenesis(config.datadir)
  const savedChainId = savedGenesis?.config.chainId
  if (config.genesis !== undefined) {
    const origin = `--genesis ${config.genesis}`
    // A bad --genesis is a bad setting (exit code 2), as it is for cairn-prover-tee.
    const file = readGenesisFile(config.genesis, (kind, problem) => {
      const hint = kind === 'unreadable' ? 'check the path' : "give the chain's genesis file (geth's format)"
      return new ConfigError(`${origin} ${problem}; ${hint}`)
    })
    return { file, origin, savedChainId }
  }
  if (config.dev) return { file: devGenesis(), origin: '--dev', savedChainId }
  if (savedGenesis !== undefined) return { file: savedGenesis, origin: saved, savedChainId }
  throw new CairnError(
    'NO_GENESIS',
    `no chain in ${config.datadir} and no genesis given: pass --genesis FILE, or --dev for a local dev chain`,
  )
}

/**
 * A genesis file, or the error `refuse` makes of what is wrong with it: `problem` follows the file's name,
 * "cannot be read: ...", "is not valid JSON (...)" or "is not a valid genesis: ...".
 */
function readGenesisFile(
  path: string,
  refuse: (kind: 'unreadable' | 'not-json' | 'invalid', problem: string) => CairnError,
): GethGenesisFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : oneLine(error)
    throw refuse('unreadable', `cannot be read: ${reason}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw refuse('not-json', `is not valid JSON (${oneLine(error)})`)
  }
  try {
    return parseGenesis(value)
  } catch (error) {
    if (!(error instanceof CairnError)) throw error
    throw refuse('invalid', `is not a valid genesis: ${error.message}`)
  }
}

/**
 * The genesis.json a datadir saved at its first start; undefined if it has none. It records which chain
 * the datadir holds (the chain id is not in the genesis block), so one that cannot be read stops the start
 * rather than being ignored or replaced.
 */
function readSavedGenesis(datadir: string): GethGenesisFile | undefined {
  const saved = join(datadir, 'genesis.json')
  if (!existsSync(saved)) return undefined
  return readGenesisFile(
    saved,
    (_kind, problem) =>
      new CairnError(
        'SAVED_GENESIS_CORRUPT',
        `the datadir's ${saved} ${problem}; it records which chain the datadir holds: restore it from a backup, or remove it and start with --genesis FILE (the chain's genesis file) to write it again`,
        { details: { datadir } },
      ),
  )
}

/**
 * Makes the datadir, or refuses one this user cannot use: a file, a path that cannot be made, or a
 * directory (or the chain database and mempool journal in it) this user cannot write.
 */
function prepareDatadir(datadir: string): void {
  const unusable = (reason: string, error?: unknown) =>
    new CairnError('DATADIR_UNUSABLE', `cannot use --datadir ${datadir}: ${reason}`, {
      cause: error,
      details: { datadir },
    })
  let isDirectory: boolean | undefined
  try {
    isDirectory = statSync(datadir, { throwIfNoEntry: false })?.isDirectory()
  } catch (error) {
    throw unusable(`${oneLine(error)}; choose another --datadir`, error)
  }
  if (isDirectory === false) throw unusable('it is a file, not a directory; choose another --datadir')
  try {
    mkdirSync(datadir, { recursive: true })
  } catch (error) {
    throw unusable(`cannot create it (${oneLine(error)}); create it for this user, or choose another --datadir`, error)
  }
  for (const path of [datadir, join(datadir, 'chaindata'), join(datadir, 'mempool.journal')]) {
    if (!existsSync(path)) continue
    try {
      accessSync(path, constants.R_OK | constants.W_OK)
    } catch (error) {
      const user = process.getuid?.() === undefined ? 'this user' : `this user (uid ${process.getuid()})`
      throw unusable(
        `${path} is not writable by ${user}; give the user write access to the datadir (chown, chmod), or choose another --datadir`,
        error,
      )
    }
  }
}

/** The datadir's chain database; a lock or damage is told in terms of the datadir and what to do. */
async function openDatabase(datadir: string): Promise<NodeDatabase> {
  const path = join(datadir, 'chaindata')
  try {
    return await NodeDatabase.open(path)
  } catch (error) {
    if (isCairnError(error, 'DATADIR_LOCKED'))
      throw new CairnError(
        'DATADIR_LOCKED',
        `the datadir ${datadir} is in use by another process (its database ${path} is locked): stop the other cairn node, or choose another --datadir`,
        { cause: error, details: { datadir } },
      )
    if (isCairnError(error, 'DATABASE_CORRUPT'))
      throw damagedDatabase(datadir, error.message.replace(/^.*? is damaged: /, ''), error)
    if (isCairnError(error, 'DATABASE_OPEN_FAILED'))
      throw new CairnError(
        'DATABASE_OPEN_FAILED',
        `${error.message}; check the disk and the owner and permissions of ${path} and its files, or choose another --datadir`,
        { cause: error, details: { datadir } },
      )
    throw error
  }
}

/** DATABASE_CORRUPT: the node never starts a new chain over a damaged one; the operator chooses. */
function damagedDatabase(datadir: string, reason: string, cause?: unknown): CairnError {
  return new CairnError(
    'DATABASE_CORRUPT',
    `the chain database in the datadir ${datadir} is damaged (${reason}); the node does not start a new chain over it: restore the datadir from a backup, or start over with another --datadir (or remove ${join(datadir, 'chaindata')}) and sync the chain again`,
    { cause, details: { datadir } },
  )
}

/**
 * A read of the chain database at start that LevelDB refused (a damaged table: LEVEL_CORRUPTION; a
 * file it cannot read: LEVEL_IO_ERROR) or the chain store found inconsistent (CHAIN_CORRUPT), as the
 * operator's error naming the datadir; undefined for anything else.
 */
function databaseFailure(datadir: string, error: unknown): CairnError | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === 'LEVEL_CORRUPTION') return damagedDatabase(datadir, oneLine(error), error)
  // The chain store's own finding: a head whose block is not in the database.
  if (code === 'CHAIN_CORRUPT') return damagedDatabase(datadir, oneLine(error).replace(/;.*$/, ''), error)
  if (code === 'LEVEL_IO_ERROR')
    return new CairnError(
      'DATABASE_IO_ERROR',
      `cannot read the chain database in the datadir ${datadir} (${oneLine(error)}); check the disk and the files' owner and permissions, and if a file is damaged, restore the datadir from a backup or start over with another --datadir`,
      { cause: error, details: { datadir } },
    )
  return undefined
}

/** An error's message on one line (JSON.parse's quotes the input, newlines included). */
function oneLine(error: unknown): string {
  return String((error as Error).message ?? error)
    .replace(/\s*\n\s*/g, ' ')
    .trim()
}

/** GENESIS_MISMATCH: both genesis hashes and chain ids, and what the operator can do about it. */
function genesisMismatch(
  datadir: string,
  stored: { hash: string; chainId: number | undefined },
  expected: ConfiguredGenesis & { hash: string },
): CairnError {
  const saved = join(datadir, 'genesis.json')
  const keep =
    stored.chainId !== undefined && expected.origin !== saved
      ? `, or start with --genesis ${saved} to serve the chain it holds`
      : ''
  return new CairnError(
    'GENESIS_MISMATCH',
    `the datadir ${datadir} holds a chain with genesis ${stored.hash} (chain id ${stored.chainId ?? 'unknown'}), but ${expected.origin} asks for genesis ${expected.hash} (chain id ${expected.file.config.chainId}); use another --datadir, or remove ${datadir} to start over${keep}`,
    {
      details: {
        storedGenesis: stored.hash,
        storedChainId: stored.chainId,
        expectedGenesis: expected.hash,
        expectedChainId: expected.file.config.chainId,
      },
    },
  )
}

/** `cairn_syncStatus`: what L1 the node has seen and derived, and its L2 heads (like op-node's sync status). */
function syncStatus(chain: ChainStore, derivation: Derivation | undefined) {
  const l2 = (name: 'latest' | 'safe' | 'finalized') => {
    const header = chain.head(name).header
    return { number: Number(header.number), hash: bytesToHex(header.hash()), timestamp: Number(header.timestamp) }
  }
  const l1 = (pointer: { number: bigint; hash: Uint8Array } | undefined) =>
    pointer === undefined ? null : { number: Number(pointer.number), hash: bytesToHex(pointer.hash) }
  const status = derivation?.status()
  const verified = status?.verified
  return {
    l1Head: l1(status?.l1Head),
    l1Finalized: l1(status?.l1Finalized),
    l1Derived: l1(status?.l1Derived),
    latest: l2('latest'),
    safe: l2('safe'),
    finalized: l2('finalized'),
    verified:
      verified === undefined
        ? null
        : {
            number: Number(verified.number),
            hash: bytesToHex(verified.hash),
            stateRoot: bytesToHex(verified.stateRoot),
          },
  }
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
