import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { Address } from '@ethereumjs/util'
import { bytesToHex } from '@ethereumjs/util'
import type { ChainStore } from '@cairn/chain'
import { anchorOf, type BlockExecutor, type RejectedTransaction, type TransactionSource } from '@cairn/executor'
import { type L1Anchor, SerialLock } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { Histogram, type Logger, type Registry } from '@cairn/telemetry'

/**
 * How long a block being built waits for more once the pool runs dry. Under load, arrivals come in
 * bursts with pauses between (RPC turns, sender recovery in batches, a client descheduled); a pause
 * must not close the block and leave what follows for a slot later. A lone transaction's block
 * seals this much later.
 */
const LINGER_MS = 25

/** What the sequencer needs from the mempool. */
export interface SequencerMempool {
  selectForBlock(baseFee: bigint): TransactionSource
  onNewHead(head: {
    baseFee: bigint
    includedTxHashes: Uint8Array[]
    accounts?: Map<string, { nonce: bigint; balance: bigint }>
    /** The new head's number and the safe head: the pool's journal keeps included transactions until safe. */
    number?: bigint
    safeNumber?: bigint
  }): Promise<void>
  /** Drops transactions that failed to execute so they are not offered again. */
  removeRejected?(rejected: RejectedTransaction[]): Promise<void> | void
  status(): { pending: number; queued: number }
  onPending(listener: (tx: TypedTransaction) => void): () => void
}

export interface SequencerOptions {
  chain: ChainStore
  state: StateDB
  executor: BlockExecutor
  mempool: SequencerMempool
  logger: Logger
  metrics?: Registry
  /** Seconds between blocks; 0 builds one block per transaction as soon as it arrives. */
  blockTime: number
  coinbase?: Address
  /** Heads that follow latest when there is no L1 to derive them from (dev mode). */
  alsoHeads?: ('safe' | 'finalized')[]
  /** Seconds since the epoch; injectable for tests. */
  now?: () => number
  /** Shared with derivation: one owner of the head state at a time. */
  lock?: SerialLock
  /**
   * The L1 block new blocks anchor to (from the L1 watcher). When set and it returns undefined
   * (L1 not seen yet) no block is built. Unset: blocks anchor to L1 block 0 (a chain without L1).
   */
  anchor?: () => L1Anchor | undefined
}

/**
 * The block production loop: one owner of the head state. Every `blockTime` it takes the best
 * transactions from the mempool, builds a block, persists it with its state in one batch and
 * tells the mempool what was included. A slot's block is built when it begins if transactions
 * wait, else at the first arrival, else empty near its end. A block takes in transactions that
 * arrive while it is built until its slot ends; a build whose sealing runs into the next slot is
 * followed by that slot's block at once.
 */
export class Sequencer {
  private timer: NodeJS.Timeout | undefined
  private running = false
  private inFlight: Promise<unknown> = Promise.resolve()
  private unsubscribe: (() => void) | undefined
  private readonly buildSeconds: Histogram | undefined

  constructor(private readonly options: SequencerOptions) {
    this.lock = options.lock ?? new SerialLock()
    if (options.metrics) {
      this.buildSeconds = new Histogram({
        name: 'cairn_block_build_seconds',
        help: 'Time to build, seal and persist a block',
        buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
        registers: [options.metrics],
      })
    }
  }

  start(): void {
    if (this.running) return
    this.running = true
    if (this.options.blockTime === 0) {
      this.unsubscribe = this.options.mempool.onPending(() => this.schedule())
      // Also look every second: transactions that arrived while no block could be built (no L1
      // anchor yet, a failed build) must not wait for the next arrival.
      this.timer = setInterval(() => this.options.mempool.status().pending > 0 && this.schedule(), 1000)
      this.schedule()
    } else {
      this.unsubscribe = this.options.mempool.onPending(() => this.fillSlot())
      this.openStartingSlot()
      this.awaitSlot()
    }
    this.options.logger.info(
      { blockTime: this.options.blockTime, head: Number(this.options.chain.head().header.number) },
      'sequencer started',
    )
  }

  /** Stops producing and waits for the block in progress to be persisted. */
  async stop(): Promise<void> {
    this.running = false
    if (this.timer) clearInterval(this.timer)
    clearTimeout(this.slotEndTimer)
    this.unsubscribe?.()
    await this.inFlight.catch(() => {})
  }

  /** Builds, seals and persists one block now (undefined when no L1 anchor is known yet). Calls are serialized. */
  produceBlock(): Promise<Block | undefined> {
    const next = this.inFlight.catch(() => {}).then(() => this.lock.run(() => this.buildAndCommit()))
    this.inFlight = next
    return next
  }

  /** Arms the timer that opens the next slot. */
  private awaitSlot(): void {
    const slotMs = this.options.blockTime * 1000
    this.timer = setTimeout(() => {
      if (!this.running) return
      this.awaitSlot()
      // Timers run on a monotonic clock, slots on the wall clock: one a moment early opens nothing.
      const slot = Math.floor(Date.now() / slotMs)
      if (slot !== this.openedSlot) this.openSlot(slot, slotMs * 0.9)
    }, this.msLeftInSlot())
  }

  /**
   * Opens the slot the node starts in, so that a transaction sent to a node just started is built at
   * once, not a slot later; unless the head was stamped in it (a restart within the slot of the last
   * block) or its empty-block time has passed.
   */
  private openStartingSlot(): void {
    const slotMs = this.options.blockTime * 1000
    const now = Date.now()
    const slot = Math.floor(now / slotMs)
    const msToClose = (slot + 0.9) * slotMs - now
    const slotSecond = BigInt(Math.floor((slot * slotMs) / 1000))
    if (msToClose > 0 && this.options.chain.head('latest').header.timestamp < slotSecond) this.openSlot(slot, msToClose)
    // Its block is made or its time is up: a slot timer that fires a moment early (by the wall
    // clock) must not open it either.
    else this.openedSlot = slot
  }

  /** The slot takes its block from now on; a slot still without one at `msToClose` gets an empty one. */
  private openSlot(slot: number, msToClose: number): void {
    this.openedSlot = slot
    this.slotOpen = true
    clearTimeout(this.slotEndTimer)
    this.slotEndTimer = setTimeout(() => this.closeSlot(), msToClose)
    this.fillSlot()
  }

  /** Milliseconds until the current slot ends; slots start at multiples of `blockTime` since the epoch. */
  private msLeftInSlot(): number {
    const slotMs = this.options.blockTime * 1000
    return slotMs - (Date.now() % slotMs)
  }

  /**
   * Builds the open slot's block as soon as transactions wait and no build is in progress: when the
   * slot begins, when a build that ran into it ends, or at the first arrival (a lone transaction
   * does not wait out an idle slot).
   */
  private fillSlot(): void {
    if (!this.slotOpen || this.busy() || this.options.mempool.status().pending === 0) return
    this.slotOpen = false
    this.schedule()
  }

  /** Near the slot's end, a slot still without a block gets an empty one. */
  private closeSlot(): void {
    if (!this.slotOpen || this.busy()) return
    this.slotOpen = false
    // A chain that ran ahead of the clock (a block built late in the slot before) skips it, so it
    // falls back in step instead of staying ahead.
    const now = BigInt(Math.floor((this.options.now ?? (() => Date.now() / 1000))()))
    if (this.options.chain.head('latest').header.timestamp < now) this.schedule()
  }

  private busy(): boolean {
    return this.scheduled || this.producing
  }

  private schedule(): void {
    if (!this.running) return
    // One queued production at a time: ticks arriving during a build collapse into the next one.
    if (this.scheduled) return
    this.scheduled = true
    void this.inFlight
      .catch(() => {})
      .then(async () => {
        this.scheduled = false
        if (!this.running) return
        this.producing = true
        // In block-per-transaction mode keep sealing while transactions wait; stop when a build
        // produced nothing (no anchor yet, or a failure) so the loop never spins.
        let block: Block | undefined
        do {
          block = await this.produceBlock().catch((error) => {
            this.options.logger.error({ err: error }, 'block production failed')
            return undefined
          })
        } while (
          block !== undefined &&
          this.running &&
          this.options.blockTime === 0 &&
          this.options.mempool.status().pending > 0
        )
        this.producing = false
        this.fillSlot()
      })
  }

  private scheduled = false
  private producing = false
  /** The current slot has no block yet and none is scheduled for it. */
  private slotOpen = false
  private openedSlot: number | undefined
  private slotEndTimer: NodeJS.Timeout | undefined
  private readonly lock: SerialLock

  private async buildAndCommit(): Promise<Block | undefined> {
    const { chain, executor, mempool, state, logger } = this.options
    const latest = this.options.anchor?.()
    if (this.options.anchor !== undefined && latest === undefined) {
      logger.debug('no L1 anchor yet: waiting for the L1 watcher before building')
      return undefined
    }
    const started = performance.now()
    const parent = chain.head('latest')
    // The L1 origin never goes back: a parent derived from someone else's batch may anchor later
    // than this node's watcher does; keep the parent's anchor until the watcher passes it.
    const parentAnchor = anchorOf(parent.header)
    const anchor =
      latest !== undefined && parentAnchor !== undefined && parentAnchor.number > latest.number ? parentAnchor : latest
    const now = BigInt(Math.floor((this.options.now ?? (() => Date.now() / 1000))()))
    // Timestamps strictly increase; with sub-second blocks they run ahead of the clock, as in geth --dev.
    const timestamp = now > parent.header.timestamp ? now : parent.header.timestamp + 1n
    const baseFee = parent.header.calcNextBaseFee()
    const { executed, rejected } = await executor.build(
      parent,
      {
        timestamp,
        coinbase: this.options.coinbase,
        maxTransactions: this.options.blockTime === 0 ? 1 : undefined,
        // A block takes in arrivals while it is built (the pool's selection refreshes) until its slot
        // ends: under load the chain keeps one block per slot, each sealed as its slot closes.
        executionBudgetMs: this.options.blockTime > 0 ? this.msLeftInSlot() : undefined,
        lingerMs: this.options.blockTime > 0 ? LINGER_MS : undefined,
        anchor,
      },
      mempool.selectForBlock(baseFee),
    )
    try {
      await chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        state.pendingBatch(),
        { alsoHeads: this.options.alsoHeads },
      )
    } catch (error) {
      // The head state already moved to the unpersisted block: put it back on the parent.
      state.discardPending()
      await executor.state.setStateRoot(parent.header.stateRoot)
      throw error
    }
    // The executor's state is the new head and holds the senders' accounts warm: hand the mempool
    // their nonce and balance instead of letting it re-read each from a cold view of the new root.
    const accounts = new Map<string, { nonce: bigint; balance: bigint }>()
    for (const tx of executed.block.transactions) {
      const sender = tx.getSenderAddress()
      const key = sender.toString()
      if (accounts.has(key)) continue
      const account = await executor.state.getAccount(sender)
      accounts.set(key, { nonce: account?.nonce ?? 0n, balance: account?.balance ?? 0n })
    }
    await mempool.onNewHead({
      baseFee: executed.block.header.baseFeePerGas ?? 0n,
      includedTxHashes: executed.block.transactions.map((tx) => tx.hash()),
      accounts,
      number: executed.block.header.number,
      safeNumber: chain.head('safe').header.number,
    })
    if (rejected.length > 0) {
      await mempool.removeRejected?.(rejected)
      for (const { tx, reason } of rejected)
        logger.debug({ tx: bytesToHex(tx.hash()), reason }, 'transaction not included')
    }
    const seconds = (performance.now() - started) / 1000
    this.buildSeconds?.observe(seconds)
    logger.info(
      {
        number: Number(executed.block.header.number),
        hash: bytesToHex(executed.block.hash()),
        txs: executed.block.transactions.length,
        gasUsed: Number(executed.block.header.gasUsed),
        ms: Math.round(seconds * 1000),
      },
      'sealed block',
    )
    return executed.block
  }
}
