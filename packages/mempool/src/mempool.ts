import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { type Address, type PrefixedHexString, bytesToHex, eoaCode7702RecoverAuthority } from '@ethereumjs/util'
import { type MempoolConfig, resolveMempoolConfig } from './config.ts'
import { type DecodedTransaction, checkSender, effectiveTip, feeCaps, parseTransaction } from './decode.ts'
import { MempoolError, MempoolErrorCode, isMempoolError } from './errors.ts'
import { BinaryHeap } from './heap.ts'
import type { MempoolJournal } from './journal.ts'
import { PriceAndNonceSelection, type TxSelection } from './selection.ts'
import { type PooledTx, SenderTxs } from './sender-txs.ts'

/** Reads the head state. A missing account reads as nonce 0, balance 0. */
export interface AccountStateReader {
  getAccount(address: Address): Promise<{ nonce: bigint; balance: bigint }>
}

export interface AddOptions {
  /**
   * Largest fee the transaction may offer, gas limit × fee cap, in wei (geth's `--rpc.txfeecap`,
   * which guards the node's own users against a mistyped fee; transactions from peers are not capped).
   */
  maxTxFee?: bigint
}

export interface MempoolOptions {
  /** The L2 chain's Common; give it `customCrypto.ecrecover` (native) or admission costs ~1.3 ms per tx. */
  common: Common
  state: AccountStateReader
  /** `chainId` defaults to the Common's, `blockGasLimit` to its genesis gas limit. */
  config?: Partial<MempoolConfig>
  journal?: MempoolJournal
  /** Base fee of the current head until the first {@link Mempool.onNewHead}; it orders eviction. */
  baseFee?: bigint
  /** Milliseconds clock for the queued lifetime; tests pass their own. */
  now?: () => number
  /**
   * Recovers the senders of parsed transactions ahead (on worker threads: `SenderRecovery.prime`
   * of @cairn/executor); without it each sender is recovered on the calling thread.
   */
  recoverSenders?: (txs: readonly TypedTransaction[]) => Promise<void>
}

export interface NewHead {
  /** Base fee of the next block to build. */
  baseFee: bigint
  includedTxHashes: Uint8Array[]
  /**
   * Accounts whose nonce or balance the block may have changed beyond what the pool can tell from
   * its own transactions: senders of included transactions it never saw (another sequencer's
   * block, a forced inclusion). Their state is re-read now rather than on their next add.
   */
  touchedAccounts?: Address[]
  /**
   * Post-block nonce and balance of accounts the caller already has at hand (the sequencer reads
   * its included senders from the executor's warm state), keyed by `Address.toString()`; used
   * instead of a state read.
   */
  accounts?: Map<string, { nonce: bigint; balance: bigint }>
  /**
   * The new head's number and the chain's safe head. With both, the journal keeps the pool's
   * transactions this block included until the safe head passes it: an unsafe block can still be
   * dropped (an L1 reorg, an expired anchor), and a crash before its transactions are back in the
   * pool must not lose them. Without, included transactions leave the journal at its next rotation.
   */
  number?: bigint
  safeNumber?: bigint
}

/** Pool contents by lowercase 0x sender address, then nonce (the shape of `txpool_content`). */
export interface PoolContent {
  pending: Map<PrefixedHexString, Map<bigint, TypedTransaction>>
  queued: Map<PrefixedHexString, Map<bigint, TypedTransaction>>
}

export interface SenderContent {
  pending: Map<bigint, TypedTransaction>
  queued: Map<bigint, TypedTransaction>
}

export interface RestoreResult {
  /** Journaled transactions back in the pool. */
  restored: number
  /** Journaled transactions no longer valid (included meanwhile, replaced, underfunded...). */
  dropped: number
  /** Bytes of a torn last record cut from the journal. */
  truncatedBytes: number
}

/** Counters since start, for metrics; `pending`/`queued`/`senders` are current sizes. */
export interface MempoolStats {
  pending: number
  queued: number
  senders: number
  /** Transactions admitted, replacements included. */
  accepted: number
  replaced: number
  /** Dropped to make room for better-paying ones or to respect the global limits. */
  evicted: number
  /** Dropped because the state made them invalid (nonce passed, balance no longer covers). */
  invalidated: number
  /** Queued transactions dropped after the lifetime. */
  expired: number
  /** Removed because a block included them. */
  included: number
  /** Refusals by {@link MempoolErrorCode}. */
  rejected: Record<string, number>
}

type PendingListener = (tx: TypedTransaction) => void

interface HeapEntry {
  tx: PooledTx
  stamp: number
}

/** Transactions inserted since the journal's last write; their admissions resolve once it is written. */
interface JournalBatch {
  txs: PooledTx[]
  /** The transaction each replacement in `txs` replaced, to put back should the write fail. */
  replaced: Map<PooledTx, PooledTx>
  written: Promise<void>
  resolve: () => void
  reject: (error: MempoolError) => void
}

const NOTHING_TO_JOURNAL = Promise.resolve()

/** Below this many records the journal is never rotated: rewriting a small file buys nothing. */
const JOURNAL_ROTATE_MIN_RECORDS = 1024
/** Attempts to read a sender's state without a head change landing in between. */
const STATE_READ_ATTEMPTS = 8

/**
 * The transaction pool: validates transactions as geth does, keeps each sender's in nonce order
 * split into pending (executable now) and queued (behind a nonce gap), bounds them per sender and
 * overall by evicting the cheapest, hands the block producer a price-and-nonce ordered selection,
 * and journals what it accepted so a restart loses nothing. The journal is group-committed: the
 * transactions admitted together (those whose senders one message of the recovery worker brings)
 * go to the file in one write, and each add resolves only after that write.
 *
 * Account state is cached per sender and re-read once per head (eagerly for senders whose
 * transactions were included, lazily on the next add for the rest), so `add` costs one state
 * read per sender per block rather than one per transaction.
 */
export class Mempool {
  readonly config: MempoolConfig
  private readonly common: Common
  private readonly state: AccountStateReader
  private readonly journal: MempoolJournal | undefined
  private readonly now: () => number
  private readonly recoverSenders: (txs: readonly TypedTransaction[]) => Promise<void>

  private readonly byHash = new Map<string, PooledTx>()
  private readonly senders = new Map<string, SenderTxs>()
  private readonly stateReads = new Map<string, { epoch: number; promise: Promise<void> }>()
  /** Cheapest first, newest first among equals: the eviction order. */
  private readonly pendingHeap = new BinaryHeap<HeapEntry>(evictsBefore)
  private readonly queuedHeap = new BinaryHeap<HeapEntry>(evictsBefore)
  private readonly listeners = new Set<PendingListener>()
  private enteredPending: PooledTx[] = []
  /** Senders with transactions that became pending since the latest block selection, until the next head. */
  private touchedSinceSelection: Set<SenderTxs> | undefined
  private journalBatch: JournalBatch | undefined
  private readonly counters = { accepted: 0, replaced: 0, evicted: 0, invalidated: 0, expired: 0, included: 0 }
  private readonly rejected: Record<string, number> = {}

  private pendingTotal = 0
  private queuedTotal = 0
  /** Bumped at every head: a sender whose state was read at an older epoch is read again. */
  private epoch = 0
  /** Transactions of the pool included in blocks above the safe head, oldest first (see NewHead.number). */
  private includedUnsafe: { number: bigint; raw: Uint8Array }[] = []
  private baseFee: bigint
  private seq = 0
  private heapStamp = 0

  constructor(options: MempoolOptions) {
    this.common = options.common
    this.state = options.state
    this.journal = options.journal
    this.now = options.now ?? Date.now
    this.recoverSenders = options.recoverSenders ?? (async () => {})
    this.baseFee = options.baseFee ?? 0n
    this.config = resolveMempoolConfig(options.config ?? {}, {
      chainId: options.common.chainId(),
      blockGasLimit: genesisGasLimit(options.common),
    })
  }

  /** Validates and adds an encoded transaction; resolves to its hash once it is pooled (and journaled). */
  async addRaw(raw: Uint8Array, options: AddOptions = {}): Promise<Uint8Array> {
    try {
      // A resubmission (client retry, gossip echo) is answered before paying for decoding and recovery.
      const keccak = this.common.customCrypto.keccak256
      let known: { hash: Uint8Array; hashHex: string } | undefined
      if (keccak !== undefined) {
        const hash = keccak(raw)
        known = { hash, hashHex: bytesToHex(hash) }
        if (this.byHash.has(known.hashHex)) throw alreadyKnown()
      }
      const tx = parseTransaction(raw, this.common, this.config)
      if (options.maxTxFee !== undefined) checkTxFee(tx, options.maxTxFee)
      await this.recoverSenders([tx])
      return await this.admit(checkSender(tx, raw, this.config, known), true)
    } catch (error) {
      if (error instanceof MempoolError) this.rejected[error.code] = (this.rejected[error.code] ?? 0) + 1
      throw error
    }
  }

  /** Same as {@link addRaw} for a built transaction; the pool keeps its own decoding bound to the pool's Common. */
  async add(tx: TypedTransaction): Promise<Uint8Array> {
    return this.addRaw(tx.serialize())
  }

  /** Re-adds every journaled transaction (invalid ones are dropped silently), then compacts the journal. */
  async restore(): Promise<RestoreResult> {
    if (this.journal === undefined) return { restored: 0, dropped: 0, truncatedBytes: 0 }
    const { records, truncatedBytes } = this.journal.load()
    let restored = 0
    let dropped = 0
    const parsed = records.map((raw) => {
      try {
        return { raw, tx: parseTransaction(raw, this.common, this.config) }
      } catch (error) {
        if (!(error instanceof MempoolError)) throw error
        return undefined
      }
    })
    await this.recoverSenders(parsed.flatMap((record) => (record === undefined ? [] : [record.tx])))
    for (const record of parsed) {
      if (record === undefined) {
        dropped++
        continue
      }
      try {
        await this.admit(checkSender(record.tx, record.raw, this.config), false)
        restored++
      } catch (error) {
        if (!(error instanceof MempoolError)) throw error
        dropped++
      }
    }
    this.rotateJournal()
    return { restored, dropped, truncatedBytes }
  }

  /**
   * Applies a new head: drops the included transactions, re-reads the state of their senders (and
   * of EIP-7702 authorities they touched), drops what became invalid, promotes and demotes, expires
   * old queued transactions and rotates the journal when it holds twice the live transactions.
   */
  async onNewHead(head: NewHead): Promise<void> {
    const epoch = ++this.epoch
    this.touchedSinceSelection = undefined
    this.baseFee = head.baseFee
    const affected = new Map<string, Address>()
    const touched = new Set<SenderTxs>()
    // Included in a block the safe head has not reached: the journal keeps it (see NewHead.number).
    const unsafeBlock =
      this.journal !== undefined &&
      head.number !== undefined &&
      head.safeNumber !== undefined &&
      head.number > head.safeNumber
        ? head.number
        : undefined
    for (const hash of head.includedTxHashes) {
      const pooled = this.byHash.get(bytesToHex(hash))
      if (pooled === undefined) continue
      if (unsafeBlock !== undefined) this.includedUnsafe.push({ number: unsafeBlock, raw: pooled.raw })
      affected.set(pooled.senderKey, pooled.sender)
      for (const authority of authoritiesOf(pooled.tx)) affected.set(authority.toString(), authority)
      const sender = this.senders.get(pooled.senderKey) as SenderTxs
      sender.remove(pooled)
      this.forget(pooled)
      this.counters.included++
      // Until the state read lands, the inclusion itself says where the account's nonce is.
      if (pooled.nonce >= sender.nonce) sender.nonce = pooled.nonce + 1n
      touched.add(sender)
    }
    for (const account of head.touchedAccounts ?? []) affected.set(account.toString(), account)
    for (const sender of touched) {
      for (const stale of sender.removeWhere((tx) => tx.nonce < sender.nonce)) {
        this.forget(stale)
        this.counters.invalidated++
      }
      this.settle(sender, 0)
    }
    for (const [key, sender] of this.senders) {
      if (sender.txs.length === 0 && !affected.has(key)) this.senders.delete(key)
    }
    this.flushPendingEvents()
    await Promise.all(
      [...affected].map(([key, address]) => {
        const known = head.accounts?.get(key)
        if (known === undefined) return this.readSenderState(address, key)
        this.applyAccount(address, key, known.nonce, known.balance)
        return undefined
      }),
    )
    if (epoch !== this.epoch) return // a later head (or revalidateAll) finishes the job
    this.expireQueued()
    this.rebuildEvictionHeaps()
    this.enforceGlobalLimits()
    this.flushPendingEvents()
    const { safeNumber } = head
    if (safeNumber !== undefined) {
      this.includedUnsafe = this.includedUnsafe.filter((included) => included.number > safeNumber)
    }
    if (
      this.journal !== undefined &&
      this.journal.recordCount >=
        Math.max(2 * (this.byHash.size + this.includedUnsafe.length), JOURNAL_ROTATE_MIN_RECORDS)
    ) {
      // Not awaited: the next block must not wait for the disk.
      this.writeJournalBatch()
      void this.journal.rotateInBackground(this.liveRaws())
    }
  }

  /**
   * Drops transactions the block builder could not execute (their sender's state moved under them:
   * a balance spent by an earlier transaction, a nonce taken), so they are not offered again; the
   * sender's later transactions wait behind the gap, and its state is re-read on its next add.
   */
  removeRejected(rejected: { tx: TypedTransaction }[]): void {
    for (const { tx } of rejected) {
      const pooled = this.byHash.get(bytesToHex(tx.hash()))
      if (pooled === undefined) continue
      const sender = this.senders.get(pooled.senderKey) as SenderTxs
      sender.remove(pooled)
      this.forget(pooled)
      this.counters.invalidated++
      sender.epoch = -1
      this.settle(sender, 0)
    }
    this.flushPendingEvents()
  }

  /** Re-reads every sender's state (after a reorg) and drops, promotes and demotes accordingly. */
  async revalidateAll(): Promise<void> {
    const epoch = ++this.epoch
    await Promise.all([...this.senders.values()].map((sender) => this.readSenderState(sender.address, sender.key)))
    if (epoch !== this.epoch) return
    this.expireQueued()
    this.rebuildEvictionHeaps()
    this.enforceGlobalLimits()
    this.flushPendingEvents()
  }

  /**
   * Pending transactions in block order for `baseFee`; see {@link TxSelection}. Writes the journal's
   * batch first: a block never holds a transaction whose add may yet fail on the journal.
   */
  selectForBlock(baseFee: bigint): TxSelection {
    this.writeJournalBatch()
    const lists: PooledTx[][] = []
    for (const sender of this.senders.values()) {
      if (sender.pendingCount > 0) lists.push(sender.pendingTxs())
    }
    // The block being built may take in what becomes pending until its head arrives (`refresh`).
    const touched = new Set<SenderTxs>()
    this.touchedSinceSelection = touched
    return new PriceAndNonceSelection(
      lists,
      baseFee,
      () => {
        if (this.touchedSinceSelection !== touched) return []
        this.writeJournalBatch()
        const arrived: PooledTx[][] = []
        for (const sender of touched) {
          if (sender.pendingCount > 0) arrived.push(sender.pendingTxs())
        }
        touched.clear()
        return arrived
      },
      (listener) => this.onPending(listener),
    )
  }

  get(hash: Uint8Array | PrefixedHexString): TypedTransaction | undefined {
    return this.byHash.get(hashKey(hash))?.tx
  }

  /** A pooled transaction's encoding as it was received (the pool takes only canonical encodings). */
  rawTransaction(hash: Uint8Array | PrefixedHexString): Uint8Array | undefined {
    return this.byHash.get(hashKey(hash))?.raw
  }

  has(hash: Uint8Array | PrefixedHexString): boolean {
    return this.byHash.has(hashKey(hash))
  }

  /** Whether a pooled transaction is executable now (`pending`) or waits behind a nonce gap (`queued`). */
  statusOf(hash: Uint8Array | PrefixedHexString): 'pending' | 'queued' | undefined {
    const pooled = this.byHash.get(hashKey(hash))
    return pooled === undefined ? undefined : pooled.pending ? 'pending' : 'queued'
  }

  /** The nonce `eth_getTransactionCount(address, 'pending')` answers: state nonce plus pending transactions. */
  async pendingNonce(address: Address): Promise<bigint> {
    const key = address.toString()
    let sender = this.senders.get(key)
    if (sender === undefined || sender.epoch !== this.epoch) {
      await this.readSenderState(address, key)
      sender = this.senders.get(key)
    }
    return sender === undefined ? (await this.state.getAccount(address)).nonce : sender.nextPendingNonce
  }

  status(): { pending: number; queued: number } {
    return { pending: this.pendingTotal, queued: this.queuedTotal }
  }

  stats(): MempoolStats {
    return {
      pending: this.pendingTotal,
      queued: this.queuedTotal,
      senders: this.senders.size,
      ...this.counters,
      rejected: { ...this.rejected },
    }
  }

  /** Compacts the journal to the live transactions and closes it; call on shutdown. */
  close(): void {
    if (this.journal === undefined) return
    this.rotateJournal()
    this.journal.close()
  }

  get size(): number {
    return this.byHash.size
  }

  content(): PoolContent {
    const content: PoolContent = { pending: new Map(), queued: new Map() }
    for (const sender of this.senders.values()) {
      const { pending, queued } = this.senderContent(sender)
      const key = sender.key as PrefixedHexString
      if (pending.size > 0) content.pending.set(key, pending)
      if (queued.size > 0) content.queued.set(key, queued)
    }
    return content
  }

  contentFrom(address: Address): SenderContent {
    const sender = this.senders.get(address.toString())
    return sender === undefined ? { pending: new Map(), queued: new Map() } : this.senderContent(sender)
  }

  /** Every pending transaction, grouped by sender in nonce order. */
  pendingTransactions(): TypedTransaction[] {
    return this.pendingEntries().map((pooled) => pooled.tx)
  }

  /**
   * Hashes of the pending transactions with their hex keys and when each entered the pool, read off
   * the pool's entries (nothing hashed or encoded).
   */
  pendingHashes(): { readonly hash: Uint8Array; readonly hashHex: string; readonly addedAt: number }[] {
    return this.pendingEntries()
  }

  private pendingEntries(): PooledTx[] {
    const entries: PooledTx[] = []
    for (const sender of this.senders.values()) {
      for (let i = 0; i < sender.pendingCount; i++) entries.push(sender.txs[i] as PooledTx)
    }
    return entries
  }

  /**
   * Calls `listener` whenever a transaction becomes pending (new, replacing a pending one, or
   * promoted). Returns the function that unsubscribes.
   */
  onPending(listener: PendingListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Rewrites the journal with exactly the live transactions (each sender's in nonce order). */
  rotateJournal(): void {
    if (this.journal === undefined) return
    // The batch goes to the old file first: written after the snapshot, it would be copied in twice.
    this.writeJournalBatch()
    this.journal.rotate(this.liveRaws())
  }

  /** What the journal keeps: the pool's transactions, and those included in blocks not yet safe. */
  private liveRaws(): Uint8Array[] {
    const raws: Uint8Array[] = this.includedUnsafe.map((included) => included.raw)
    for (const sender of this.senders.values()) for (const tx of sender.txs) raws.push(tx.raw)
    return raws
  }

  // ---- admission ----

  private async admit(decoded: DecodedTransaction, journal: boolean): Promise<Uint8Array> {
    if (this.byHash.has(decoded.hashHex)) throw alreadyKnown()
    let readThisCall = false
    for (let attempt = 0; ; attempt++) {
      const sender = this.senders.get(decoded.senderKey)
      if (sender !== undefined && (sender.epoch === this.epoch || attempt >= STATE_READ_ATTEMPTS)) {
        try {
          await this.insert(decoded, sender, journal)
          return decoded.hash
        } catch (error) {
          // The cached balance may predate a transfer to this sender: look again before refusing.
          if (readThisCall || !isMempoolError(error, MempoolErrorCode.InsufficientFunds)) throw error
          sender.epoch = -1
        }
      }
      await this.readSenderState(decoded.sender, decoded.senderKey)
      readThisCall = true
    }
  }

  /**
   * All stateful checks, then the change, with no await in between: concurrent adds never
   * interleave here. Returns when the transaction is journaled (settled at once if `journal` is off).
   */
  private insert(decoded: DecodedTransaction, sender: SenderTxs, journal: boolean): Promise<void> {
    const config = this.config
    if (this.byHash.has(decoded.hashHex)) throw alreadyKnown()
    if (decoded.nonce < sender.nonce) {
      throw new MempoolError(
        MempoolErrorCode.NonceTooLow,
        `nonce too low: next nonce ${sender.nonce}, tx nonce ${decoded.nonce}`,
      )
    }
    const balance = sender.balance
    if (balance < decoded.cost) {
      throw insufficientFunds(`balance ${balance}, tx cost ${decoded.cost}, overshot ${decoded.cost - balance}`)
    }
    const existing = sender.get(decoded.nonce)
    if (existing?.pending) {
      const bump = decoded.cost - existing.cost
      const need = sender.pendingCost + bump
      if (balance < need) {
        throw insufficientFunds(
          `balance ${balance}, queued cost ${sender.pendingCost}, tx bumped ${bump}, overshot ${need - balance}`,
        )
      }
    } else {
      const need = sender.pendingCost + decoded.cost
      if (balance < need) {
        throw insufficientFunds(
          `balance ${balance}, queued cost ${sender.pendingCost}, tx cost ${decoded.cost}, overshot ${need - balance}`,
        )
      }
    }

    // Spelled out rather than spread: one literal shape keeps property access fast on the hot path.
    const pooled: PooledTx = {
      tx: decoded.tx,
      raw: decoded.raw,
      hash: decoded.hash,
      hashHex: decoded.hashHex,
      sender: decoded.sender,
      senderKey: decoded.senderKey,
      nonce: decoded.nonce,
      tipCap: decoded.tipCap,
      feeCap: decoded.feeCap,
      cost: decoded.cost,
      seq: ++this.seq,
      addedAt: this.now(),
      pending: false,
      removed: false,
      priority: effectiveTip(decoded.tipCap, decoded.feeCap, this.baseFee),
      heapStamp: 0,
      cumulativeCost: 0n,
    }

    if (existing !== undefined) {
      if (!outbids(decoded, existing, config.priceBumpPercent)) {
        throw new MempoolError(MempoolErrorCode.ReplacementUnderpriced, 'replacement transaction underpriced', {
          details: { tipCap: existing.tipCap.toString(), feeCap: existing.feeCap.toString() },
        })
      }
      const index = sender.replace(existing, pooled)
      this.forget(existing)
      this.counters.accepted++
      this.counters.replaced++
      this.byHash.set(pooled.hashHex, pooled)
      sender.lastActivity = this.now()
      this.settle(sender, index)
      // Staged before listeners hear of it: one that selects a block at once must find it in the batch.
      const journaled = this.stageForJournal(pooled, journal, existing)
      this.flushPendingEvents()
      return journaled
    }

    const becomesPending = decoded.nonce === sender.nextPendingNonce
    if (!becomesPending && sender.queuedCount >= config.accountQueue) {
      throw new MempoolError(
        MempoolErrorCode.AccountLimitExceeded,
        `account limit exceeded: pooled ${sender.txs.length} txs`,
        { details: { pending: sender.pendingCount, queued: sender.queuedCount } },
      )
    }
    const overflow = becomesPending
      ? this.pendingTotal + 1 + sender.contiguousAfter(decoded.nonce) - config.globalSlots
      : this.queuedTotal + 1 - config.globalQueue
    let victims: PooledTx[] = []
    if (overflow > 0) {
      // accountSlots is each sender's guaranteed share of a full pool (geth's meaning): past it, no eviction on its behalf.
      if (becomesPending && sender.pendingCount >= config.accountSlots) throw txPoolFull(this.status())
      victims = this.chooseVictims(becomesPending, overflow, pooled)
    }

    for (const victim of victims) this.evict(victim)
    const index = sender.insert(pooled)
    this.byHash.set(pooled.hashHex, pooled)
    this.counters.accepted++
    sender.lastActivity = this.now()
    this.settle(sender, index)
    if (this.pendingHeap.size + this.queuedHeap.size > 2 * this.byHash.size + 1024) this.rebuildEvictionHeaps()
    const journaled = this.stageForJournal(pooled, journal)
    this.flushPendingEvents()
    return journaled
  }

  /**
   * Picks transactions of other senders to make room for `incoming`: the cheapest of the full set
   * (pending or queued), each taking the transactions above it along so no gap opens under a
   * pending transaction. Nothing changes unless enough room is found with transactions strictly
   * cheaper than `incoming`; otherwise `txpool is full`.
   */
  private chooseVictims(fromPending: boolean, needed: number, incoming: PooledTx): PooledTx[] {
    const heap = fromPending ? this.pendingHeap : this.queuedHeap
    const popped: HeapEntry[] = []
    const doomed = new Set<PooledTx>()
    const victims: PooledTx[] = []
    let freed = 0
    while (freed < needed) {
      const entry = heap.pop()
      if (entry === undefined) break
      const tx = entry.tx
      if (tx.removed || tx.heapStamp !== entry.stamp || tx.pending !== fromPending) continue // stale entry
      popped.push(entry)
      if (doomed.has(tx) || tx.senderKey === incoming.senderKey) continue
      if (tx.priority >= incoming.priority) break
      victims.push(tx)
      const sender = this.senders.get(tx.senderKey) as SenderTxs
      for (let i = sender.indexOf(tx.nonce); i < sender.txs.length; i++) {
        const above = sender.txs[i] as PooledTx
        doomed.add(above)
        if (above.pending === fromPending) freed++
      }
    }
    for (const entry of popped) if (!doomed.has(entry.tx)) heap.push(entry)
    if (freed < needed) {
      for (const entry of popped) if (doomed.has(entry.tx)) heap.push(entry)
      throw txPoolFull(this.status())
    }
    return victims
  }

  /** Drops `victim` and every later nonce of its sender. */
  private evict(victim: PooledTx): void {
    if (victim.removed) return
    const sender = this.senders.get(victim.senderKey) as SenderTxs
    const index = sender.indexOf(victim.nonce)
    for (const tx of sender.removeFrom(victim.nonce)) {
      this.forget(tx)
      this.counters.evicted++
    }
    this.settle(sender, index)
  }

  /**
   * State changes promote and demote without asking for room (a nonce jumping past a gap, a
   * balance drop stranding later nonces); trim back to the global limits, cheapest first.
   */
  private enforceGlobalLimits(): void {
    while (this.pendingTotal > this.config.globalSlots) {
      const entry = this.pendingHeap.pop()
      if (entry === undefined) break
      if (!entry.tx.removed && entry.tx.heapStamp === entry.stamp && entry.tx.pending) this.evict(entry.tx)
    }
    while (this.queuedTotal > this.config.globalQueue) {
      const entry = this.queuedHeap.pop()
      if (entry === undefined) break
      if (!entry.tx.removed && entry.tx.heapStamp === entry.stamp && !entry.tx.pending) this.evict(entry.tx)
    }
  }

  // ---- journal ----

  /**
   * Queues a transaction for the journal's next write: one write for the transactions admitted
   * together rather than one each. The write is a microtask, so it runs once the adds resumed by the
   * same event (a message of the recovery worker) are in, and no reply waits for a later turn of the
   * event loop; a block selection or a rotation writes it sooner.
   */
  private stageForJournal(pooled: PooledTx, enabled: boolean, replaced?: PooledTx): Promise<void> {
    if (!enabled || this.journal === undefined) return NOTHING_TO_JOURNAL
    let batch = this.journalBatch
    if (batch === undefined) {
      let resolve = () => {}
      let reject: (error: MempoolError) => void = () => {}
      const written = new Promise<void>((onWritten, onFailed) => {
        resolve = onWritten
        reject = onFailed
      })
      batch = { txs: [], replaced: new Map(), written, resolve, reject }
      this.journalBatch = batch
      queueMicrotask(() => this.writeJournalBatch())
    }
    batch.txs.push(pooled)
    if (replaced !== undefined) batch.replaced.set(pooled, replaced)
    return batch.written
  }

  /**
   * Writes the staged transactions in one append. If the write fails, their adds fail: they leave
   * the pool, and a transaction one of them replaced comes back (ones evicted to make room do not).
   * A hash is returned only for what the journal holds.
   */
  private writeJournalBatch(): void {
    const batch = this.journalBatch
    if (batch === undefined || this.journal === undefined) return
    this.journalBatch = undefined
    try {
      this.journal.append(batch.txs.map((pooled) => pooled.raw))
    } catch (error) {
      this.withdraw(batch)
      batch.reject(
        new MempoolError(
          MempoolErrorCode.JournalWriteFailed,
          `could not journal the transaction (${(error as Error).message}); it was not added`,
          { cause: error },
        ),
      )
      return
    }
    batch.resolve()
  }

  private withdraw(batch: JournalBatch): void {
    const failed = new Set(batch.txs)
    for (const pooled of batch.txs) {
      this.counters.accepted--
      if (batch.replaced.has(pooled)) this.counters.replaced--
      if (pooled.removed) continue
      const sender = this.senders.get(pooled.senderKey) as SenderTxs
      sender.remove(pooled)
      this.forget(pooled)
      // Back to the last transaction at this nonce the journal holds (a replacement may replace one in this batch).
      let original = batch.replaced.get(pooled)
      while (original !== undefined && failed.has(original)) original = batch.replaced.get(original)
      if (original !== undefined && original.nonce >= sender.nonce && sender.get(original.nonce) === undefined) {
        const restored: PooledTx = { ...original, removed: false, pending: false, heapStamp: 0 }
        sender.insert(restored)
        this.byHash.set(restored.hashHex, restored)
      }
      this.settle(sender, 0)
    }
    this.flushPendingEvents()
  }

  // ---- state ----

  /**
   * Reads a sender's account and applies it, sharing one read among concurrent callers. If a new
   * head arrives while reading, the result is discarded (the caller reads again).
   */
  private readSenderState(address: Address, key: string): Promise<void> {
    const inflight = this.stateReads.get(key)
    if (inflight !== undefined && inflight.epoch === this.epoch) return inflight.promise
    const epoch = this.epoch
    const promise: Promise<void> = this.state.getAccount(address).then(
      (account) => {
        if (this.stateReads.get(key)?.promise === promise) this.stateReads.delete(key)
        if (epoch === this.epoch) this.applyAccount(address, key, account.nonce, account.balance)
      },
      (error: unknown) => {
        if (this.stateReads.get(key)?.promise === promise) this.stateReads.delete(key)
        throw error
      },
    )
    this.stateReads.set(key, { epoch, promise })
    return promise
  }

  /** Drops what the state made invalid (nonce below it, cost above the balance), then promotes and demotes. */
  private applyAccount(address: Address, key: string, nonce: bigint, balance: bigint): void {
    let sender = this.senders.get(key)
    if (sender === undefined) {
      sender = new SenderTxs(address, key, this.now())
      this.senders.set(key, sender)
    }
    sender.epoch = this.epoch
    if (sender.nonce === nonce && sender.balance === balance) return
    sender.nonce = nonce
    sender.balance = balance
    for (const tx of sender.removeWhere((tx) => tx.nonce < nonce || tx.cost > balance)) {
      this.forget(tx)
      this.counters.invalidated++
    }
    this.settle(sender, 0)
    this.flushPendingEvents()
  }

  // ---- bookkeeping ----

  /** Recomputes a sender's pending prefix, keeps the pool totals and eviction heaps in step, queues events. */
  private settle(sender: SenderTxs, changedFrom: number): void {
    sender.settle(changedFrom, (tx, pending) => {
      if (pending && !tx.pending) {
        this.enteredPending.push(tx)
        this.touchedSinceSelection?.add(sender)
        sender.lastActivity = this.now()
      }
      tx.pending = pending
      tx.heapStamp = ++this.heapStamp
      ;(pending ? this.pendingHeap : this.queuedHeap).push({ tx, stamp: tx.heapStamp })
    })
    const queued = sender.txs.length - sender.pendingCount
    this.pendingTotal += sender.pendingCount - sender.countedPending
    this.queuedTotal += queued - sender.countedQueued
    sender.countedPending = sender.pendingCount
    sender.countedQueued = queued
  }

  private forget(tx: PooledTx): void {
    tx.removed = true
    this.byHash.delete(tx.hashHex)
  }

  /** Drops the queued transactions of senders idle for longer than the lifetime. */
  private expireQueued(): void {
    const deadline = this.now() - this.config.lifetimeMs
    for (const sender of this.senders.values()) {
      if (sender.queuedCount === 0 || sender.lastActivity >= deadline) continue
      const firstQueued = sender.txs[sender.pendingCount] as PooledTx
      for (const tx of sender.removeFrom(firstQueued.nonce)) {
        this.forget(tx)
        this.counters.expired++
      }
      this.settle(sender, sender.pendingCount)
    }
  }

  /** Re-keys eviction order at the current base fee and sheds stale heap entries. */
  private rebuildEvictionHeaps(): void {
    const pending: HeapEntry[] = []
    const queued: HeapEntry[] = []
    for (const tx of this.byHash.values()) {
      tx.priority = effectiveTip(tx.tipCap, tx.feeCap, this.baseFee)
      tx.heapStamp = ++this.heapStamp
      ;(tx.pending ? pending : queued).push({ tx, stamp: tx.heapStamp })
    }
    this.pendingHeap.reset(pending)
    this.queuedHeap.reset(queued)
  }

  private flushPendingEvents(): void {
    if (this.enteredPending.length === 0) return
    const entered = this.enteredPending
    this.enteredPending = []
    if (this.listeners.size === 0) return
    for (const pooled of entered) {
      if (pooled.removed || !pooled.pending) continue
      for (const listener of this.listeners) {
        try {
          listener(pooled.tx)
        } catch {
          // A subscriber's failure must not undo or half-apply a pool change; it is the subscriber's to report.
        }
      }
    }
  }

  private senderContent(sender: SenderTxs): SenderContent {
    const pending = new Map<bigint, TypedTransaction>()
    const queued = new Map<bigint, TypedTransaction>()
    for (let i = 0; i < sender.txs.length; i++) {
      const pooled = sender.txs[i] as PooledTx
      ;(i < sender.pendingCount ? pending : queued).set(pooled.nonce, pooled.tx)
    }
    return { pending, queued }
  }
}

/** geth's rule: a replacement must beat both the tip and the fee cap, each by at least `percent`. */
function outbids(incoming: DecodedTransaction, existing: PooledTx, percent: number): boolean {
  if (incoming.tipCap <= existing.tipCap || incoming.feeCap <= existing.feeCap) return false
  const factor = BigInt(100 + percent)
  return incoming.tipCap * 100n >= existing.tipCap * factor && incoming.feeCap * 100n >= existing.feeCap * factor
}

function evictsBefore(a: HeapEntry, b: HeapEntry): boolean {
  return a.tx.priority < b.tx.priority || (a.tx.priority === b.tx.priority && a.tx.seq > b.tx.seq)
}

const WEI_PER_ETHER = 10n ** 18n

/** Wei as ether with two decimals, as geth prints the fee cap, e.g. `1.05`. */
function etherText(wei: bigint): string {
  return (Number(wei) / Number(WEI_PER_ETHER)).toFixed(2)
}

function checkTxFee(tx: TypedTransaction, maxTxFee: bigint): void {
  const fee = feeCaps(tx).feeCap * tx.gasLimit
  if (maxTxFee > 0n && fee > maxTxFee) {
    throw new MempoolError(
      MempoolErrorCode.TxFeeCapExceeded,
      `tx fee (${etherText(fee)} ether) exceeds the configured cap (${etherText(maxTxFee)} ether)`,
    )
  }
}

function alreadyKnown(): MempoolError {
  return new MempoolError(MempoolErrorCode.AlreadyKnown, 'already known')
}

function txPoolFull(status: { pending: number; queued: number }): MempoolError {
  return new MempoolError(MempoolErrorCode.TxPoolFull, 'txpool is full', { details: status })
}

function insufficientFunds(detail: string): MempoolError {
  return new MempoolError(MempoolErrorCode.InsufficientFunds, `insufficient funds for gas * price + value: ${detail}`)
}

function hashKey(hash: Uint8Array | PrefixedHexString): string {
  return typeof hash === 'string' ? hash.toLowerCase() : bytesToHex(hash)
}

function genesisGasLimit(common: Common): bigint | undefined {
  try {
    return BigInt(common.genesis().gasLimit)
  } catch {
    return undefined
  }
}

/** EIP-7702 authorities whose nonces an included set-code transaction bumped. */
function authoritiesOf(tx: TypedTransaction): Address[] {
  if (!('authorizationList' in tx)) return []
  const authorities: Address[] = []
  for (const authorization of tx.authorizationList) {
    try {
      authorities.push(eoaCode7702RecoverAuthority(authorization))
    } catch {
      // An invalid authorization is skipped by execution too; it changed no nonce.
    }
  }
  return authorities
}
