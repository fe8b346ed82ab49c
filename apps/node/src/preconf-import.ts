import { type Block, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { bytesToHex, equalsBytes } from '@ethereumjs/util'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import type { BlockExecutor } from '@cairn/executor'
import type { Mempool } from '@cairn/mempool'
import type { P2PService } from '@cairn/p2p'
import { CairnError, type SerialLock } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { Counter, Histogram, type Logger, type Registry } from '@cairn/telemetry'

export interface PreconfImporterOptions {
  common: Common
  chain: ChainStore
  state: StateDB
  executor: BlockExecutor
  mempool: Mempool
  /** The lock the sequencer and derivation hold while they move the head state. */
  lock: SerialLock
  p2p: Pick<P2PService, 'requestBlocksByRange' | 'penalizePeer' | 'peers'>
  logger: Logger
  metrics: Registry
  /** Most blocks one catch-up fetches before giving up (default 8,192). */
  maxCatchUpBlocks?: number
}

const RANGE = 64n

/**
 * A follower's side of preconfirmation: executes gossiped blocks (already checked to carry the
 * preconfer's signature) on their parent and makes them `latest`. A block whose parent is unknown
 * starts a catch-up: the missing ancestors are fetched by range from the peer that sent it,
 * newest first, each range anchored by hash to the signed block, then executed oldest first.
 * Blocks at or below the safe head are left to derivation: L1 decides there.
 */
export class PreconfImporter {
  private queue: Promise<void> = Promise.resolve()
  private readonly importSeconds: Histogram<'source'>
  private readonly results: Counter<'source' | 'result'>
  private readonly maxCatchUp: bigint

  constructor(private readonly options: PreconfImporterOptions) {
    const registers = [options.metrics]
    this.importSeconds = new Histogram({
      name: 'cairn_p2p_block_import_seconds',
      help: 'Time from a preconfirmed block arriving to it becoming latest, by source (gossip, sync)',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    })
    this.results = new Counter({
      name: 'cairn_p2p_block_imports_total',
      help: 'Preconfirmed blocks processed by a follower, by source and result',
      labelNames: ['source', 'result'],
      registers,
    })
    this.maxCatchUp = BigInt(options.maxCatchUpBlocks ?? 8_192)
  }

  /** Queues a gossiped, signature-checked block; blocks are imported one at a time in arrival order. */
  enqueue(blockRlp: Uint8Array, from: string): void {
    const receivedAt = performance.now()
    this.queue = this.queue
      .then(() => this.importSigned(blockRlp, from, receivedAt))
      .catch((error) => this.options.logger.warn({ err: error, peer: from }, 'preconfirmed block not imported'))
  }

  /** Resolves once every queued block has been handled (for shutdown). */
  idle(): Promise<void> {
    return this.queue
  }

  decode(blockRlp: Uint8Array): Block {
    return createBlockFromRLP(blockRlp, { common: this.options.common, setHardfork: false })
  }

  private async importSigned(blockRlp: Uint8Array, from: string, receivedAt: number): Promise<void> {
    const { chain, logger } = this.options
    const block = this.decode(blockRlp)
    const number = block.header.number
    if ((await chain.getBlockRecord(block.hash())) !== undefined) return this.count('gossip', 'known')
    if (number <= chain.head('safe').header.number) return this.count('gossip', 'below-safe')
    if ((await chain.getBlockRecord(block.header.parentHash)) === undefined) {
      // Ask the peer that sent it first, then the others: a forwarder may itself lack the ancestors.
      const others = this.options.p2p.peers().map((p) => p.peerId)
      let fetched = false
      for (const peer of [from, ...others.filter((p) => p !== from)].slice(0, 4)) {
        try {
          fetched = await this.catchUp(peer, block)
        } catch (error) {
          logger.warn({ err: error, peer }, 'catch-up from peer failed')
        }
        if (fetched) break
      }
      if (!fetched) return this.count('gossip', 'orphan')
    }
    await this.importBlock(block, 'gossip')
    const ms = performance.now() - receivedAt
    this.importSeconds.observe({ source: 'gossip' }, ms / 1000)
    logger.info(
      {
        number: Number(number),
        hash: bytesToHex(block.hash()),
        txs: block.transactions.length,
        ms: Math.round(ms * 10) / 10,
        receivedAt: performance.timeOrigin + receivedAt,
      },
      'imported preconfirmed block',
    )
  }

  /**
   * Fetches the ancestors of `target` that this node lacks from `peer` and imports them. Returns
   * false when the peer could not supply a chain that connects to ours above the safe head.
   */
  private async catchUp(peer: string, target: Block): Promise<boolean> {
    const { chain, p2p, logger } = this.options
    const segments: Block[][] = []
    let wantHash = target.header.parentHash
    let end = target.header.number - 1n
    let fetched = 0n
    const latest = chain.head('latest').header.number
    const safe = chain.head('safe').header.number
    while ((await chain.getBlockRecord(wantHash)) === undefined) {
      if (end <= safe || fetched >= this.maxCatchUp) {
        logger.warn(
          { peer, target: Number(target.header.number), fetched: Number(fetched), safe: Number(safe) },
          'catch-up does not connect to the local chain above the safe head; waiting for L1 or another peer',
        )
        return false
      }
      // First try only the gap above our head; walk further back when our head is on another branch.
      const floor = end > latest ? latest + 1n : safe + 1n
      const start = end - RANGE + 1n > floor ? end - RANGE + 1n : floor
      const raws = await p2p.requestBlocksByRange(peer, start, Number(end - start + 1n))
      if (raws.length !== Number(end - start + 1n)) {
        logger.warn(
          { peer, from: Number(start), asked: Number(end - start + 1n), got: raws.length },
          'peer does not have the blocks a preconfirmed block builds on',
        )
        return false
      }
      const blocks = raws.map((raw) => this.decode(raw))
      const last = blocks[blocks.length - 1] as Block
      if (!equalsBytes(last.hash(), wantHash)) {
        // The range is linked (the service checks parent hashes), but not to the signed block.
        p2p.penalizePeer(peer, 'bad-response')
        throw new CairnError(
          'P2P_SYNC_MISMATCH',
          `peer ${peer} served block ${end} as ${bytesToHex(last.hash())}, but the preconfirmed chain has ${bytesToHex(wantHash)}`,
        )
      }
      segments.unshift(blocks)
      fetched += BigInt(blocks.length)
      wantHash = (blocks[0] as Block).header.parentHash
      end = start - 1n
    }
    logger.info(
      { peer, from: Number(end + 1n), to: Number(target.header.number - 1n), blocks: Number(fetched) },
      'catching up over req/resp',
    )
    for (const segment of segments) {
      for (const block of segment) {
        if ((await chain.getBlockRecord(block.hash())) !== undefined) continue
        const started = performance.now()
        try {
          await this.importBlock(block, 'sync')
        } catch (error) {
          p2p.penalizePeer(peer, 'bad-response')
          throw error
        }
        this.importSeconds.observe({ source: 'sync' }, (performance.now() - started) / 1000)
      }
    }
    return true
  }

  /** Executes `block` on its stored parent under the head lock and makes it latest. */
  private async importBlock(block: Block, source: 'gossip' | 'sync'): Promise<void> {
    const { chain, state, executor, mempool, lock, logger } = this.options
    const removed = await lock.run(async () => {
      const parent = await chain.getBlockRecord(block.header.parentHash)
      if (parent === undefined) {
        throw new CairnError('UNKNOWN_PARENT', `block ${block.header.number} builds on an unknown parent`)
      }
      if ((await chain.getBlockRecord(block.hash())) !== undefined) return []
      if (block.header.number <= chain.head('safe').header.number) return []
      let executed: Awaited<ReturnType<BlockExecutor['import']>>
      try {
        executed = await executor.import(parent.block, block)
      } catch (error) {
        state.discardPending()
        await executor.state.setStateRoot(chain.head('latest').header.stateRoot)
        this.count(source, 'invalid')
        throw error
      }
      const record: BlockRecord = { block, receipts: executed.receipts, senders: executed.senders }
      try {
        if (equalsBytes(block.header.parentHash, chain.head('latest').hash())) {
          await chain.appendBlock(record, state.pendingBatch())
          return []
        }
        // The preconfer replaced blocks we had (or we were on a branch): the newest signed block wins.
        await chain.putBlock(record, state.pendingBatch())
        const change = await chain.setLatest(block.hash())
        logger.warn(
          { number: Number(block.header.number), removed: change.removed.length },
          'preconfirmed block replaced local blocks',
        )
        return change.removed
      } catch (error) {
        state.discardPending()
        await executor.state.setStateRoot(chain.head('latest').header.stateRoot)
        throw error
      }
    })
    this.count(source, 'imported')
    if (removed.length > 0) {
      await mempool.revalidateAll()
      await Promise.allSettled(removed.flatMap((r) => r.block.transactions).map((tx) => mempool.add(tx)))
    }
    await mempool.onNewHead({
      baseFee: block.header.baseFeePerGas ?? 0n,
      includedTxHashes: block.transactions.map((tx) => tx.hash()),
    })
  }

  private count(source: string, result: string): void {
    this.results.inc({ source, result })
  }
}
