import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { equalsBytes, hexToBytes } from '@ethereumjs/util'
import type { Address, PublicClient } from 'viem'
import { inboxAbi } from '@cairn/contracts'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import { type BlockExecutor, anchorOf, arraySource } from '@cairn/executor'
import type { SerialLock } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import type { Logger } from '@cairn/telemetry'
import { type DecodedPayload, type DerivedBlockInput, type ProposedBatch, deriveBlockInputs } from './derive.ts'
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
  store: DerivationStore
  logger: Logger
  /** First L1 block that can hold a proposal (the Inbox's deployment block). */
  startL1Block?: bigint
  pollIntervalMs?: number
  /** Most L1 blocks read per step. */
  maxL1Range?: bigint
  /** Transactions of preconfirmed blocks that L1 replaced, for the mempool to take back. */
  onReorgedOut?: (txs: TypedTransaction[]) => void
}

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

  constructor(private readonly options: DerivationOptions) {}

  start(): void {
    if (this.running) return
    this.running = true
    const tick = () => {
      if (!this.running) return
      this.stepping = this.step()
        .catch((error) => this.options.logger.warn({ err: error }, 'derivation step failed; retrying'))
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

  /** One pass: reorg check, then read and apply the next range of L1 blocks. */
  async step(): Promise<void> {
    const { store, watcher, l1, logger } = this.options
    const heads = await watcher.refresh()
    let cursor = await store.cursor()
    if (cursor !== undefined) {
      const current = await l1.getBlock({ blockNumber: cursor.number }).catch(() => undefined)
      if (current === undefined || !equalsBytes(hexToBytes(current.hash), cursor.hash))
        cursor = await this.rewind(cursor)
    }
    this.derivedL1 = cursor
    const from = cursor === undefined ? (this.options.startL1Block ?? 0n) : cursor.number + 1n
    if (from > heads.head.number) return this.updateFinalized()
    const maxRange = this.options.maxL1Range ?? 1000n
    const to = heads.head.number < from + maxRange - 1n ? heads.head.number : from + maxRange - 1n
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
    await this.updateFinalized()
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
    const inputs = deriveBlockInputs(batch, payload, anchor, this.options.common)

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
          await chain.appendBlock(record, this.options.state.pendingBatch())
        } else {
          await chain.putBlock(record, this.options.state.pendingBatch())
          replaced = true
        }
        parent = record
      }
      if (replaced) {
        const change = await chain.setLatest(parent!.block.hash())
        const dropped = change.removed.flatMap((r) => r.block.transactions)
        logger.warn(
          { batchId: Number(batch.batchId), removed: change.removed.length, added: change.added.length },
          'L1 replaced preconfirmed blocks',
        )
        if (dropped.length > 0) this.options.onReorgedOut?.(dropped)
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
