import { readFileSync } from 'node:fs'
import { type Block, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { bytesToHex, hexToBytes } from '@ethereumjs/util'
import { type ChainStore, encodeBlock } from '@cairn/chain'
import type { BlockExecutor } from '@cairn/executor'
import { type Mempool, MempoolErrorCode, isMempoolError } from '@cairn/mempool'
import {
  P2PService,
  type SignedBlock,
  type TxPoolView,
  type ValidationResult,
  readBlockHeader,
  recoverPreconfSigner,
  signPreconfBlock,
} from '@cairn/p2p'
import { CairnError, DEV_ACCOUNTS, type SerialLock } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import type { Logger, Registry } from '@cairn/telemetry'
import { privateKeyToAddress } from 'viem/accounts'
import type { PublicClient } from 'viem'
import { PRECONF_KEY_ENV } from './p2p-settings.ts'
import { PreconfImporter } from './preconf-import.ts'
import { type PreconferSet, l1Preconfers, staticPreconfers } from './preconfers.ts'
import type { NodeConfig } from './settings.ts'

/**
 * Mempool refusals that are wrong on every node (encoding, signature, chain id, intrinsic limits):
 * the peer that forwarded such a transaction did not validate it, so it loses score. Everything
 * else (nonce, balance, price, pool limits, already known) depends on this node's state and is
 * ignored: not forwarded, not punished.
 */
const INVALID_EVERYWHERE = new Set<string>([
  MempoolErrorCode.InvalidEncoding,
  MempoolErrorCode.TxTypeNotSupported,
  MempoolErrorCode.OversizedData,
  MempoolErrorCode.UnprotectedTx,
  MempoolErrorCode.InvalidChainId,
  MempoolErrorCode.InvalidSender,
  MempoolErrorCode.IntrinsicGasTooLow,
  MempoolErrorCode.FloorDataGasTooLow,
  MempoolErrorCode.GasLimitExceeded,
  MempoolErrorCode.TipAboveFeeCap,
  MempoolErrorCode.MaxInitCodeSizeExceeded,
  MempoolErrorCode.EmptyAuthorizationList,
  MempoolErrorCode.SetCodeTxCreate,
])

export interface NodeP2PParts {
  config: NodeConfig
  logger: Logger
  metrics: Registry
  common: Common
  chain: ChainStore
  state: StateDB
  executor: BlockExecutor
  mempool: Mempool
  lock: SerialLock
  /** This node builds blocks: it signs and gossips them, and does not import others' blocks. */
  sequencing: boolean
  l1: PublicClient | undefined
  inbox: `0x${string}` | undefined
}

/** The node's p2p side, composed: the service, the follower's importer, and the sequencer's publisher. */
export class NodeP2P {
  private constructor(
    readonly service: P2PService,
    private readonly importer: PreconfImporter | undefined,
    private readonly preconfers: PreconferSet,
    private readonly unsubscribe: () => void,
    private readonly logger: Logger,
  ) {}

  static async start(parts: NodeP2PParts): Promise<NodeP2P> {
    const { config, chain, mempool, common, sequencing } = parts
    const logger = parts.logger.child({ module: 'p2p' })
    const chainId = common.chainId()
    const preconfers: PreconferSet =
      parts.l1 !== undefined && parts.inbox !== undefined
        ? l1Preconfers(parts.l1, parts.inbox, logger, config.p2pWhitelistRefresh * 1000)
        : staticPreconfers(config.p2pPreconfer)
    const signingKey = sequencing ? preconfKey(config, logger) : undefined
    // A checked block is imported from the check's decoding: a gossiped block is decoded once.
    const checkedBlocks = new WeakMap<SignedBlock, Block>()
    const checkBlock = preconfBlockCheck({ common, chain, preconfers, logger, checkedBlocks })

    let importer: PreconfImporter | undefined
    const service = await P2PService.create({
      datadir: config.datadir,
      listenAddress: config.p2pAddr,
      port: config.p2pPort,
      bootnodes: config.bootnodes,
      maxPeers: config.p2pMaxPeers,
      chainId,
      logger,
      metrics: parts.metrics,
      validators: {
        async transaction(raw): Promise<ValidationResult> {
          // Admission to the pool is the validation: decode, signature, chain id, size, then nonce
          // and balance against the local head. Accepted transactions are in the pool when forwarded.
          try {
            await mempool.addRaw(raw)
            return 'accept'
          } catch (error) {
            if (isMempoolError(error) && INVALID_EVERYWHERE.has(error.code)) return 'reject'
            return 'ignore'
          }
        },
        block: checkBlock,
      },
      reannounce: { ageMs: config.p2pTxReannounceAge * 1000 },
    })

    if (!sequencing) {
      importer = new PreconfImporter({
        common,
        chain,
        state: parts.state,
        executor: parts.executor,
        mempool,
        lock: parts.lock,
        p2p: service,
        verify: checkBlock,
        checkedBlocks,
        logger,
        metrics: parts.metrics,
      })
      const follower = importer
      service.onBlock((signed, from) => follower.enqueue(signed, from.toString()))
      // A node that starts late, reconnects or missed a block asks for the head, so it catches up now,
      // not when the next block is gossiped: when a peer joins the block topic, and after a quiet spell.
      service.onBlockTopicPeer((peer) => void follower.syncFrom(peer.toString(), 'joined'))
      follower.startIdleChecks()
    }
    const signedHead =
      signingKey === undefined ? importer?.signedHead.bind(importer) : ownSignedHead(chain, signingKey, chainId)
    service.serveBlocks({
      async byNumber(number) {
        return (await chain.getBlockByNumber(number))?.block.serialize()
      },
      async byHash(hash) {
        return (await chain.getBlockRecord(hash))?.block.serialize()
      },
      signedHead: async (after) => canonicalAbove(chain, signedHead?.(), after),
    })
    service.serveTransactions(poolView(mempool, chain, () => (importer?.backlog ?? 0) > 0))

    // A sequencer signs and gossips every block that becomes latest on its node.
    const unsubscribe =
      signingKey === undefined
        ? () => {}
        : chain.onHeadChange(({ added }) => {
            for (const record of added) {
              const sealedAt = Date.now()
              const hash = record.block.hash()
              const signed = signPreconfBlock(encodeBlock(record.block), hash, signingKey, chainId)
              service.publishBlock(signed).then(
                (peers) =>
                  logger.info(
                    { number: Number(record.block.header.number), peers, sealedAt, publishedAt: Date.now() },
                    'published preconfirmed block',
                  ),
                (error) => logger.warn({ err: error }, 'publishing a preconfirmed block failed'),
              )
            }
          })

    const p2p = new NodeP2P(service, importer, preconfers, unsubscribe, logger)
    try {
      await service.start()
    } catch (error) {
      await p2p.stop().catch(() => {})
      throw error
    }
    logger.info(
      {
        peerId: service.peerId.toString(),
        addresses: service.multiaddrs(),
        preconfers: preconfers.describe(),
        signer: signingKey === undefined ? undefined : privateKeyToAddress(bytesToHex(signingKey)),
      },
      'p2p ready',
    )
    return p2p
  }

  /** Gossips a transaction this node's RPC admitted to its pool. */
  publishTransaction(raw: Uint8Array): void {
    this.service.publishTransaction(raw).catch((error) => {
      this.logger.debug({ err: error }, 'gossiping a transaction failed')
    })
  }

  peerCount(): number {
    return this.service.peerCount()
  }

  /** `cairn_p2pStatus`: this node's identity, addresses, peers with scores, and bans. */
  status() {
    return {
      peerId: this.service.peerId.toString(),
      addresses: this.service.multiaddrs(),
      peers: this.service.peers(),
      banned: this.service.bannedPeers(),
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe()
    this.preconfers.close?.()
    // Idle checks stop at once; blocks already queued finish after the service stops.
    const imported = this.importer?.stop()
    await this.service.stop()
    await imported
  }
}

/**
 * The gossip check of a preconfirmed block (also applied to a head a peer gives when asked): the
 * signature must recover to an allowed preconfer and the block decode for this chain. `reject`
 * only what is wrong everywhere; a block L1 already settled, or a preconfer set not known yet, is `ignore`.
 */
function preconfBlockCheck(deps: {
  common: Common
  chain: ChainStore
  preconfers: PreconferSet
  logger: Logger
  /** Where each accepted block's decoding is kept for its import. */
  checkedBlocks: WeakMap<SignedBlock, Block>
}): (signed: SignedBlock) => Promise<ValidationResult> {
  const { common, chain, preconfers, logger, checkedBlocks } = deps
  const chainId = common.chainId()
  return async (signed) => {
    let header: ReturnType<typeof readBlockHeader>
    let signer: string
    try {
      header = readBlockHeader(signed.block)
      signer = recoverPreconfSigner(signed, header.hash, chainId)
    } catch {
      return 'reject'
    }
    const allowed = await preconfers.allows(signer)
    if (allowed === undefined) return 'ignore'
    if (!allowed) {
      logger.debug({ signer, number: Number(header.number) }, 'preconfirmed block signed by a non-preconfer')
      return 'reject'
    }
    let block: Block
    try {
      block = createBlockFromRLP(signed.block, { common, setHardfork: false })
    } catch {
      return 'reject' // signed, but not a block of this chain: whoever forwarded it did not check
    }
    // Already stale here (L1 settled that height): do not spread it further.
    if (header.number <= chain.head('safe').header.number) return 'ignore'
    checkedBlocks.set(signed, block)
    return 'accept'
  }
}

/** A sequencer's head for peers that ask: its latest block, signed on demand (once per block). */
function ownSignedHead(chain: ChainStore, key: Uint8Array, chainId: bigint): () => SignedBlock {
  let cached: SignedBlock | undefined
  let cachedHash = ''
  return () => {
    const latest = chain.head('latest')
    const hash = latest.hash()
    if (cached === undefined || cachedHash !== bytesToHex(hash)) {
      cached = signPreconfBlock(encodeBlock(latest), hash, key, chainId)
      cachedHash = bytesToHex(hash)
    }
    return cached
  }
}

/** `signed` if it is above `after` and still on this node's canonical chain (derivation may have replaced it). */
async function canonicalAbove(
  chain: ChainStore,
  signed: SignedBlock | undefined,
  after: bigint,
): Promise<SignedBlock | undefined> {
  if (signed === undefined) return undefined
  const { number, hash } = readBlockHeader(signed.block)
  if (number <= after) return undefined
  const canonical = await chain.getCanonicalHash(number)
  return canonical !== undefined && bytesToHex(canonical) === bytesToHex(hash) ? signed : undefined
}

/** The mempool as the p2p service sees it: pending hashes to re-announce, raw transactions to serve, and what is known. */
function poolView(mempool: Mempool, chain: ChainStore, lagging: () => boolean): TxPoolView {
  return {
    lagging,
    pendingHashes: () => mempool.pendingHashes(),
    rawTransaction: (hash) => mempool.rawTransaction(hash),
    // Included already counts as known: a peer whose latest block is not this node's yet (a lagging one
    // announces nothing) announces what this node has just included.
    knows: async (hash) => mempool.has(hash) || (await chain.getTransactionLocation(hash)) !== undefined,
  }
}

/** The sequencer's preconfirmation key: env CAIRN_PRECONF_KEY, --p2p.preconf-key-file, or (--dev only) dev account 0. */
function preconfKey(config: NodeConfig, logger: Logger): Uint8Array | undefined {
  const fromEnv = process.env[PRECONF_KEY_ENV]
  let hex: string | undefined
  let source: string
  if (fromEnv !== undefined && fromEnv !== '') {
    hex = fromEnv
    source = `env ${PRECONF_KEY_ENV}`
  } else if (config.p2pPreconfKeyFile !== undefined) {
    try {
      hex = readFileSync(config.p2pPreconfKeyFile, 'utf8')
    } catch (error) {
      throw new CairnError(
        'PRECONF_KEY_UNREADABLE',
        `cannot read --p2p.preconf-key-file ${config.p2pPreconfKeyFile}: ${(error as Error).message}`,
      )
    }
    source = `--p2p.preconf-key-file ${config.p2pPreconfKeyFile}`
  } else if (config.dev) {
    logger.warn('no preconfirmation key: --dev signs blocks with dev account 0 (publicly known; dev chains only)')
    return hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
  } else {
    logger.warn(
      'no preconfirmation key (env CAIRN_PRECONF_KEY or --p2p.preconf-key-file): sequenced blocks are not gossiped',
    )
    return undefined
  }
  const trimmed = hex.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    throw new CairnError('PRECONF_KEY_INVALID', `the preconfirmation key from ${source} is not 32 bytes of hex`)
  }
  return hexToBytes(`0x${trimmed}`)
}
