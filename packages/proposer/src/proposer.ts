import { BLOB_PAYLOAD_CAPACITY, packBlobs } from '@cairn/batch'
import { forcedInclusionStoreAbi, inboxAbi, type ProposeParams } from '@cairn/contracts'
import {
  type BlobTxFees,
  bumpFees,
  createSenderLoop,
  estimateBlobTxFees,
  revertName,
  TransactionTracker,
} from '@cairn/l1'
import type { PollingLoop } from '@cairn/primitives'
import type { Logger } from '@cairn/telemetry'
import {
  type Address,
  BaseError,
  type Block,
  encodeFunctionData,
  type Hex,
  keccak256,
  parseEventLogs,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { type BatchPlan, planBatch } from './batch-plan.ts'
import { type BlobBundle, bundleBlobs, signBlobTransaction } from './blob-tx.ts'
import type { L2Block, L2BlockSource } from './l2-source.ts'
import type { ProposerMetrics } from './metrics.ts'
import type { Attempt, InFlight, ProgressStore } from './progress-store.ts'

export interface ProposerOptions {
  l1: PublicClient
  l2: L2BlockSource
  privateKey: Hex
  inbox: Address
  forcedInclusionStore: Address
  progress: ProgressStore
  logger: Logger
  metrics: ProposerMetrics
  /** Default: the Inbox's `maxBlocksPerBatch` (and never more). */
  maxBatchBlocks?: number
  maxBatchAgeSeconds: number
  maxBlobs: number
  pollIntervalMs: number
  feeBumpPercent: number
  resubmitAfterBlocks: number
  confirmations: number
}

type InboxConfig = Awaited<ReturnType<typeof readConfig>>
type L1Head = Block<bigint, false, 'latest'>

/** Errors after which the proposer re-reads L1 and waits: another proposer won a race, or it is not our turn. */
const RACE_ERRORS = new Set(['ParentMetaHashMismatch', 'ProposerNotAllowed'])
const GWEI = 1_000_000_000n

/**
 * The proposer loop: one owner, one proposal in flight at a time. Each round reads the Inbox (L1 is the
 * source of truth for what is proposed), follows the transaction in flight (mined → confirmations;
 * reorged out, dropped or stuck → sent again with the same nonce and higher fees) and otherwise builds
 * the next batch from the L2 node's blocks and sends it as a type-3 transaction carrying its blobs.
 */
export class Proposer {
  readonly address: Address
  private readonly log: Logger
  private chainId: number | undefined
  private config: InboxConfig | undefined
  private readonly l2Cache = new Map<bigint, L2Block>()
  private bundleCache: { payloadHash: Hex; bundle: BlobBundle } | undefined
  private readonly tracker: TransactionTracker
  private readonly loop: PollingLoop

  constructor(private readonly options: ProposerOptions) {
    this.address = privateKeyToAddress(options.privateKey)
    this.log = options.logger.child({ module: 'proposer' })
    this.tracker = new TransactionTracker({
      l1: options.l1,
      address: this.address,
      confirmations: options.confirmations,
      resubmitAfterBlocks: options.resubmitAfterBlocks,
      errorAbi: inboxAbi,
      // The batch is still to be proposed: a dropped proposal, or one behind a nonce gap, is sent again.
      whenDropped: 'resend',
      fillNonceGap: true,
      logger: this.log,
      reorgs: options.metrics.reorgs,
      messages: {
        mined: 'proposal mined',
        reorged: 'proposal no longer on the canonical L1 chain (reorg); following it again',
      },
    })
    this.loop = createSenderLoop({
      role: 'proposer',
      logger: this.log,
      failures: options.metrics.failures,
      intervalMs: options.pollIntervalMs,
      round: () => this.tick(),
    })
  }

  /** Runs rounds every poll interval until {@link stop}; a failed round is logged and retried with backoff. */
  start(): void {
    this.loop.start()
  }

  /** Stops after the round in progress. */
  stop(): Promise<void> {
    return this.loop.stop()
  }

  /** One round. Exposed so tests (and a future one-shot mode) can step the loop. */
  async tick(): Promise<void> {
    const head = await this.options.l1.getBlock({ blockTag: 'latest' })
    const inFlight = this.options.progress.get().inFlight
    if (inFlight !== undefined) {
      await this.follow(inFlight, head)
      return
    }
    await this.propose(head)
  }

  // ------------------------------------------------------------------ following a sent proposal

  private async follow(inFlight: InFlight, head: L1Head): Promise<void> {
    const status = await this.tracker.follow(inFlight, head.number)
    switch (status.kind) {
      case 'pending':
        return
      case 'confirmed':
        this.confirmed(inFlight, status.receipt)
        return
      case 'reverted': {
        const { receipt, reason } = status
        this.recordFees(receipt)
        this.options.metrics.failures.inc({ reason })
        this.log.error(
          { txHash: receipt.transactionHash, l1Block: receipt.blockNumber, reason, gasUsed: receipt.gasUsed },
          'proposal reverted on L1; re-reading the Inbox',
        )
        this.finish()
        return
      }
      case 'lost':
        // Another transaction of this key took the nonce (dropped proposals are sent again): ours can never land.
        this.options.metrics.failures.inc({ reason: 'nonce_taken' })
        this.log.warn(
          { nonce: inFlight.nonce, latestNonce: status.latestNonce },
          'nonce of the proposal in flight was used by another transaction',
        )
        this.finish()
        return
      case 'resend': {
        const last = inFlight.attempts.at(-1)
        this.log.warn(
          {
            why: status.why,
            nonce: inFlight.nonce,
            latestNonce: status.latestNonce,
            txHash: last?.hash,
            sentAtL1Block: last?.sentAtL1Block,
            l1Head: head.number,
          },
          'sending the proposal again with higher fees',
        )
        await this.propose(head, { inFlight, nonce: status.nonce })
      }
    }
  }

  private confirmed(inFlight: InFlight, receipt: TransactionReceipt): void {
    const { metrics } = this.options
    const events = parseEventLogs({ abi: inboxAbi, eventName: 'BatchProposed', logs: receipt.logs })
    const meta = events[0]?.args.meta
    const fees = this.recordFees(receipt)
    const blocks = meta ? meta.blocks.length : Number(inFlight.lastBlock - inFlight.firstBlock + 1n)
    const firstBlock = meta?.firstBlockId ?? inFlight.firstBlock
    const lastBlock = firstBlock + BigInt(blocks) - 1n
    metrics.batches.inc()
    metrics.blocks.inc(blocks)
    metrics.blobs.inc(meta?.blobHashes.length ?? inFlight.numBlobs)
    metrics.lastProposedBlock.set(Number(lastBlock))
    this.log.info(
      {
        batchId: meta?.batchId,
        firstBlock,
        lastBlock,
        blocks,
        blobs: meta?.blobHashes.length ?? inFlight.numBlobs,
        forcedInclusions: meta?.forcedInclusions.length ?? 0,
        txHash: receipt.transactionHash,
        l1Block: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        blobGasUsed: receipt.blobGasUsed ?? 0n,
        executionFeeWei: fees.execution,
        blobFeeWei: fees.blob,
        attempts: inFlight.attempts.length,
      },
      'batch proposed',
    )
    this.options.progress.update((p) => ({
      ...p,
      inFlight: undefined,
      lastConfirmed: {
        batchId: meta?.batchId ?? 0n,
        firstBlock,
        lastBlock,
        txHash: receipt.transactionHash,
        l1Block: receipt.blockNumber,
      },
    }))
  }

  private finish(): void {
    this.options.progress.update((p) => ({ ...p, inFlight: undefined }))
  }

  private recordFees(receipt: TransactionReceipt): { execution: bigint; blob: bigint } {
    const execution = receipt.gasUsed * receipt.effectiveGasPrice
    const blob = (receipt.blobGasUsed ?? 0n) * (receipt.blobGasPrice ?? 0n)
    this.options.metrics.gasUsed.inc(Number(receipt.gasUsed))
    this.options.metrics.blobGasUsed.inc(Number(receipt.blobGasUsed ?? 0n))
    this.options.metrics.feesWei.inc({ kind: 'execution' }, Number(execution))
    this.options.metrics.feesWei.inc({ kind: 'blob' }, Number(blob))
    return { execution, blob }
  }

  // ------------------------------------------------------------------ building and sending a proposal

  private async propose(head: L1Head, replacing?: { inFlight: InFlight; nonce: number }): Promise<void> {
    const { l1, l2, metrics } = this.options
    this.chainId ??= await l1.getChainId()
    this.config ??= await readConfig(l1, this.options.inbox)
    const config = this.config
    const state = await readState(l1, this.options.inbox)
    metrics.lastProposedBlock.set(Number(state.lastBlockId))

    const allowed = await l1.readContract({
      address: this.options.inbox,
      abi: inboxAbi,
      functionName: 'canPropose',
      args: [this.address],
    })
    if (!allowed) {
      metrics.failures.inc({ reason: 'ProposerNotAllowed' })
      this.log.debug({ l1Head: head.number }, 'not allowed to propose in this L1 block; waiting')
      return
    }

    const next = state.lastBlockId + 1n
    const l2Head = await l2.headNumber()
    metrics.l2Head.set(Number(l2Head))
    if (l2Head < next) return

    const maxBlocks = Math.min(this.options.maxBatchBlocks ?? config.maxBlocksPerBatch, config.maxBlocksPerBatch)
    const maxBlobs = Math.min(this.options.maxBlobs, config.maxBlobsPerBatch)
    const blocks = await this.fetchBlocks(
      next,
      l2Head < next + BigInt(maxBlocks) - 1n ? l2Head : next + BigInt(maxBlocks) - 1n,
    )
    if (blocks === undefined) return
    if (!(await this.buildsOnProposedChain(next, blocks[0]))) return
    const forced = await this.dueForcedInclusions(head.number)

    const plan: BatchPlan = planBatch({
      blocks,
      maxBlocks,
      maxPayloadBytes: maxBlobs * BLOB_PAYLOAD_CAPACITY,
      maxBatchAgeSeconds: this.options.maxBatchAgeSeconds,
      nowSeconds: Date.now() / 1000,
      l1Head: head.number,
      anchorWindow: config.anchorWindow,
      anchorMargin: this.options.resubmitAfterBlocks + 1,
      forcedInclusionsDue: forced > 0,
      force: replacing !== undefined,
    })
    if (plan.kind === 'wait') {
      if (plan.reason === 'anchor_out_of_window' || plan.reason === 'block_too_large') {
        metrics.failures.inc({ reason: plan.reason })
        this.log.error({ reason: plan.reason, nextBlock: next }, plan.message ?? plan.reason)
        // The node drops such blocks back to its safe head and builds new ones at the same numbers
        // (docs/node.md, "Following L1"): read them again instead of the cached ones.
        if (plan.reason === 'anchor_out_of_window') this.l2Cache.clear()
      } else if (plan.reason === 'anchor_ahead_of_l1') {
        this.log.warn({ reason: plan.reason, nextBlock: next }, plan.message ?? plan.reason)
      } else {
        this.log.debug({ reason: plan.reason, nextBlock: next, l2Head }, 'waiting for more L2 blocks')
      }
      return
    }

    const bundle = this.bundleFor(plan.payload)
    const params: ProposeParams = {
      parentMetaHash: state.lastMetaHash,
      anchorBlockId: plan.blocks[0]!.anchorBlockNumber,
      numBlobs: bundle.blobs.length,
      numForcedInclusions: forced,
      blocks: plan.blocks.map((b) => ({ timestamp: b.timestamp, gasLimit: Number(b.gasLimit), coinbase: b.coinbase })),
    }
    const data = encodeFunctionData({ abi: inboxAbi, functionName: 'proposeBatch', args: [params] })

    const fees = await this.fees(replacing?.inFlight.attempts.at(-1))
    let gas: bigint
    try {
      gas = BigInt(
        await l1.request({
          method: 'eth_estimateGas',
          params: [
            {
              from: this.address,
              to: this.options.inbox,
              data,
              blobVersionedHashes: bundle.versionedHashes,
              maxFeePerBlobGas: `0x${fees.maxFeePerBlobGas.toString(16)}`,
              type: '0x3',
            } as never,
          ],
        }),
      )
    } catch (error) {
      const name = revertName(error, inboxAbi)
      if (name === undefined) throw error // an RPC failure: the loop backs off and retries
      metrics.failures.inc({ reason: name })
      const context = { reason: name, firstBlock: next, lastBlock: plan.blocks.at(-1)!.number, l1Head: head.number }
      if (RACE_ERRORS.has(name)) this.log.info(context, 'proposal would revert; re-reading the Inbox next round')
      else this.log.error({ ...context, err: error }, 'proposal would revert; not sent')
      return
    }
    gas = (gas * 12n) / 10n + 10_000n

    const nonce = replacing?.nonce ?? (await l1.getTransactionCount({ address: this.address, blockTag: 'pending' }))
    const { raw, hash } = await signBlobTransaction(
      this.options.privateKey,
      { chainId: this.chainId, nonce, to: this.options.inbox, data, gas, ...fees },
      bundle,
    )
    const attempt: Attempt = { hash, ...fees, sentAtL1Block: head.number }
    const inFlight: InFlight = {
      nonce,
      firstBlock: next,
      lastBlock: plan.blocks.at(-1)!.number,
      numBlobs: bundle.blobs.length,
      parentMetaHash: state.lastMetaHash,
      attempts: [...(replacing?.inFlight.attempts ?? []), attempt],
    }
    // Written before broadcasting: after a crash the next start knows this nonce and hash.
    this.options.progress.update((p) => ({ ...p, inFlight }))
    if (replacing) metrics.resubmissions.inc()
    try {
      await l1.request({ method: 'eth_sendRawTransaction', params: [raw] })
    } catch (error) {
      const message = error instanceof BaseError ? error.details || error.shortMessage : String(error)
      if (!/already known/i.test(message)) {
        metrics.failures.inc({ reason: /underpriced/i.test(message) ? 'underpriced' : 'send_failed' })
        this.log.warn({ err: error, txHash: hash, nonce }, 'L1 node refused the proposal; will send again')
        return
      }
    }
    this.log.info(
      {
        firstBlock: inFlight.firstBlock,
        lastBlock: inFlight.lastBlock,
        blocks: plan.blocks.length,
        blobs: bundle.blobs.length,
        payloadBytes: plan.payload.length,
        forcedInclusions: forced,
        anchorBlockId: params.anchorBlockId,
        trigger: plan.trigger,
        nonce,
        txHash: hash,
        gas,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        maxFeePerBlobGas: fees.maxFeePerBlobGas,
        replacement: replacing !== undefined,
      },
      'proposal sent',
    )
  }

  /** Blocks `from..to`, cached while their parent links hold (a preconfirmed chain can reorg). */
  private async fetchBlocks(from: bigint, to: bigint): Promise<L2Block[] | undefined> {
    for (const n of this.l2Cache.keys()) if (n < from) this.l2Cache.delete(n)
    const blocks: L2Block[] = []
    for (let n = from; n <= to; n++) {
      let block = this.l2Cache.get(n)
      if (block === undefined) {
        block = await this.options.l2.blockByNumber(n)
        if (block === undefined) break
        this.l2Cache.set(n, block)
      }
      const parent = blocks.at(-1)
      if (parent !== undefined && block.parentHash !== parent.hash) {
        this.log.info({ block: n }, 'L2 chain changed while reading it; reading again next round')
        this.l2Cache.clear()
        return undefined
      }
      blocks.push(block)
    }
    return blocks
  }

  /**
   * With a source that knows what it derived from L1 (a based node): the node must have derived the
   * last proposed block, and the first block to propose must be its child. Otherwise another proposer's
   * batch is on L1 and the node has not replaced its own preconfirmed blocks yet; proposing them would
   * put blocks on L1 that execute on a different parent than they were built on.
   */
  private async buildsOnProposedChain(next: bigint, first: L2Block | undefined): Promise<boolean> {
    const { l2, metrics } = this.options
    if (l2.derivedHash === undefined || first === undefined) return true
    const parent = await l2.derivedHash(next - 1n)
    if (parent === undefined) {
      this.log.debug({ lastProposedBlock: next - 1n }, 'waiting for the node to derive the last proposed block')
      return false
    }
    if (first.parentHash === parent) return true
    this.l2Cache.clear()
    metrics.failures.inc({ reason: 'not_on_proposed_chain' })
    this.log.warn(
      { block: next, parentHash: first.parentHash, proposedParent: parent },
      'the next L2 block does not build on the chain proposed to L1 (another proposer won); waiting for derivation to replace it',
    )
    return false
  }

  /** Forced inclusions the proposal must consume: every one due by the block after next (oldest first). */
  private async dueForcedInclusions(l1Head: bigint): Promise<number> {
    const { l1 } = this.options
    const store = this.options.forcedInclusionStore
    const [head, tail, delay] = await Promise.all([
      l1.readContract({ address: store, abi: forcedInclusionStoreAbi, functionName: 'head' }),
      l1.readContract({ address: store, abi: forcedInclusionStoreAbi, functionName: 'tail' }),
      l1.readContract({ address: store, abi: forcedInclusionStoreAbi, functionName: 'inclusionDelay' }),
    ])
    let count = 0
    for (let id = head; id < tail && count < 65_535; id++) {
      const inclusion = await l1.readContract({
        address: store,
        abi: forcedInclusionStoreAbi,
        functionName: 'getForcedInclusion',
        args: [id],
      })
      if (inclusion.createdAtBlock + delay > l1Head + 2n) break
      count++
    }
    return count
  }

  /**
   * Fee caps from the market (`@cairn/l1`'s estimate, blob fee cap at least 1 gwei); a replacement
   * raises every cap of the previous attempt by `--fee-bump-percent` and keeps up with the market.
   */
  private async fees(previous: Attempt | undefined): Promise<BlobTxFees> {
    const market = await estimateBlobTxFees(this.options.l1)
    if (market.maxFeePerBlobGas < GWEI) market.maxFeePerBlobGas = GWEI
    if (previous === undefined) return market
    return bumpFees(previous, { percent: this.options.feeBumpPercent, atLeast: market })
  }

  private bundleFor(payload: Uint8Array): BlobBundle {
    const payloadHash = keccak256(payload)
    if (this.bundleCache?.payloadHash !== payloadHash) {
      this.bundleCache = { payloadHash, bundle: bundleBlobs(packBlobs(payload)) }
    }
    return this.bundleCache.bundle
  }
}

async function readState(l1: PublicClient, inbox: Address) {
  return l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getState' })
}

async function readConfig(l1: PublicClient, inbox: Address) {
  return l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' })
}
