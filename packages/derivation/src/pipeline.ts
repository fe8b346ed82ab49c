import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex, equalsBytes, hexToBytes } from '@ethereumjs/util'
import type { Address, PublicClient } from 'viem'
import { inboxAbi, lastAcceptingL1Block } from '@cairn/contracts'
import type { BlockRecord, ChainStore, HeadChange } from '@cairn/chain'
import { type BlockExecutor, anchorOf, arraySource } from '@cairn/executor'
import { CairnError, type SerialLock } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { Counter, type Logger, type Registry } from '@cairn/telemetry'
import { findExpiredUnsafeBlock } from './anchor-expiry.ts'
import { type DecodedPayload, type DerivedBlockInput, type ProposedBatch, deriveBlockInputs } from './derive.ts'
import { type ForcedInclusionRef, ForcedInclusionReader } from './forced-inclusions.ts'
import type { L1Watcher } from './l1-watcher.ts'
import type { DerivationStore, DerivedBatch, L1Pointer } from './progress-store.ts'

/** Fetches a proposal's blobs (the l1 package's BlobSource fits). */
export interface BlobFetcher {
  getBlobs(request: {
    blockNumber: bigint
    blockHash: `0x${string}`
    blockTimestamp: bigint
    txHash: `0x${string}`
    versionedHashes: `0x${string}`[]
  }): Promise<Uint8Array[]>
}

export interface DerivationOptions {
  common: Common
  chain: ChainStore
  state: StateDB
  executor: BlockExecutor
  /** Shared with the sequencer: one owner of the head state at a time. */
  lock: SerialLock
  l1: PublicClient
  watcher: L1Watcher
  inbox: Address
  blobs: BlobFetcher
  /** Decodes blobs into per-block transactions (the batch codec); never throws. */
  decode: (blobs: Uint8Array[]) => DecodedPayload
  /** The payload of a forced inclusion's blob (the batch codec's unpacking); undefined if it has none. */
  unpackBlob: (blobs: Uint8Array[]) => Uint8Array | undefined
  store: DerivationStore
  logger: Logger
  /** First L1 block that can hold a proposal (the Inbox's deployment block). */
  startL1Block?: bigint
  pollIntervalMs?: number
  /** Most L1 blocks read per step. */
  maxL1Range?: bigint
  /**
   * Transactions of preconfirmed blocks that were dropped (L1 replaced them, or they can no longer be
   * proposed), for the mempool to take back. Awaited under the head lock, so the sequencer builds its
   * next block on a pool that has them again.
   */
  onReorgedOut?: (txs: TypedTransaction[]) => Promise<void> | void
  metrics?: Registry
}

export class DerivationError extends CairnError<'GENESIS_NOT_INBOX'> {
  override readonly name = 'DerivationError'
}

/** Why unsafe blocks were dropped: a derived block differed from them, or their anchor left the Inbox's window. */
type UnsafeRewindReason = 'l1_replaced' | 'anchor_expired'

export interface SyncStatus {
  l1Head: L1Pointer | undefined
  l1Finalized: L1Pointer | undefined
  l1Derived: L1Pointer | undefined
  /** The last L2 block whose batch's proofs verified on L1 (the Inbox's `BatchesVerified`). */
  verified: { number: bigint; hash: Uint8Array; stateRoot: Uint8Array } | undefined
}

interface BatchEvent {
  batch: ProposedBatch
  l1: { number: bigint; hash: `0x${string}`; timestamp: bigint }
  txHash: `0x${string}`
  blobHashes: `0x${string}`[]
}

/**
 * Derives the canonical L2 chain from L1 (docs/protocol.md): follows L1 heads and reorgs, reads
 * `BatchProposed`, fetches and decodes blobs, builds blocks by the fixed rules with the same
 * executor the sequencer uses, and moves `safe` and `finalized`. Blocks already present with the
 * same inputs (preconfirmed ones) are confirmed without re-execution; different ones are replaced.
 */
export class Derivation {
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stepping: Promise<void> = Promise.resolve()
  private derivedL1: L1Pointer | undefined
  private verified: SyncStatus['verified']
  /** The Inbox's `anchorWindow` as read at one L1 block (the owner can change it with `setConfig`). */
  private anchorWindow: { at: Uint8Array; value: number } | undefined
  private warnedAnchorSettings = false
  private genesisChecked = false
  private readonly rewinds: Counter<'reason'> | undefined
  private readonly droppedBlocks: Counter<'reason'> | undefined
  private readonly forcedInclusions: ForcedInclusionReader

  constructor(private readonly options: DerivationOptions) {
    this.forcedInclusions = new ForcedInclusionReader(options)
    if (options.metrics !== undefined) {
      this.rewinds = new Counter({
        name: 'cairn_derivation_unsafe_rewinds_total',
        help: 'Times unsafe (preconfirmed, not yet proposed) blocks were dropped, by reason: l1_replaced (a derived block differed), anchor_expired (the oldest one can no longer be proposed)',
        labelNames: ['reason'],
        registers: [options.metrics],
      })
      this.droppedBlocks = new Counter({
        name: 'cairn_derivation_unsafe_blocks_dropped_total',
        help: 'Unsafe blocks dropped from the canonical chain, by reason (see cairn_derivation_unsafe_rewinds_total)',
        labelNames: ['reason'],
        registers: [options.metrics],
      })
    }
  }

  start(): void {
    if (this.running) return
    this.running = true
    const tick = () => {
      if (!this.running) return
      this.stepping = this.step()
        .catch((error) => {
          // A chain that is not the Inbox's will not become it: say so loudly, and derive nothing.
          if (error instanceof DerivationError && error.code === 'GENESIS_NOT_INBOX')
            this.options.logger.error({ code: error.code }, error.message)
          else this.options.logger.warn({ err: error }, 'derivation step failed; retrying')
        })
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, this.options.pollIntervalMs ?? 1000)
        })
    }
    tick()
  }

  async stop(): Promise<void> {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    await this.stepping
  }

  status(): SyncStatus {
    const heads = this.options.watcher.current
    return { l1Head: heads?.head, l1Finalized: heads?.finalized, l1Derived: this.derivedL1, verified: this.verified }
  }

  /**
   * One pass: reorg check, read and apply the next range of L1 blocks, then drop unsafe blocks that
   * can no longer be proposed.
   */
  async step(): Promise<void> {
    const { store, watcher, l1 } = this.options
    if (!this.genesisChecked) await this.checkGenesis()
    const heads = await watcher.refresh()
    let cursor = await store.cursor()
    if (cursor !== undefined) {
      const current = await l1.getBlock({ blockNumber: cursor.number }).catch(() => undefined)
      if (current === undefined || !equalsBytes(hexToBytes(current.hash), cursor.hash))
        cursor = await this.rewind(cursor)
    }
    this.derivedL1 = cursor
    const from = cursor === undefined ? (this.options.startL1Block ?? 0n) : cursor.number + 1n
    if (from <= heads.head.number) await this.deriveRange(from, heads.head.number)
    await this.dropExpiredUnsafeBlocks(heads.head.number)
    await this.updateFinalized()
  }

  /**
   * The Inbox was initialized with one L2 chain: its genesis (checkpoint 0) and chain id. A node on
   * another genesis (a wrong --genesis file, another chain's datadir) would execute every batch on the
   * wrong state and serve a chain nobody else has, so it derives nothing until they match.
   */
  private async checkGenesis(): Promise<void> {
    const { l1, inbox, chain, common } = this.options
    const [checkpoint, config] = await Promise.all([
      l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getCheckpoint', args: [0n] }),
      l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' }),
    ])
    const genesis = await chain.getBlockByNumber(0n)
    const local = genesis === undefined ? 'none' : bytesToHex(genesis.block.hash())
    if (local !== checkpoint.blockHash.toLowerCase() || BigInt(config.l2ChainId) !== common.chainId()) {
      throw new DerivationError(
        'GENESIS_NOT_INBOX',
        `this node's chain is not the one the Inbox ${inbox} settles: the Inbox has genesis ${checkpoint.blockHash} and chain id ${config.l2ChainId}, this node genesis ${local} and chain id ${common.chainId()}; start it with the genesis the L1 suite was deployed with (--genesis FILE) on an empty --datadir`,
      )
    }
    this.genesisChecked = true
  }

  /** Reads `BatchProposed` from `from` up to the L1 head (at most `maxL1Range` blocks), derives them and records progress. */
  private async deriveRange(from: bigint, l1Head: bigint): Promise<void> {
    const { store, l1, logger } = this.options
    const maxRange = this.options.maxL1Range ?? 1000n
    const to = l1Head < from + maxRange - 1n ? l1Head : from + maxRange - 1n
    const toBlock = await l1.getBlock({ blockNumber: to })
    const events = await this.readBatches(from, to)
    await this.readVerified(from, to)
    const derived: DerivedBatch[] = []
    for (const event of events) derived.push(await this.applyBatch(event))
    const processed: L1Pointer[] = [{ number: to, hash: hexToBytes(toBlock.hash) }]
    for (const event of events) processed.push({ number: event.l1.number, hash: hexToBytes(event.l1.hash) })
    await store.advance({ number: to, hash: hexToBytes(toBlock.hash) }, processed, derived)
    this.derivedL1 = { number: to, hash: hexToBytes(toBlock.hash) }
    if (events.length > 0)
      logger.info(
        {
          l1From: Number(from),
          l1To: Number(to),
          batches: events.length,
          safe: Number(this.options.chain.head('safe').header.number),
        },
        'derived batches',
      )
  }

  private async readBatches(from: bigint, to: bigint): Promise<BatchEvent[]> {
    const logs = await this.options.l1.getContractEvents({
      address: this.options.inbox,
      abi: inboxAbi,
      eventName: 'BatchProposed',
      fromBlock: from,
      toBlock: to,
    })
    const events: BatchEvent[] = []
    const timestamps = new Map<bigint, bigint>()
    for (const log of logs) {
      const meta = (log as unknown as { args: { meta: Record<string, unknown> } }).args.meta as {
        batchId: bigint
        firstBlockId: bigint
        anchorBlockId: bigint
        anchorBlockHash: `0x${string}`
        blobHashes: readonly `0x${string}`[]
        blocks: readonly { timestamp: bigint; gasLimit: number | bigint; coinbase: `0x${string}` }[]
        forcedInclusions: readonly ForcedInclusionRef[]
      }
      const number = log.blockNumber!
      if (!timestamps.has(number))
        timestamps.set(number, (await this.options.l1.getBlock({ blockNumber: number })).timestamp)
      events.push({
        batch: {
          batchId: meta.batchId,
          firstBlockId: meta.firstBlockId,
          anchorBlockId: meta.anchorBlockId,
          anchorBlockHash: hexToBytes(meta.anchorBlockHash),
          blocks: meta.blocks.map((b) => ({
            timestamp: BigInt(b.timestamp),
            gasLimit: BigInt(b.gasLimit),
            coinbase: b.coinbase,
          })),
          forcedInclusions: meta.forcedInclusions.map(({ id, createdAtBlock, blobHash, calldataHash }) => ({
            id: BigInt(id),
            createdAtBlock: BigInt(createdAtBlock),
            blobHash,
            calldataHash,
          })),
        },
        l1: { number, hash: log.blockHash!, timestamp: timestamps.get(number)! },
        txHash: log.transactionHash!,
        blobHashes: [...meta.blobHashes],
      })
    }
    return events
  }

  /** Follows `BatchesVerified`: the newest event in the range moves the verified head. */
  private async readVerified(from: bigint, to: bigint): Promise<void> {
    if (this.verified === undefined) {
      // After a restart: the Inbox knows the last verified block's hash; our chain knows the rest.
      const state = (await this.options.l1.readContract({
        address: this.options.inbox,
        abi: inboxAbi,
        functionName: 'getState',
      })) as { lastVerifiedBlockHash: `0x${string}` }
      const record = await this.options.chain.getBlockRecord(hexToBytes(state.lastVerifiedBlockHash))
      if (record !== undefined)
        this.verified = {
          number: record.block.header.number,
          hash: record.block.hash(),
          stateRoot: record.block.header.stateRoot,
        }
    }
    const logs = await this.options.l1.getContractEvents({
      address: this.options.inbox,
      abi: inboxAbi,
      eventName: 'BatchesVerified',
      fromBlock: from,
      toBlock: to,
    })
    const last = logs.at(-1) as unknown as
      | { args: { l2BlockId: bigint; blockHash: `0x${string}`; stateRoot: `0x${string}` } }
      | undefined
    if (last !== undefined)
      this.verified = {
        number: last.args.l2BlockId,
        hash: hexToBytes(last.args.blockHash),
        stateRoot: hexToBytes(last.args.stateRoot),
      }
  }

  /** Derives one batch's blocks onto the chain and makes its last block `safe`. */
  private async applyBatch(event: BatchEvent): Promise<DerivedBatch> {
    const { chain, watcher, logger } = this.options
    const { batch } = event
    // Blobs that cannot be fetched stop the step (retried next poll): a batch is never skipped unseen.
    const blobs = await this.options.blobs.getBlobs({
      blockNumber: event.l1.number,
      blockHash: event.l1.hash,
      blockTimestamp: event.l1.timestamp,
      txHash: event.txHash,
      versionedHashes: event.blobHashes,
    })
    const payload = this.options.decode(blobs)
    if (!payload.ok)
      logger.warn(
        { batchId: Number(batch.batchId), reason: payload.reason },
        'batch payload does not decode: its blocks are empty by rule',
      )
    const anchorBlock = await watcher.block(batch.anchorBlockId)
    const anchor = { number: batch.anchorBlockId, hash: batch.anchorBlockHash, stateRoot: anchorBlock.stateRoot }
    // Forced inclusions that cannot be read stop the step too (retried next poll).
    const forced = await this.forcedInclusions.transactions(batch.forcedInclusions)
    const inputs = deriveBlockInputs(batch, payload, anchor, this.options.common, forced)

    return this.options.lock.run(async () => {
      let parent = await chain.getBlockByNumber(batch.firstBlockId - 1n)
      if (parent === undefined)
        throw new Error(
          `batch ${batch.batchId} starts at L2 block ${batch.firstBlockId} but block ${batch.firstBlockId - 1n} is missing`,
        )
      let replaced = false
      for (const input of inputs) {
        const existing = await chain.getBlockByNumber(input.number)
        if (
          existing !== undefined &&
          equalsBytes(existing.block.header.parentHash, parent!.block.hash()) &&
          sameInputs(existing.block, input)
        ) {
          parent = existing
          continue
        }
        const record = await this.build(parent!.block, input)
        if (!replaced && existing === undefined && equalsBytes(chain.head('latest').hash(), parent!.block.hash())) {
          // Safe moves with each derived block, in its write: a reader never sees latest ahead of
          // safe on a chain that holds only derived blocks.
          await chain.appendBlock(record, this.options.state.pendingBatch(), { alsoHeads: ['safe'] })
        } else {
          await chain.putBlock(record, this.options.state.pendingBatch())
          replaced = true
        }
        parent = record
      }
      if (replaced) {
        const change = await this.reorgUnsafe(parent!.block.hash(), 'l1_replaced')
        logger.warn(
          { batchId: Number(batch.batchId), removed: change.removed.length, added: change.added.length },
          'L1 replaced preconfirmed blocks',
        )
      }
      await chain.setHead('safe', parent!.block.hash())
      return {
        batchId: batch.batchId,
        l1: { number: event.l1.number, hash: hexToBytes(event.l1.hash) },
        firstBlock: batch.firstBlockId,
        lastBlock: parent!.block.header.number,
      }
    })
  }

  /**
   * Makes `hash` (stored) the latest head; the unsafe blocks above the common ancestor leave the
   * canonical chain. The chain store's head change drives RPC, `newHeads` and `logs` (`removed: true`);
   * the dropped blocks' transactions go back to the mempool. The one way unsafe blocks are dropped;
   * called under the head lock.
   */
  private async reorgUnsafe(hash: Uint8Array, reason: UnsafeRewindReason): Promise<HeadChange> {
    const change = await this.options.chain.setLatest(hash)
    if (change.removed.length > 0) {
      this.rewinds?.inc({ reason })
      this.droppedBlocks?.inc({ reason }, change.removed.length)
    }
    const dropped = change.removed.flatMap((r) => r.block.transactions)
    if (dropped.length > 0) await this.options.onReorgedOut?.(dropped)
    return change
  }

  /**
   * The liveness rule for unsafe blocks: once the oldest one (`safe + 1`) anchors so far back that the
   * Inbox would refuse a proposal of it in the next L1 block, no proposal can ever carry it, and every
   * later block builds on it. Left alone, the proposer would wait for ever and the sequencer would
   * keep extending a chain nobody can propose. So the unsafe chain goes back to `safe`: the sequencer
   * builds on it again with a current anchor and the dropped transactions are included again.
   * Judged only when every L1 block up to the head is derived: a proposal in an L1 block not read yet
   * might still hold these blocks (and then they are safe, not doomed).
   */
  private async dropExpiredUnsafeBlocks(l1Head: bigint): Promise<void> {
    const { chain, lock, logger } = this.options
    const derived = this.derivedL1
    if (derived === undefined || derived.number < l1Head) return
    if (chain.head('latest').header.number <= chain.head('safe').header.number) return
    const anchorWindow = await this.anchorWindowAt(derived)
    await lock.run(async () => {
      // Re-read under the lock: the sequencer, a p2p import or a batch may have moved the heads.
      const safe = chain.head('safe')
      const oldest = await chain.getBlockByNumber(safe.header.number + 1n)
      const anchor = oldest === undefined ? undefined : anchorOf(oldest.block.header)
      if (oldest === undefined || anchor === undefined) return
      const unsafe = { number: oldest.block.header.number, anchorBlockId: anchor.number }
      if (findExpiredUnsafeBlock([unsafe], derived.number, anchorWindow) === undefined) return
      const latest = chain.head('latest').header.number
      const change = await this.reorgUnsafe(safe.hash(), 'anchor_expired')
      logger.warn(
        {
          block: Number(unsafe.number),
          anchorBlockId: Number(unsafe.anchorBlockId),
          l1Head: Number(derived.number),
          anchorWindow,
          lastAcceptingL1Block: Number(lastAcceptingL1Block(unsafe.anchorBlockId, anchorWindow)),
          latest: Number(latest),
          safe: Number(safe.header.number),
          removed: change.removed.length,
          txs: change.removed.reduce((n, r) => n + r.block.transactions.length, 0),
        },
        'unsafe blocks can no longer be proposed (anchor out of the Inbox window): dropping them back to safe',
      )
    })
  }

  /** The Inbox's `anchorWindow` at L1 block `at` (derivation has read up to it); read once per L1 block. */
  private async anchorWindowAt(at: L1Pointer): Promise<number> {
    if (this.anchorWindow !== undefined && equalsBytes(this.anchorWindow.at, at.hash)) return this.anchorWindow.value
    const config = await this.options.l1.readContract({
      address: this.options.inbox,
      abi: inboxAbi,
      functionName: 'getConfig',
      blockNumber: at.number,
    })
    this.anchorWindow = { at: at.hash, value: Number(config.anchorWindow) }
    const maxAge = this.options.watcher.maxAnchorAge
    if (maxAge >= this.anchorWindow.value && !this.warnedAnchorSettings) {
      // Each block would be born (nearly) expired: proposed or not, the node would keep dropping it.
      this.warnedAnchorSettings = true
      this.options.logger.error(
        { maxAnchorAge: maxAge, anchorWindow: this.anchorWindow.value },
        '--l1.anchor-lag plus --l1.anchor-interval leave no room in the Inbox anchorWindow: new blocks would expire before a proposal can land; lower them well below anchorWindow',
      )
    }
    return this.anchorWindow.value
  }

  private async build(parent: Block, input: DerivedBlockInput): Promise<BlockRecord> {
    const { executed } = await this.options.executor.build(parent, input.attributes, arraySource(input.transactions))
    return { block: executed.block, receipts: executed.receipts, senders: executed.senders }
  }

  /**
   * L1 reorged under the cursor: walk back to the newest processed L1 block that is still canonical,
   * forget the batches after it and move `safe` back to the last batch that survived. Blocks stay
   * in place until L1 says otherwise (re-derivation replaces what changed).
   */
  private async rewind(cursor: L1Pointer): Promise<L1Pointer | undefined> {
    const { store, l1, chain, logger } = this.options
    let number = cursor.number
    let forkPoint: L1Pointer | undefined
    for (let steps = 0; steps < 4096 && number >= (this.options.startL1Block ?? 0n); steps++, number--) {
      const known = await store.l1HashAt(number)
      if (known === undefined) continue
      const current = await l1.getBlock({ blockNumber: number }).catch(() => undefined)
      if (current !== undefined && equalsBytes(hexToBytes(current.hash), known)) {
        forkPoint = { number, hash: known }
        break
      }
    }
    const lastBatchId = await store.lastBatchId()
    const survivor =
      forkPoint === undefined ? undefined : await store.lastBatchAtOrBefore(forkPoint.number, lastBatchId)
    const dropped: bigint[] = []
    for (let id = (survivor?.batchId ?? 0n) + 1n; id <= lastBatchId; id++) dropped.push(id)
    await store.rewind(forkPoint, survivor?.batchId ?? 0n, dropped)
    const safeNumber = survivor?.lastBlock ?? 0n
    const safe = await chain.getBlockByNumber(safeNumber)
    if (safe !== undefined) {
      await chain.setHead('safe', safe.block.hash())
      if (chain.head('finalized').header.number > safeNumber) await chain.setHead('finalized', safe.block.hash())
    }
    logger.warn(
      {
        l1Cursor: Number(cursor.number),
        forkPoint: forkPoint ? Number(forkPoint.number) : undefined,
        droppedBatches: dropped.length,
      },
      'L1 reorg: rewinding derivation',
    )
    return forkPoint
  }

  /** `finalized` = the last block of the newest batch in a finalized L1 block. */
  private async updateFinalized(): Promise<void> {
    const heads = this.options.watcher.current
    if (heads === undefined) return
    const batch = await this.options.store.lastBatchAtOrBefore(
      heads.finalized.number,
      await this.options.store.lastBatchId(),
    )
    if (batch === undefined) return
    const record = await this.options.chain.getBlockByNumber(batch.lastBlock)
    if (record !== undefined && record.block.header.number > this.options.chain.head('finalized').header.number) {
      await this.options.chain.setHead('finalized', record.block.hash())
    }
  }
}

/** A stored block already is the derived block when every input matches (execution is deterministic). */
function sameInputs(block: Block, input: DerivedBlockInput): boolean {
  const header = block.header
  const anchor = anchorOf(header)
  const attributes = input.attributes
  if (
    anchor === undefined ||
    anchor.number !== attributes.anchor!.number ||
    !equalsBytes(anchor.hash, attributes.anchor!.hash) ||
    !equalsBytes(anchor.stateRoot, attributes.anchor!.stateRoot)
  )
    return false
  if (
    header.timestamp !== attributes.timestamp ||
    header.gasLimit !== attributes.gasLimit ||
    !header.coinbase.equals(attributes.coinbase!)
  )
    return false
  if (block.transactions.length !== input.transactions.length) return false
  return block.transactions.every((tx, i) => equalsBytes(tx.hash(), input.transactions[i]!.hash()))
}
