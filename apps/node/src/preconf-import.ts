import { type Block, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { bytesToHex, equalsBytes } from '@ethereumjs/util'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import { type BlockExecutor, adoptRecoveredSender } from '@cairn/executor'
import type { Mempool } from '@cairn/mempool'
import { type P2PService, type SignedBlock, type ValidationResult, readBlockHeader } from '@cairn/p2p'
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
  p2p: Pick<P2PService, 'requestBlocksByRange' | 'requestHead' | 'penalizePeer' | 'peers'>
  /** The check a gossiped block passes (preconfer signature, decoding), applied to heads asked of peers. */
  verify: (signed: SignedBlock) => Promise<ValidationResult>
  /** Blocks `verify` decoded, by the signed block it was given: imported from that decoding, not decoded again. */
  checkedBlocks?: WeakMap<SignedBlock, Block>
  logger: Logger
  metrics: Registry
  /** Most blocks one catch-up fetches before giving up (default 8,192). */
  maxCatchUpBlocks?: number
  /** With no block for this long, peers are asked for their head (default 4 s); see `startIdleChecks`. */
  idleHeadCheckMs?: number
}

const RANGE = 64n

/** How a signed block reached the importer: gossip, or the head a peer gave when asked. */
type Trigger = 'gossip' | 'head'

/** Why a peer is asked for its head: it just joined the block topic, or no block came for a while. */
export type HeadCheckReason = 'joined' | 'idle'

/** What became of a block handed to the import under the lock (also the metric's `result` label). */
type ImportResult = 'imported' | 'known' | 'below-safe' | 'off-safe-branch'

/** Peers asked at once in an idle check (as many as a catch-up tries). */
const IDLE_CHECK_PEERS = 4

/**
 * A follower's side of preconfirmation: executes gossiped blocks (already checked to carry the
 * preconfer's signature) on their parent and makes them `latest`. A block whose parent is unknown
 * starts a catch-up: the missing ancestors are fetched by range from the peer that sent it,
 * newest first, each range anchored by hash to the signed block, then executed oldest first.
 * The follower also asks peers for their signed head (`syncFrom`) when they join its block topic
 * and when no block came for a while, so a node that starts late, reconnects or missed a block's
 * gossip catches up at once instead of at the next gossiped block (there may be none).
 * Blocks at or below the safe head are left to derivation: L1 decides there.
 */
export class PreconfImporter {
  private queue: Promise<void> = Promise.resolve()
  private readonly importSeconds: Histogram<'source'>
  private readonly results: Counter<'source' | 'result'>
  private readonly catchUps: Counter<'trigger' | 'result'>
  private readonly maxCatchUp: bigint
  /** The newest signed block this node imported: what it serves peers that ask for its head. */
  private lastSigned: SignedBlock | undefined
  /** When a block last arrived (gossip or head), ms: idle checks run only after a quiet spell. */
  private lastBlockAt = Date.now()
  private idleTimer: NodeJS.Timeout | undefined
  private queued = 0

  constructor(private readonly options: PreconfImporterOptions) {
    const registers = [options.metrics]
    this.importSeconds = new Histogram({
      name: 'cairn_p2p_block_import_seconds',
      help: 'Time from a preconfirmed block arriving to it becoming latest, by source (gossip, head: asked of a peer, sync: fetched ancestor)',
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
    this.catchUps = new Counter({
      name: 'cairn_p2p_catch_ups_total',
      help: 'Catch-ups over req/resp (missing ancestors fetched by range), by trigger (gossip: a block with an unknown parent; head: the head a peer gave when asked) and result',
      labelNames: ['trigger', 'result'],
      registers,
    })
    this.maxCatchUp = BigInt(options.maxCatchUpBlocks ?? 8_192)
  }

  /** Queues a signature-checked block; blocks are imported one at a time in arrival order. */
  enqueue(signed: SignedBlock, from: string, trigger: Trigger = 'gossip'): void {
    const receivedAt = performance.now()
    this.lastBlockAt = Date.now()
    this.queued++
    this.queue = this.queue
      .then(() => this.importSigned(signed, from, trigger, receivedAt))
      .catch((error) => this.options.logger.warn({ err: error, peer: from }, 'preconfirmed block not imported'))
      .finally(() => this.queued--)
  }

  /** Blocks received and not yet handled: while there are any, this node's view of the chain lags its peers'. */
  get backlog(): number {
    return this.queued
  }

  /**
   * Every `idleHeadCheckMs` without a block, asks a few peers for their head. A block gossiped
   * before a peer knew of us (its subscription to us still in flight) or lost on the way is then
   * fetched within one period even when no later block follows (`--block-time 0`, a quiet chain).
   * When blocks flow this sends nothing; when the chain is idle, one small request per peer a period.
   */
  startIdleChecks(): void {
    const ms = this.options.idleHeadCheckMs ?? 4_000
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.lastBlockAt < ms) return
      this.lastBlockAt = Date.now()
      for (const { peerId } of this.options.p2p.peers().slice(0, IDLE_CHECK_PEERS)) void this.syncFrom(peerId, 'idle')
    }, ms)
    this.idleTimer.unref()
  }

  /** Stops idle checks and resolves once every queued block has been handled (for shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.idleTimer)
    await this.queue
  }

  /**
   * Asks `peer` for its signed head and, when it is ahead of ours and carries a preconfer's
   * signature, queues it like a gossiped block: its missing ancestors are then fetched by range.
   */
  async syncFrom(peer: string, reason: HeadCheckReason): Promise<void> {
    const { chain, p2p, logger } = this.options
    const latest = chain.head('latest').header.number
    let head: SignedBlock | undefined
    try {
      head = await p2p.requestHead(peer, latest)
    } catch (error) {
      logger.debug({ err: error, peer }, 'asking a peer for its head failed')
      return
    }
    if (head === undefined) return
    const verdict = await this.options.verify(head)
    if (verdict === 'reject') {
      // The same cost as gossiping that block: the check is the gossip check.
      p2p.penalizePeer(peer, 'invalid-message')
      logger.warn({ peer }, 'peer answered a head request with a block no preconfer signed')
      return
    }
    if (verdict !== 'accept') return
    const number = Number(readBlockHeader(head.block).number)
    logger.info(
      { peer, number, latest: Number(latest), reason },
      'peer has a newer preconfirmed head; catching up to it',
    )
    this.enqueue(head, peer, 'head')
  }

  /** The newest signed block this node imported, for peers that ask for its head (the caller checks it is still canonical). */
  signedHead(): SignedBlock | undefined {
    return this.lastSigned
  }

  decode(blockRlp: Uint8Array): Block {
    return createBlockFromRLP(blockRlp, { common: this.options.common, setHardfork: false })
  }

  private async importSigned(signed: SignedBlock, from: string, trigger: Trigger, receivedAt: number): Promise<void> {
    const { chain, logger } = this.options
    const block = this.options.checkedBlocks?.get(signed) ?? this.decode(signed.block)
    const number = block.header.number
    if ((await chain.getBlockRecord(block.hash())) !== undefined) return this.count(trigger, 'known')
    if (number <= chain.head('safe').header.number) return this.count(trigger, 'below-safe')
    if ((await chain.getBlockRecord(block.header.parentHash)) === undefined) {
      // Ask the peer that sent it first, then the others: a forwarder may itself lack the ancestors.
      const others = this.options.p2p.peers().map((p) => p.peerId)
      let fetched = false
      for (const peer of [from, ...others.filter((p) => p !== from)].slice(0, 4)) {
        try {
          fetched = await this.catchUp(peer, block, trigger)
        } catch (error) {
          logger.warn({ err: error, peer }, 'catch-up from peer failed')
        }
        if (fetched) break
      }
      this.catchUps.inc({ trigger, result: fetched ? 'synced' : 'failed' })
      if (!fetched) return this.count(trigger, 'orphan')
    }
    const result = await this.importBlock(block, trigger)
    if (result !== 'imported') return
    this.lastSigned = signed
    const ms = performance.now() - receivedAt
    this.importSeconds.observe({ source: trigger }, ms / 1000)
    logger.info(
      {
        number: Number(number),
        hash: bytesToHex(block.hash()),
        txs: block.transactions.length,
        ms: Math.round(ms * 10) / 10,
        receivedAt: performance.timeOrigin + receivedAt,
        via: trigger,
      },
      'imported preconfirmed block',
    )
  }

  /**
   * Fetches the ancestors of `target` that this node lacks from `peer` and imports them. Returns
   * false when the peer could not supply a chain that connects to ours above the safe head.
   */
  private async catchUp(peer: string, target: Block, trigger: Trigger): Promise<boolean> {
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
      { peer, from: Number(end + 1n), to: Number(target.header.number - 1n), blocks: Number(fetched), trigger },
      'catching up over req/resp',
    )
    for (const segment of segments) {
      for (const block of segment) {
        if ((await chain.getBlockRecord(block.hash())) !== undefined) continue
        const started = performance.now()
        let result: ImportResult
        try {
          result = await this.importBlock(block, 'sync')
        } catch (error) {
          p2p.penalizePeer(peer, 'bad-response')
          throw error
        }
        // Derivation moved safe past this branch meanwhile: L1 decided, nothing more to fetch.
        if (result === 'below-safe' || result === 'off-safe-branch') return false
        this.importSeconds.observe({ source: 'sync' }, (performance.now() - started) / 1000)
      }
    }
    return true
  }

  /**
   * Executes `block` on its stored parent under the head lock and makes it latest. The checks
   * against the chain are repeated under the lock: derivation may have moved `safe` since the
   * block arrived, and a block off the safe head's branch would take the safe head back with it.
   */
  private async importBlock(block: Block, source: Trigger | 'sync'): Promise<ImportResult> {
    const { chain, state, executor, mempool, lock, logger } = this.options
    for (const tx of block.transactions) {
      const pooled = mempool.get(tx.hash())
      if (pooled !== undefined) adoptRecoveredSender(tx, pooled)
    }
    const outcome = await lock.run(async (): Promise<ImportResult | BlockRecord[]> => {
      const parent = await chain.getBlockRecord(block.header.parentHash)
      if (parent === undefined) {
        throw new CairnError('UNKNOWN_PARENT', `block ${block.header.number} builds on an unknown parent`)
      }
      if ((await chain.getBlockRecord(block.hash())) !== undefined) return 'known'
      const safe = chain.head('safe')
      if (block.header.number <= safe.header.number) return 'below-safe'
      const onLatest = equalsBytes(block.header.parentHash, chain.head('latest').hash())
      if (!onLatest && (await chain.branchOf(parent)).fork.block.header.number < safe.header.number) {
        logger.warn(
          { number: Number(block.header.number), safe: Number(safe.header.number) },
          'preconfirmed block is on a branch that leaves the chain below the safe head; L1 decided otherwise',
        )
        return 'off-safe-branch'
      }
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
        if (onLatest) {
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
    if (typeof outcome === 'string') {
      this.count(source, outcome)
      return outcome
    }
    const removed = outcome
    this.count(source, 'imported')
    if (removed.length > 0) {
      await mempool.revalidateAll()
      await Promise.allSettled(removed.flatMap((r) => r.block.transactions).map((tx) => mempool.add(tx)))
    }
    await mempool.onNewHead({
      baseFee: block.header.baseFeePerGas ?? 0n,
      includedTxHashes: block.transactions.map((tx) => tx.hash()),
      number: block.header.number,
      safeNumber: chain.head('safe').header.number,
    })
    return 'imported'
  }

  private count(source: string, result: string): void {
    this.results.inc({ source, result })
  }
}
