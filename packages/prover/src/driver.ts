import {
  authorityAttestationVerifierAbi,
  type BatchMeta,
  batchMetaHash,
  composeVerifierAbi,
  encodeComposeProof,
  inboxAbi,
  type Transition,
  teeVerifierAbi,
  VERIFIER_IDS,
} from '@cairn/contracts'
import { bumpFee, createSenderLoop, revertName, TransactionTracker } from '@cairn/l1'
import { CairnError, type PollingLoop } from '@cairn/primitives'
import { type ProofBackend, type ProofResult, WitnessError } from '@cairn/proof'
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
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import type { QuoteSource } from './instance.ts'
import type { ProverMetrics } from './metrics.ts'
import type { ProverAttempt, ProverInFlight, ProverProgressStore } from './progress-store.ts'
import type { WitnessSource } from './witness-source.ts'

export interface ProverDriverOptions {
  l1: PublicClient
  /** The L2 node that serves witnesses of the batches it derived. */
  node: WitnessSource
  backend: ProofBackend
  /** Sends `proveBatches`; its address is the `prover` in every public input. */
  privateKey: Hex
  inbox: Address
  /** TEE backends: the instance key to keep registered on the TeeVerifier, and where its quote comes from. */
  tee?: { instance: Address; quotes: QuoteSource; validitySeconds: number; renewBeforeSeconds: number }
  progress: ProverProgressStore
  logger: Logger
  metrics: ProverMetrics
  /** L1 block to search for `BatchProposed` from. */
  l1StartBlock: bigint
  pollIntervalMs: number
  confirmations: number
  resubmitAfterBlocks: number
  feeBumpPercent: number
  gasMarginPercent: number
  /** Most unverified batches read per round while looking for the next one to prove (default 64). */
  maxScan?: number
}

type L1Head = Block<bigint, false, 'latest'>
type Work =
  | { kind: 'prove'; batchId: bigint; parent: Hex; recorded?: Transition }
  | { kind: 'verify' }
  | { kind: 'idle'; reason: string }

/** What the prover sends: a registration, a proof, or a nudge to verification. */
type TxSpec = Pick<ProverInFlight, 'kind' | 'to' | 'data' | 'batchId' | 'transition'>

const ERROR_ABI = [...inboxAbi, ...composeVerifierAbi, ...teeVerifierAbi, ...authorityAttestationVerifierAbi].filter(
  (item) => item.type === 'error',
)

/**
 * The prover loop: one owner, one L1 transaction in flight at a time. Each round follows the
 * transaction in flight (confirmations; reverted; reorged out, dropped or stuck → re-read or replace),
 * keeps the TEE instance registered, then reads the Inbox (L1 is the source of truth) and walks the
 * unverified batches from the last verified one: a batch with an accepted transition that agrees with
 * the node is skipped, the first one without is proven (witness from the node, backend, `proveBatches`).
 * The Inbox verifies in `proveBatches`; `verifyBatches` is sent only when proven batches wait for it.
 */
export class ProverDriver {
  readonly address: Address
  private readonly account: PrivateKeyAccount
  private readonly log: Logger
  private l1ChainId: number | undefined
  private l2ChainId: bigint | undefined
  private maxBatchesToVerify = 16
  private teeVerifier: Address | undefined
  private readonly metas = new Map<bigint, { hash: Hex; meta: BatchMeta }>()
  private scanFrom: bigint
  private proofCache: { key: string; result: ProofResult } | undefined
  private lastWait: string | undefined
  private readonly tracker: TransactionTracker
  private readonly loop: PollingLoop

  constructor(private readonly options: ProverDriverOptions) {
    this.account = privateKeyToAccount(options.privateKey)
    this.address = this.account.address
    this.log = options.logger.child({ module: 'prover' })
    this.tracker = new TransactionTracker({
      l1: options.l1,
      address: this.address,
      confirmations: options.confirmations,
      resubmitAfterBlocks: options.resubmitAfterBlocks,
      errorAbi: ERROR_ABI,
      // Dropped (or never broadcast before a crash): the next round re-reads the Inbox and decides again.
      whenDropped: 'forget',
      fillNonceGap: false,
      logger: this.log,
      reorgs: options.metrics.reorgs,
      messages: { reorged: 'transaction no longer on the canonical L1 chain (reorg); following it again' },
    })
    this.loop = createSenderLoop({
      role: 'prover',
      logger: this.log,
      failures: options.metrics.failures,
      intervalMs: options.pollIntervalMs,
      round: () => this.tick(),
    })
    this.scanFrom = options.l1StartBlock
    const lastProven = options.progress.get().lastProven
    if (lastProven !== undefined) options.metrics.latestProvenBatch.set(Number(lastProven.batchId))
  }

  /** Runs rounds every poll interval until {@link stop}; a failed round is logged and retried with backoff. */
  start(): void {
    this.loop.start()
  }

  /** Stops after the round in progress. */
  stop(): Promise<void> {
    return this.loop.stop()
  }

  /** One round. Exposed so tests can step the loop. */
  async tick(): Promise<void> {
    const { l1, inbox, metrics } = this.options
    const head = await l1.getBlock({ blockTag: 'latest' })
    const inFlight = this.options.progress.get().inFlight
    if (inFlight !== undefined) {
      await this.follow(inFlight, head)
      if (this.options.progress.get().inFlight !== undefined) return
    }
    if (this.l2ChainId === undefined) {
      const config = await l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' })
      this.l2ChainId = config.l2ChainId
      this.maxBatchesToVerify = config.maxBatchesToVerify
      this.l1ChainId = await l1.getChainId()
    }
    const state = await l1.readContract({
      address: inbox,
      abi: inboxAbi,
      functionName: 'getState',
      blockNumber: head.number,
    })
    metrics.latestVerifiedBatch.set(Number(state.lastVerifiedBatchId))
    if (this.options.tee !== undefined && !(await this.ensureRegistered(head))) return

    const work = await this.plan(state, head)
    if (work.kind === 'idle') {
      if (this.lastWait !== work.reason) this.log.debug({ reason: work.reason }, 'nothing to prove')
      this.lastWait = work.reason
      return
    }
    this.lastWait = undefined
    if (work.kind === 'verify') {
      this.log.info({ lastVerifiedBatch: state.lastVerifiedBatchId }, 'proven batches wait for verification')
      await this.send(
        {
          kind: 'verify',
          to: inbox,
          data: encodeFunctionData({ abi: inboxAbi, functionName: 'verifyBatches', args: [this.maxBatchesToVerify] }),
        },
        head,
      )
      return
    }
    await this.prove(work, head)
  }

  // ------------------------------------------------------------------ the instance key on L1

  /** Registers (or renews) the instance when needed. False while it cannot prove (not registered). */
  private async ensureRegistered(head: L1Head): Promise<boolean> {
    const tee = this.options.tee!
    const { l1, metrics } = this.options
    if (this.teeVerifier === undefined) {
      const compose = await l1.readContract({ address: this.options.inbox, abi: inboxAbi, functionName: 'verifier' })
      const tv = await l1.readContract({
        address: compose,
        abi: composeVerifierAbi,
        functionName: 'verifiers',
        args: [VERIFIER_IDS.TEE],
      })
      if (/^0x0{40}$/.test(tv)) {
        throw new CairnError('PROVER_NO_TEE_VERIFIER', `the ComposeVerifier ${compose} has no TEE verifier set`)
      }
      this.teeVerifier = tv
    }
    const teeVerifier = this.teeVerifier
    const expiry = await l1.readContract({
      address: teeVerifier,
      abi: teeVerifierAbi,
      functionName: 'instanceExpiry',
      args: [tee.instance],
      blockNumber: head.number,
    })
    metrics.instanceExpiry.set(Number(expiry))
    const now = head.timestamp
    const validity = BigInt(tee.validitySeconds)
    const maxValidity = await l1.readContract({
      address: teeVerifier,
      abi: teeVerifierAbi,
      functionName: 'maxInstanceValidity',
    })
    const wanted = validity < maxValidity ? validity : maxValidity
    const renewBefore = BigInt(tee.renewBeforeSeconds) < wanted / 2n ? BigInt(tee.renewBeforeSeconds) : wanted / 2n
    const usable = expiry > now + 60n // an instance about to expire would make the proof revert in flight
    if (expiry > now + renewBefore) return true

    const attestation = await tee.quotes.quote({
      instance: tee.instance,
      l1ChainId: BigInt(this.l1ChainId!),
      expiry: now + wanted,
    })
    if (attestation.expiry <= expiry || attestation.expiry <= now + 60n) {
      metrics.failures.inc({ reason: 'quote_expired' })
      this.log.error(
        { instance: tee.instance, registeredUntil: expiry, quoteExpiry: attestation.expiry, source: tee.quotes.kind },
        'the attestation quote does not extend the registration; provide a fresh quote',
      )
      return usable
    }
    const sent = await this.send(
      {
        kind: 'register',
        to: teeVerifier,
        data: encodeFunctionData({
          abi: teeVerifierAbi,
          functionName: 'registerInstance',
          args: [tee.instance, attestation.expiry, attestation.quote],
        }),
      },
      head,
    )
    if (sent) {
      this.log.info(
        {
          instance: tee.instance,
          expiry: attestation.expiry,
          registeredUntil: expiry,
          teeVerifier,
          quote: tee.quotes.kind,
        },
        expiry === 0n ? 'registering the instance key' : 'renewing the instance registration',
      )
    }
    return false
  }

  // ------------------------------------------------------------------ what to prove

  private async plan(
    state: { nextBatchId: bigint; lastVerifiedBatchId: bigint; lastVerifiedBlockHash: Hex },
    head: L1Head,
  ): Promise<Work> {
    const { l1, inbox } = this.options
    for (const id of this.metas.keys()) if (id <= state.lastVerifiedBatchId) this.metas.delete(id)
    let parent = state.lastVerifiedBlockHash
    let verifyPending = false
    const first = state.lastVerifiedBatchId + 1n
    const end = first + BigInt(this.options.maxScan ?? 64)
    for (let id = first; id < state.nextBatchId && id < end; id++) {
      const ts = await l1.readContract({
        address: inbox,
        abi: inboxAbi,
        functionName: 'getTransition',
        args: [id, parent],
        blockNumber: head.number,
      })
      if (ts.batchId !== id) return { kind: 'prove', batchId: id, parent }
      const recorded = { parentHash: parent, blockHash: ts.blockHash, stateRoot: ts.stateRoot }
      if (ts.contested) {
        this.options.metrics.failures.inc({ reason: 'contested' })
        this.log.error(
          { batchId: id, ...recorded },
          'the transition of this batch is contested: verification halts here until the owner resolves it',
        )
        return { kind: 'idle', reason: `batch ${id} contested` }
      }
      if (await this.disagrees(id, recorded, head)) return { kind: 'prove', batchId: id, parent, recorded }
      if (id === first) verifyPending = true
      parent = ts.blockHash
    }
    if (verifyPending) return { kind: 'verify' }
    return { kind: 'idle', reason: `every batch up to ${state.nextBatchId - 1n} is proven` }
  }

  /** Whether an accepted transition differs from the node's derived (safe) block at the batch's end. */
  private async disagrees(batchId: bigint, recorded: Transition, head: L1Head): Promise<boolean> {
    const meta = await this.meta(batchId, head)
    if (meta === undefined) return false
    const last = meta.firstBlockId + BigInt(meta.blocks.length) - 1n
    const block = await this.options.node.safeBlock(last)
    if (block === undefined) return false
    if (block.hash === recorded.blockHash && block.stateRoot === recorded.stateRoot) return false
    this.log.warn(
      { batchId, lastBlock: last, recorded, node: block },
      'the accepted transition differs from the node’s chain; proving the batch to check it',
    )
    return true
  }

  /** The batch's `BatchProposed` meta on the canonical chain (its hash checked against the Inbox). */
  private async meta(batchId: bigint, head: L1Head): Promise<BatchMeta | undefined> {
    const { l1, inbox } = this.options
    const hash = await l1.readContract({
      address: inbox,
      abi: inboxAbi,
      functionName: 'getBatchMetaHash',
      args: [batchId],
      blockNumber: head.number,
    })
    const cached = this.metas.get(batchId)
    if (cached?.hash === hash) return cached.meta
    const search = (fromBlock: bigint) =>
      l1.getContractEvents({
        address: inbox,
        abi: inboxAbi,
        eventName: 'BatchProposed',
        args: { batchId, metaHash: hash },
        fromBlock,
        toBlock: head.number,
      })
    let logs = await search(this.scanFrom)
    // After an L1 reorg a batch can sit before the cursor; look again from the start.
    if (logs.length === 0 && this.scanFrom > this.options.l1StartBlock) logs = await search(this.options.l1StartBlock)
    const log = logs.at(-1)
    const meta = log?.args.meta
    if (log === undefined || meta === undefined || batchMetaHash(meta) !== hash) return undefined
    this.metas.set(batchId, { hash, meta })
    if (log.blockNumber > this.scanFrom) this.scanFrom = log.blockNumber
    return meta
  }

  // ------------------------------------------------------------------ proving

  private async prove(work: Extract<Work, { kind: 'prove' }>, head: L1Head): Promise<void> {
    const { metrics, node, backend } = this.options
    const { batchId, parent } = work
    const meta = await this.meta(batchId, head)
    if (meta === undefined) {
      metrics.failures.inc({ reason: 'meta_not_found' })
      this.log.warn({ batchId }, 'no BatchProposed event matches the Inbox meta hash yet; retrying')
      return
    }
    const key = `${batchId}:${batchMetaHash(meta)}:${parent}`
    let result = this.proofCache?.key === key ? this.proofCache.result : undefined
    if (result === undefined) {
      const started = performance.now()
      const witness = await node.batchWitness(batchId)
      if (witness === undefined) {
        this.log.debug({ batchId }, 'waiting for the node to derive the batch')
        return
      }
      try {
        result = await backend.prove({ batchId, chainId: this.l2ChainId!, meta, prover: this.address, witness })
      } catch (error) {
        if (!(error instanceof WitnessError)) throw error
        metrics.failures.inc({ reason: error.code })
        this.log.warn({ batchId, err: error, code: error.code }, 'the witness does not prove the batch; retrying')
        return
      }
      const seconds = (performance.now() - started) / 1000
      metrics.proofSeconds.observe(seconds)
      this.proofCache = { key, result }
      this.log.info(
        {
          batchId,
          blocks: meta.blocks.length,
          blockHash: result.transition.blockHash,
          stateRoot: result.transition.stateRoot,
          ms: Math.round(seconds * 1000),
          backendMs: Math.round(result.millis),
        },
        'batch proven',
      )
    }
    const { transition } = result
    if (transition.parentHash !== parent) {
      metrics.failures.inc({ reason: 'parent_mismatch' })
      this.log.warn(
        { batchId, nodeParent: transition.parentHash, verifiedParent: parent },
        'the node builds the batch on another parent than the L1 verified chain; waiting for it to follow L1',
      )
      this.proofCache = undefined
      return
    }
    if (
      work.recorded !== undefined &&
      work.recorded.blockHash === transition.blockHash &&
      work.recorded.stateRoot === transition.stateRoot
    ) {
      return // the node agrees with the accepted transition after all: nothing to send
    }
    const proof = encodeComposeProof([{ verifierId: result.verifierId, proof: result.proof }])
    await this.send(
      {
        kind: 'prove',
        to: this.options.inbox,
        data: encodeFunctionData({
          abi: inboxAbi,
          functionName: 'proveBatches',
          args: [[batchId], [transition], proof],
        }),
        batchId,
        transition,
      },
      head,
    )
  }

  // ------------------------------------------------------------------ sending and following

  /** Estimates, signs, records as in flight, then broadcasts. False when the call would revert. */
  private async send(spec: TxSpec, head: L1Head, replacing?: ProverInFlight): Promise<boolean> {
    const { l1, metrics } = this.options
    this.l1ChainId ??= await l1.getChainId()
    const fees = await this.fees(head, replacing?.attempts.at(-1))
    let gas = replacing?.gas
    if (gas === undefined) {
      try {
        gas = await l1.estimateGas({ account: this.address, to: spec.to, data: spec.data })
      } catch (error) {
        const reason = revertName(error, ERROR_ABI)
        if (reason === undefined) throw error
        metrics.failures.inc({ reason })
        this.log.error({ kind: spec.kind, batchId: spec.batchId, reason }, 'transaction would revert; not sent')
        this.proofCache = undefined
        return false
      }
      gas = (gas * BigInt(100 + this.options.gasMarginPercent)) / 100n
    }
    const nonce = replacing?.nonce ?? (await l1.getTransactionCount({ address: this.address, blockTag: 'pending' }))
    const raw = await this.account.signTransaction({
      type: 'eip1559',
      chainId: this.l1ChainId,
      nonce,
      to: spec.to,
      data: spec.data,
      gas,
      ...fees,
    })
    const hash = keccak256(raw)
    const attempt: ProverAttempt = { hash, ...fees, sentAtL1Block: head.number }
    const inFlight: ProverInFlight = { ...spec, nonce, gas, attempts: [...(replacing?.attempts ?? []), attempt] }
    // Written before broadcasting: after a crash the next start follows this nonce and hash.
    this.options.progress.update((p) => ({ ...p, inFlight }))
    if (replacing) metrics.resubmissions.inc()
    try {
      await l1.request({ method: 'eth_sendRawTransaction', params: [raw] })
    } catch (error) {
      const message = error instanceof BaseError ? error.details || error.shortMessage : String(error)
      if (!/already known/i.test(message)) {
        metrics.failures.inc({ reason: /underpriced/i.test(message) ? 'underpriced' : 'send_failed' })
        this.log.warn({ err: error, txHash: hash, nonce }, 'L1 node refused the transaction; following it anyway')
      }
    }
    this.log.info(
      {
        kind: spec.kind,
        batchId: spec.batchId,
        txHash: hash,
        nonce,
        gas,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        replacement: replacing !== undefined,
      },
      spec.kind === 'prove' ? 'proof sent' : `${spec.kind} transaction sent`,
    )
    return true
  }

  /** Fee caps: twice the base fee plus the suggested tip; a replacement raises both by `--fee-bump-percent`. */
  private async fees(
    head: L1Head,
    previous: ProverAttempt | undefined,
  ): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const priority = await this.options.l1.estimateMaxPriorityFeePerGas().catch(() => 1_000_000_000n)
    const market = { maxFeePerGas: (head.baseFeePerGas ?? 0n) * 2n + priority, maxPriorityFeePerGas: priority }
    if (previous === undefined) return market
    const bump = (value: bigint, floor: bigint) => bumpFee(value, this.options.feeBumpPercent, floor)
    return {
      maxFeePerGas: bump(previous.maxFeePerGas, market.maxFeePerGas),
      maxPriorityFeePerGas: bump(previous.maxPriorityFeePerGas, market.maxPriorityFeePerGas),
    }
  }

  private async follow(inFlight: ProverInFlight, head: L1Head): Promise<void> {
    const { metrics } = this.options
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
        metrics.failures.inc({ reason })
        this.log.error(
          { kind: inFlight.kind, batchId: inFlight.batchId, txHash: receipt.transactionHash, reason },
          'transaction reverted on L1; re-reading the Inbox',
        )
        this.finish()
        return
      }
      case 'lost':
        if (status.reason === 'nonce_taken') {
          metrics.failures.inc({ reason: 'nonce_taken' })
          this.log.warn(
            { nonce: inFlight.nonce, latestNonce: status.latestNonce },
            'nonce of the transaction in flight was used by another one',
          )
        } else {
          this.log.warn(
            { kind: inFlight.kind, batchId: inFlight.batchId, nonce: inFlight.nonce },
            'transaction dropped',
          )
        }
        this.finish()
        return
      case 'resend':
        this.log.warn(
          {
            kind: inFlight.kind,
            batchId: inFlight.batchId,
            nonce: inFlight.nonce,
            txHash: inFlight.attempts.at(-1)?.hash,
          },
          'transaction stuck; replacing it with higher fees',
        )
        await this.send(inFlight, head, inFlight)
    }
  }

  private confirmed(inFlight: ProverInFlight, receipt: TransactionReceipt): void {
    const { metrics } = this.options
    this.recordFees(receipt)
    const verified = parseEventLogs({ abi: inboxAbi, eventName: 'BatchesVerified', logs: receipt.logs }).at(-1)
    if (verified !== undefined) metrics.latestVerifiedBatch.set(Number(verified.args.lastVerifiedBatchId))
    const context = {
      kind: inFlight.kind,
      batchId: inFlight.batchId,
      txHash: receipt.transactionHash,
      l1Block: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      verifiedBatch: verified?.args.lastVerifiedBatchId,
      verifiedBlock: verified?.args.l2BlockId,
    }
    if (inFlight.kind === 'prove' && inFlight.batchId !== undefined) {
      const batchId = inFlight.batchId
      metrics.proofs.inc()
      metrics.latestProvenBatch.set(Number(batchId))
      this.options.progress.update((p) => ({
        ...p,
        inFlight: undefined,
        lastProven: { batchId, txHash: receipt.transactionHash, l1Block: receipt.blockNumber },
      }))
      this.log.info(context, 'proof accepted')
    } else {
      this.log.info(context, inFlight.kind === 'register' ? 'instance registered' : 'verification advanced')
      this.options.progress.update((p) => ({ ...p, inFlight: undefined }))
    }
  }

  private finish(): void {
    this.options.progress.update((p) => ({ ...p, inFlight: undefined }))
  }

  private recordFees(receipt: TransactionReceipt): void {
    this.options.metrics.gasUsed.inc(Number(receipt.gasUsed))
    this.options.metrics.feesWei.inc(Number(receipt.gasUsed * receipt.effectiveGasPrice))
  }
}
